"""Races: hero and clones hit the same usernames at the same instant; the audit proves who won.

The rooms: `plan` (the attack's size and its contenders), `events` (the live stream and the
counters folded from it), `report` (statistics, violations, the JSON document), `control`
(the unprotected control run's scratch table), `dcs` (two connections for races across data
centres) and `engine` (the attack itself). The front ends
import what they need from here.
"""

from registry_tui.race.control import CONTROL_TABLE
from registry_tui.race.dcs import AcrossDCs, across_data_centres
from registry_tui.race.engine import Attack, RaceSetupError, run_attack
from registry_tui.race.events import (
    AttackFinished,
    AttackStarted,
    AuditProgress,
    ContenderFinished,
    EventSink,
    LiveTally,
    Outcome,
    Phase,
    PhaseChanged,
    RaceEvent,
    RaceFinished,
    RaceStarted,
    SetupProgress,
)
from registry_tui.race.plan import (
    CLONES_MAX,
    CONCURRENCY_MAX,
    HERO,
    MODES,
    RACES_MAX,
    AttackPlan,
    Contender,
    ContenderKind,
    Identity,
    Mode,
    contender_label,
)
from registry_tui.race.report import (
    VIOLATION_DETAILS_IN_JSON,
    AttackReport,
    LatencySummary,
    Violation,
    percentile,
)

__all__ = [
    "CLONES_MAX",
    "CONCURRENCY_MAX",
    "CONTROL_TABLE",
    "HERO",
    "MODES",
    "RACES_MAX",
    "VIOLATION_DETAILS_IN_JSON",
    "AcrossDCs",
    "Attack",
    "AttackFinished",
    "AttackPlan",
    "AttackReport",
    "AttackStarted",
    "AuditProgress",
    "Contender",
    "ContenderFinished",
    "ContenderKind",
    "EventSink",
    "Identity",
    "LatencySummary",
    "LiveTally",
    "Mode",
    "Outcome",
    "Phase",
    "PhaseChanged",
    "RaceEvent",
    "RaceFinished",
    "RaceSetupError",
    "RaceStarted",
    "SetupProgress",
    "Violation",
    "across_data_centres",
    "contender_label",
    "percentile",
    "run_attack",
]
