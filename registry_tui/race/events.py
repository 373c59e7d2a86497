"""The stream a live view follows, and the counters both front ends fold from it.

Events, in the order a live view receives them:
  AttackStarted, [SetupProgress x R, PhaseChanged(racing)] (siege only),
  per race: RaceStarted, ContenderFinished x contenders_per_race, RaceFinished
    (the races in flight interleave; within a race this order holds),
  PhaseChanged(auditing), AuditProgress x R, AttackFinished.
They are delivered synchronously on the event loop: a sink must not block, and a UI that
repaints on a timer can simply append them to a list and drain it every ~100 ms.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from registry_tui.core.outcomes import UserRecord
from registry_tui.race.plan import AttackPlan, ContenderKind, Identity
from registry_tui.race.report import AttackReport

Outcome = Literal["won", "blocked", "unknown"]
Phase = Literal["setup", "racing", "auditing", "cleanup", "done"]


@dataclass(frozen=True)
class AttackStarted:
    run_id: str
    plan: AttackPlan
    username_prefix: str
    table: str  # the table raced on: the registry's, or the control run's scratch table


@dataclass(frozen=True)
class PhaseChanged:
    phase: Phase


@dataclass(frozen=True)
class SetupProgress:
    """Siege only: one more hero holds its name (before the clock starts)."""

    done: int
    total: int
    race: int
    username: str
    hero: Identity
    record: UserRecord  # the row as stored: the baseline the audit compares byte for byte


@dataclass(frozen=True)
class RaceStarted:
    race: int
    username: str
    contenders: int


@dataclass(frozen=True)
class ContenderFinished:
    race: int
    username: str
    contender: int  # HERO (0) or a clone number
    kind: ContenderKind
    user_id: uuid.UUID
    outcome: Outcome  # final: after resolution, "unknown" only if even that could not tell
    resolved: bool  # the outcome came from a SERIAL read after an ambiguous failure
    timed_out: bool  # the attempt met a timeout (or another ambiguous failure)
    latency_ms: float  # the registration attempt itself, from release to answer
    winner: Identity | None  # the name's holder per the database; the contender itself if won
    note: str = ""  # why an outcome was ambiguous, in one line
    dc: str = ""  # across DCs: the data centre whose coordinator ran the attempt


@dataclass(frozen=True)
class RaceFinished:
    race: int
    username: str
    told_won: tuple[int, ...]  # contenders of this race told "won" (siege: clones only)
    blocked: int
    unknown: int
    elapsed_ms: float


@dataclass(frozen=True)
class AuditProgress:
    done: int
    total: int
    violations: int  # so far


@dataclass(frozen=True)
class AttackFinished:
    report: AttackReport


RaceEvent = (
    AttackStarted
    | PhaseChanged
    | SetupProgress
    | RaceStarted
    | ContenderFinished
    | RaceFinished
    | AuditProgress
    | AttackFinished
)
EventSink = Callable[[RaceEvent], None]


@dataclass
class LiveTally:
    """The counters of a running attack, folded from its events (the CLI's and the TUI's)."""

    run_id: str = ""
    plan: AttackPlan | None = None
    phase: Phase = "setup"
    setup_done: int = 0
    races_started: int = 0
    races_finished: int = 0
    contenders_finished: int = 0
    hero_won: int = 0
    hero_blocked: int = 0
    clone_won: int = 0
    clone_blocked: int = 0
    unknown: int = 0  # final outcome still unknown after the SERIAL read
    resolved: int = 0
    timeouts: int = 0
    audit_done: int = 0
    violations: int = 0

    @property
    def races_total(self) -> int:
        return self.plan.races if self.plan else 0

    @property
    def contenders_total(self) -> int:
        return self.plan.contenders if self.plan else 0

    def apply(self, event: RaceEvent) -> None:
        if isinstance(event, ContenderFinished):
            self.contenders_finished += 1
            self.resolved += event.resolved
            self.timeouts += event.timed_out
            if event.outcome == "unknown":
                self.unknown += 1
            elif event.kind == "hero":
                self.hero_won += event.outcome == "won"
                self.hero_blocked += event.outcome == "blocked"
            else:
                self.clone_won += event.outcome == "won"
                self.clone_blocked += event.outcome == "blocked"
        elif isinstance(event, RaceStarted):
            self.races_started += 1
        elif isinstance(event, RaceFinished):
            self.races_finished += 1
        elif isinstance(event, SetupProgress):
            self.setup_done = event.done
        elif isinstance(event, AuditProgress):
            self.audit_done, self.violations = event.done, event.violations
        elif isinstance(event, PhaseChanged):
            self.phase = event.phase
        elif isinstance(event, AttackStarted):
            self.run_id, self.plan = event.run_id, event.plan
            self.phase = "setup" if event.plan.mode == "siege" else "racing"
        elif isinstance(event, AttackFinished):
            self.phase = "done"
