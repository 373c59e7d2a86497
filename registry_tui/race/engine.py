"""The race engine: contenders released at the same instant on one username, then audited.

A race is one username, one hero and K Doppel-9 clones, each with its own pre-generated
user_id and e-mail. All contenders of a race park on one `asyncio.Event` and are released
together. A protected contender registers through `Registry.register`, the same path as the CLI
and the TUI: there is no race-only shortcut. An attack is R races with at most C in flight.

- land-grab: fresh usernames; exactly one contender (hero or clone) may win each.
- siege: the heroes register their names first (setup, not timed); then only clones race, and
  every one of them must be blocked while the heroes' rows stay byte-for-byte unchanged.

Each contender ends won, blocked (with the winner's row as the database returned it) or unknown;
an unknown is then resolved by a SERIAL read against the user_id it carried.

At the end an audit that trusts no contender's belief reads every raced name at SERIAL and
checks that the stored owner is the one contender, and the only one, that was told it won.

The control run (`AttackPlan.protected=False`) replays the same races with plain INSERTs on a
scratch table that is never one of the registry's: every writer is acknowledged, the last write
wins, and the audit counts the acknowledged identities that silently vanished.

Live views subscribe to a stream of small frozen events (`Attack.run(on_event=...)` or
`Attack.events()`); `LiveTally` folds that stream into the counters both front ends show.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import time
import uuid
from array import array
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from cassandra import DriverException
from cassandra.connection import ConnectionBusy, ConnectionException
from cassandra.protocol import ErrorMessage
from coodie.aio import Document
from coodie.fields import PrimaryKey

from registry_tui.core.errors import DatabaseUnavailable, is_unavailable_error, one_line
from registry_tui.core.models import utc_now
from registry_tui.core.outcomes import (
    EmailTaken,
    Invalid,
    Registered,
    Unknown,
    UsernameTaken,
    UserRecord,
)
from registry_tui.core.registry import Registry, user_record
from registry_tui.core.store import Connection, read_gate
from registry_tui.core.validation import ValidationError

RACES_MAX = 100_000
CLONES_MAX = 64
CONCURRENCY_MAX = 1000
MODES = ("land-grab", "siege")

CONTROL_TABLE = "race_control_registrations"
# Control rows prove a point and then have no use: they expire by themselves.
CONTROL_ROW_TTL_S = 24 * 3600
# A write that timed out on the client may still be running on the server; Cassandra and
# ScyllaDB give up on it within write_request_timeout / cas_contention_timeout (2 s and 1 s by
# default). A SERIAL read that finds the name free is only trusted once that much has passed.
RESOLVE_PATIENCE_S = 3.0
VIOLATION_DETAILS_IN_JSON = 50

HERO = 0  # contender index of the hero; clones are 1..K
HERO_DIMENSION = "Dimension-6"
CLONE_DIMENSION = "Dimension-9"
_HERO_RANKS = ("Agent", "Commander", "Captain", "Operator", "Sentinel", "Guardian", "Marshal")
_HERO_NAMES = ("Cipher", "Flux", "Nexus", "Vortex", "Pulse", "Rift", "Vector", "Quasar", "Nova")

_T = TypeVar("_T")
Mode = Literal["land-grab", "siege"]
ContenderKind = Literal["hero", "clone"]
Outcome = Literal["won", "blocked", "unknown"]
Phase = Literal["setup", "racing", "auditing", "done"]


class RaceSetupError(Exception):
    """A siege hero could not take its (fresh) name, so the siege cannot start."""


def _check_range(option: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(option, f"must be a whole number from {low} to {high}")


@dataclass(frozen=True)
class AttackPlan:
    races: int = 100  # R: usernames raced (the CLI's --usernames)
    clones: int = 7  # K: Doppel-9 clones per race (with the hero: 8 contenders)
    concurrency: int = 16  # C: races in flight at once
    mode: Mode = "land-grab"
    protected: bool = True  # False: the control run, plain INSERTs on a scratch table

    def __post_init__(self) -> None:
        # Field names match the CLI options, so a message can name the flag to fix.
        _check_range("usernames", self.races, 1, RACES_MAX)
        _check_range("clones", self.clones, 1, CLONES_MAX)
        _check_range("concurrency", self.concurrency, 1, CONCURRENCY_MAX)
        if self.mode not in MODES:
            raise ValidationError("mode", f"must be one of {', '.join(MODES)}")

    @property
    def contenders_per_race(self) -> int:
        # In a siege the hero already holds the name: only the clones race for it.
        return self.clones + (1 if self.mode == "land-grab" else 0)

    @property
    def contenders(self) -> int:
        return self.races * self.contenders_per_race


@dataclass(frozen=True)
class Contender:
    """One registration attempt of a race, fully decided before the race starts."""

    race: int
    index: int  # HERO (0) or a clone number 1..K
    username: str
    user_id: uuid.UUID
    email: str
    display_name: str
    dimension: str

    @property
    def kind(self) -> ContenderKind:
        return "hero" if self.index == HERO else "clone"

    @property
    def label(self) -> str:
        return contender_label(self.index)


def contender_label(index: int) -> str:
    return "hero" if index == HERO else f"clone {index}"


@dataclass(frozen=True)
class Identity:
    """Who holds a name, as the database answered. Show it only through `safe_text`."""

    user_id: uuid.UUID
    email: str
    display_name: str
    kind: ContenderKind | None  # None: nobody of this race
    contender: int | None


# ------------------------------------------------------------------------------------------
# Events, in the order a live view receives them:
#   AttackStarted, [SetupProgress x R, PhaseChanged(racing)] (siege only),
#   per race: RaceStarted, ContenderFinished x contenders_per_race, RaceFinished
#     (the races in flight interleave; within a race this order holds),
#   PhaseChanged(auditing), AuditProgress x R, AttackFinished.
# They are delivered synchronously on the event loop: a sink must not block, and a UI that
# repaints on a timer can simply append them to a list and drain it every ~100 ms.


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


# ------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class LatencySummary:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    samples: int

    @classmethod
    def of(cls, samples: array[float] | list[float]) -> LatencySummary:
        ordered = sorted(samples)
        if not ordered:
            return cls(0.0, 0.0, 0.0, 0.0, 0)
        return cls(
            percentile(ordered, 50),
            percentile(ordered, 95),
            percentile(ordered, 99),
            ordered[-1],
            len(ordered),
        )


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list: a value that was actually measured."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Violation:
    """One raced name whose stored owner disagrees with what the contenders were told."""

    username: str
    problems: tuple[str, ...]
    told_won: tuple[str, ...]  # labels ("hero", "clone 3") of the contenders told "won"
    stored_owner: str | None  # label of the holder, "outside the race", or None (no row)
    stored_user_id: uuid.UUID | None

    def describe(self) -> str:
        return f"{self.username}: {'; '.join(self.problems)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "problems": list(self.problems),
            "told_won": list(self.told_won),
            "stored_owner": self.stored_owner,
            "stored_user_id": str(self.stored_user_id) if self.stored_user_id else None,
        }


@dataclass(frozen=True)
class AttackReport:
    run_id: str
    plan: AttackPlan
    username_prefix: str
    table: str
    contenders: int  # registration attempts raced (siege: clones only)
    winners: int  # contenders told "won" (siege: the heroes, told at setup, count here)
    hero_wins: int
    clone_wins: int
    heroes_blocked: int  # land-grab heroes that lost to a clone
    clones_blocked: int
    clones_slipped: int  # siege: clones told "won" on a name a hero held
    unknown_resolved: int  # ambiguous attempts whose outcome a SERIAL read decided
    unresolved: int  # attempts whose outcome stayed unknown
    timeouts: int  # attempts that met a timeout or another ambiguous failure
    overwritten: int  # identities told "won" that did not survive intact
    heroes_changed: int  # siege: hero rows not byte-for-byte what setup stored
    violations: tuple[Violation, ...]
    race_s: float  # the timed racing phase
    audit_s: float
    latency: LatencySummary

    @property
    def mode(self) -> Mode:
        return self.plan.mode

    @property
    def protected(self) -> bool:
        return self.plan.protected

    @property
    def races(self) -> int:
        return self.plan.races

    @property
    def attempts_per_s(self) -> float:
        return self.contenders / self.race_s if self.race_s > 0 else 0.0

    @property
    def clean(self) -> bool:
        return not self.violations

    def to_json(self, max_details: int = VIOLATION_DETAILS_IN_JSON) -> dict[str, Any]:
        details = [v.to_json() for v in self.violations[:max_details]]
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "protected": self.protected,
            "table": self.table,
            "username_prefix": self.username_prefix,
            "races": self.races,
            "clones_per_race": self.plan.clones,
            "concurrency": self.plan.concurrency,
            "contenders": self.contenders,
            "winners": self.winners,
            "hero_wins": self.hero_wins,
            "clone_wins": self.clone_wins,
            "heroes_blocked": self.heroes_blocked,
            "clones_blocked": self.clones_blocked,
            "clones_slipped": self.clones_slipped,
            "unknown_resolved": self.unknown_resolved,
            "unresolved": self.unresolved,
            "timeouts": self.timeouts,
            "overwritten": self.overwritten,
            "heroes_changed": self.heroes_changed,
            "violations": len(self.violations),
            "violation_details": details,
            "violation_details_omitted": len(self.violations) - len(details),
            "attempts_per_s": round(self.attempts_per_s, 1),
            "latency_ms": {
                "p50": round(self.latency.p50_ms, 2),
                "p95": round(self.latency.p95_ms, 2),
                "p99": round(self.latency.p99_ms, 2),
                "max": round(self.latency.max_ms, 2),
            },
            "race_s": round(self.race_s, 3),
            "audit_s": round(self.audit_s, 3),
        }


# ------------------------------------------------------------------------------------------
# The control run's scratch table


def build_control_model(connection: Connection) -> type[Document]:
    """The scratch table of the control run: the registration's columns, none of its rules.

    Built per connection like `models.build_models`, so its writes use this connection's
    driver. Its name is checked against every registry table: a plain write can never land on
    registry data.
    """

    class RaceControlRegistration(Document):
        username: Annotated[str, PrimaryKey()]
        email: str
        display_name: str
        dimension: str
        registered_at: datetime
        user_id: uuid.UUID

        class Settings:
            name = CONTROL_TABLE

    models = connection.models
    registry_tables = {m.table_name() for m in (models.registration, models.profile)}
    registry_tables.add(models.email_claim.table_name())
    if CONTROL_TABLE in registry_tables:  # pragma: no cover - a guard against a rename
        raise RuntimeError(f"the control table {CONTROL_TABLE} must not be a registry table")
    RaceControlRegistration.Settings.keyspace = models.keyspace  # type: ignore[attr-defined]
    RaceControlRegistration.Settings.connection = models.connection  # type: ignore[attr-defined]
    return RaceControlRegistration


# ------------------------------------------------------------------------------------------
# The engine


@dataclass
class _Attempt:
    contender: Contender
    outcome: Outcome
    winner: UserRecord | None = None
    resolved: bool = False
    timed_out: bool = False
    needs_resolution: bool = False  # ambiguous: a SERIAL read decides once the race is over
    note: str = ""
    latency_ms: float = 0.0


@dataclass
class _RaceRecord:
    """What the audit needs of a race; contenders themselves are re-derived from the run id."""

    told_won: tuple[int, ...]
    unknown: tuple[int, ...] = ()


@dataclass
class _AuditFindings:
    violations: list[Violation] = field(default_factory=list)
    overwritten: int = 0
    heroes_changed: int = 0


def _is_database_error(exc: BaseException) -> bool:
    """A failure of the database conversation (not of our code): the outcome is ambiguous."""
    return isinstance(
        exc,
        DatabaseUnavailable
        | DriverException
        | ErrorMessage
        | ConnectionException
        | ConnectionBusy
        | ConnectionError
        | OSError,
    )


class Attack:
    """One attack: `await Attack(connection, plan).run(on_event=...)` returns the report.

    `registry` is what the contenders register through (tests pass one with a tiny write
    timeout to force ambiguous outcomes). Resolution reads, the siege setup and the audit use
    a Registry of their own with the connection's settings, so they share none of it.
    """

    def __init__(
        self,
        connection: Connection,
        plan: AttackPlan,
        *,
        registry: Registry | None = None,
    ) -> None:
        self.connection = connection
        self.plan = plan
        self._contenders_registry = registry or Registry(connection)
        self._auditor = Registry(connection)
        self._timeout = connection.settings.request_timeout
        # One random namespace per attack: user_ids are derived from it, so they are unique
        # across attacks yet need no memory for a 100 000-race attack.
        self._namespace = uuid.uuid4()
        self.run_id = self._namespace.hex[:8]
        self.username_prefix = f"{'race' if plan.mode == 'land-grab' else 'siege'}-{self.run_id}-"
        self._control: type[Document] | None = None
        self.tally = LiveTally()
        self._on_event: EventSink | None = None
        self._latencies: array[float] = array("d")
        self._records: list[_RaceRecord | None] = [None] * plan.races
        self._baseline: dict[int, UserRecord] = {}
        # user_id -> contender index of each race in flight, to name winners without hashing.
        self._race_ids: dict[int, dict[uuid.UUID, int]] = {}
        self._findings = _AuditFindings()
        self._audited = 0
        self._started = False

    # ----------------------------------------------------------------------------------------
    # Who races

    def username(self, race: int) -> str:
        return f"{self.username_prefix}{race:05d}"

    def contender(self, race: int, index: int) -> Contender:
        name = self.username(race)
        if index == HERO:
            rank = _HERO_RANKS[race % len(_HERO_RANKS)]
            callsign = _HERO_NAMES[(race // len(_HERO_RANKS)) % len(_HERO_NAMES)]
            email = f"{name}@coodie-corps.dimension-6.galaxy"
            display, dimension = f"{rank} {callsign}", HERO_DIMENSION
        else:
            email = f"doppel9-{index}.{name}@clones.dimension-9.galaxy"
            display, dimension = f"Doppel-9 clone {index}", CLONE_DIMENSION
        return Contender(
            race=race,
            index=index,
            username=name,
            user_id=uuid.uuid5(self._namespace, f"{race}/{index}"),
            email=email,
            display_name=display,
            dimension=dimension,
        )

    def _racers(self) -> range:
        first = HERO + 1 if self.plan.mode == "siege" else HERO
        return range(first, self.plan.clones + 1)

    @property
    def table(self) -> str:
        if self.plan.protected:
            return self.connection.models.registration.table_name()
        return CONTROL_TABLE

    # ----------------------------------------------------------------------------------------
    # Running

    async def run(self, on_event: EventSink | None = None) -> AttackReport:
        """Set up, race, audit; every step is announced through `on_event` as it happens."""
        if self._started:
            raise RuntimeError("an Attack runs once; make a new one")
        self._started = True
        self._on_event = on_event
        if not self.plan.protected:
            self._control = build_control_model(self.connection)
            try:
                await self._control.sync_table()
            except Exception as exc:
                if not _is_database_error(exc):
                    raise
                raise self._unavailable(exc) from None
        self._emit(AttackStarted(self.run_id, self.plan, self.username_prefix, self.table))
        if self.plan.mode == "siege":
            await self._for_each(self.plan.races, self._set_up_hero)
            self._emit(PhaseChanged("racing"))

        started = time.perf_counter()
        await self._for_each(self.plan.races, self._run_race)
        race_s = time.perf_counter() - started

        self._emit(PhaseChanged("auditing"))
        started = time.perf_counter()
        await self._for_each(self.plan.races, self._audit_one)
        audit_s = time.perf_counter() - started

        report = self._report(race_s, audit_s)
        self._emit(AttackFinished(report))
        return report

    async def events(self) -> AsyncIterator[RaceEvent]:
        """The attack as an async stream of events, ending with AttackFinished.

        A failure of the attack (e.g. DatabaseUnavailable) is raised from the iterator after
        the events before it. Leaving the loop early cancels the attack: close the iterator
        (`contextlib.aclosing`) so that happens at once.
        """
        queue: asyncio.Queue[RaceEvent | None] = asyncio.Queue()
        task = asyncio.ensure_future(self.run(on_event=queue.put_nowait))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _unavailable(self, exc: BaseException) -> DatabaseUnavailable:
        if isinstance(exc, DatabaseUnavailable):
            return exc
        return DatabaseUnavailable(one_line(exc), self.connection.settings.describe())

    def _emit(self, event: RaceEvent) -> None:
        self.tally.apply(event)
        if self._on_event is not None:
            self._on_event(event)

    async def _for_each(self, count: int, work: Callable[[int], Awaitable[None]]) -> None:
        """work(0..count-1), at most `concurrency` at a time, stopping everything on a failure."""
        indices = iter(range(count))

        async def worker() -> None:
            for index in indices:  # one iterator shared by every worker: each index once
                await work(index)

        width = min(self.plan.concurrency, count)
        await _all_or_cancel([asyncio.ensure_future(worker()) for _ in range(width)])

    # ----------------------------------------------------------------------------------------
    # Siege setup

    async def _set_up_hero(self, race: int) -> None:
        hero = self.contender(race, HERO)
        if self._control is not None:
            try:
                await self._control_write(hero)
            except Exception as exc:
                if not _is_database_error(exc):
                    raise
                raise self._unavailable(exc) from None
        else:
            outcome = await self._auditor.register(
                hero.username, hero.email, hero.display_name, hero.dimension, user_id=hero.user_id
            )
            if not isinstance(outcome, Registered):
                if not isinstance(outcome, Unknown):
                    raise RaceSetupError(
                        f"hero {hero.username} could not register: {type(outcome).__name__}"
                    )
                verdict, _ = await self._resolve(hero)
                if verdict != "won":
                    raise RaceSetupError(f"hero {hero.username}: {outcome.reason}")
        stored = await self._read_stored(hero.username)
        if stored is None or stored.user_id != hero.user_id:
            raise RaceSetupError(f"hero {hero.username} does not hold its name after setup")
        # The byte-for-byte baseline is what the database holds, not what we meant to write.
        self._baseline[race] = stored
        self._records[race] = _RaceRecord(told_won=(HERO,))
        self._emit(
            SetupProgress(
                len(self._baseline),
                self.plan.races,
                race,
                hero.username,
                self._identity(race, stored),
                stored,
            )
        )

    # ----------------------------------------------------------------------------------------
    # One race

    async def _run_race(self, race: int) -> None:
        racers = [self.contender(race, index) for index in self._racers()]
        # Event.set() wakes waiters in the order they parked, and the first awake sends its
        # request first: shuffle, or the hero would always hold the inside lane.
        random.shuffle(racers)
        gate = asyncio.Event()
        all_parked = asyncio.Event()
        parked = 0

        def park() -> None:
            nonlocal parked
            parked += 1
            if parked == len(racers):
                all_parked.set()

        ids = {c.user_id: c.index for c in racers}
        ids.setdefault(self.contender(race, HERO).user_id, HERO)  # the siege holder
        self._race_ids[race] = ids
        tasks = [asyncio.ensure_future(self._contend(c, gate, park)) for c in racers]
        try:
            # Every contender is built and waiting before any is let go: one Event.set()
            # wakes them all in the same loop iteration, so their requests leave together.
            await all_parked.wait()
            username = self.username(race)
            self._emit(RaceStarted(race, username, len(racers)))
            started = time.perf_counter()
            gate.set()
            attempts: list[_Attempt] = list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._race_ids.pop(race, None)
            raise

        # Ambiguous attempts are resolved once the whole race is over, when every sibling has
        # its answer; the SERIAL read also completes any Paxos round still open on the name.
        pending = [a for a in attempts if a.needs_resolution]
        verdicts = await _all_or_cancel(
            [asyncio.ensure_future(self._resolve(a.contender)) for a in pending]
        )
        for attempt, (outcome, holder) in zip(pending, verdicts, strict=True):
            attempt.outcome, attempt.winner = outcome, holder
            attempt.resolved = outcome != "unknown"
            self._emit(self._finished(attempt))

        told_won = tuple(a.contender.index for a in attempts if a.outcome == "won")
        unknown = tuple(a.contender.index for a in attempts if a.outcome == "unknown")
        previous = self._records[race]
        held = previous.told_won if previous is not None else ()  # the siege hero
        self._records[race] = _RaceRecord(told_won=held + told_won, unknown=unknown)
        blocked = sum(a.outcome == "blocked" for a in attempts)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._emit(RaceFinished(race, username, told_won, blocked, len(unknown), elapsed_ms))
        del self._race_ids[race]

    async def _contend(
        self, contender: Contender, gate: asyncio.Event, park: Callable[[], None]
    ) -> _Attempt:
        park()
        await gate.wait()
        started = time.perf_counter()
        if self._control is not None:
            attempt = await self._overwrite(contender)
        else:
            attempt = await self._register(contender)
        attempt.latency_ms = (time.perf_counter() - started) * 1000
        self._latencies.append(attempt.latency_ms)
        if not attempt.needs_resolution:
            self._emit(self._finished(attempt))
        return attempt

    async def _register(self, c: Contender) -> _Attempt:
        try:
            outcome = await self._contenders_registry.register(
                c.username, c.email, c.display_name, c.dimension, user_id=c.user_id
            )
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            return _Attempt(c, "unknown", timed_out=True, needs_resolution=True, note=one_line(exc))
        if isinstance(outcome, Registered):
            late = outcome.resolved_after_timeout
            # Won, with a step after the commit point undecided (e.g. the claim's
            # confirmation timed out): once the race is over, _resolve finishes it.
            unfinished = bool(outcome.incomplete)
            return _Attempt(
                c,
                "won",
                outcome.user,
                resolved=late,
                timed_out=late or unfinished,
                needs_resolution=unfinished,
            )
        if isinstance(outcome, UsernameTaken):
            late = outcome.resolved_after_timeout
            return _Attempt(c, "blocked", outcome.existing, resolved=late, timed_out=late)
        if isinstance(outcome, Unknown):
            return _Attempt(
                c, "unknown", timed_out=True, needs_resolution=True, note=outcome.reason
            )
        if isinstance(outcome, EmailTaken):
            # Cannot happen with this attack's unique addresses; if it does, the contender
            # never wrote the name and the SERIAL read will say who holds it.
            note = f"e-mail refused: held by {outcome.owner.username}"
            return _Attempt(c, "unknown", needs_resolution=True, note=note)
        assert isinstance(outcome, Invalid)
        raise ValueError(f"the race built an invalid registration: {outcome.message}")

    async def _overwrite(self, c: Contender) -> _Attempt:
        """The control run's attempt: a plain INSERT, acknowledged whatever was there."""
        try:
            await self._control_write(c)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            # A plain write carries no condition to check afterwards: it stays unknown.
            return _Attempt(c, "unknown", timed_out=True, note=one_line(exc))
        own = UserRecord(c.username, c.email, c.display_name, c.dimension, utc_now(), c.user_id)
        return _Attempt(c, "won", own)

    async def _control_write(self, c: Contender) -> None:
        assert self._control is not None
        row = self._control.model_validate(
            {
                "username": c.username,
                "email": c.email,
                "display_name": c.display_name,
                "dimension": c.dimension,
                "registered_at": utc_now(),
                "user_id": c.user_id,
            }
        )
        # The one plain write of the project, on the scratch table only (see CONTROL_TABLE).
        await row.save(ttl=CONTROL_ROW_TTL_S, timeout=self._timeout)

    async def _resolve(self, c: Contender) -> tuple[Outcome, UserRecord | None]:
        """Decide an ambiguous attempt by its token: the user_id a SERIAL read finds there."""
        deadline = time.monotonic() + RESOLVE_PATIENCE_S
        pause = 0.1
        while True:
            try:
                current = await self._auditor.get_user_serial(c.username)
            except DatabaseUnavailable:
                # A short outage (a paused replica) must not end the whole attack: keep
                # asking until the deadline, then leave this one attempt unknown.
                if time.monotonic() >= deadline:
                    return "unknown", None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            if current is not None and current.user_id == c.user_id:
                # Ours after all: give it the profile and the permanent e-mail claim that the
                # interrupted registration never wrote.
                done = await self._contenders_registry.complete_registration(current)
                return ("won" if isinstance(done, Registered) else "unknown"), current
            if current is not None:
                return "blocked", current
            if time.monotonic() >= deadline:
                return "unknown", None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _finished(self, a: _Attempt) -> ContenderFinished:
        c = a.contender
        winner = self._identity(c.race, a.winner) if a.winner is not None else None
        return ContenderFinished(
            c.race,
            c.username,
            c.index,
            c.kind,
            c.user_id,
            a.outcome,
            a.resolved,
            a.timed_out,
            a.latency_ms,
            winner,
            a.note,
        )

    def _identity(self, race: int, record: UserRecord) -> Identity:
        ids = self._race_ids.get(race)
        if ids is not None:
            index = ids.get(record.user_id)
        else:
            index = self._owner_index(race, record.user_id, (HERO,))
        kind: ContenderKind | None = None
        if index is not None:
            kind = "hero" if index == HERO else "clone"
        return Identity(record.user_id, record.email, record.display_name, kind, index)

    def _owner_index(self, race: int, user_id: uuid.UUID, likely: tuple[int, ...]) -> int | None:
        """Which contender of `race` carried `user_id` (checks the likely ones first)."""
        for index in itertools.chain(likely, range(HERO, self.plan.clones + 1)):
            if self.contender(race, index).user_id == user_id:
                return index
        return None

    # ----------------------------------------------------------------------------------------
    # The audit

    async def _read_stored(self, username: str) -> UserRecord | None:
        if self._control is None:
            return await self._auditor.get_user_serial(username)
        query = self._control.find(username=username).timeout(self._timeout)
        try:
            async with read_gate().point_read():
                row = await query.first()
        except Exception as exc:
            if is_unavailable_error(exc):
                raise self._unavailable(exc) from None
            raise
        return user_record(row) if row is not None else None

    async def _audit_one(self, race: int) -> None:
        username = self.username(race)
        stored = await self._read_stored(username)
        record = self._records[race] or _RaceRecord(told_won=())
        told = record.told_won
        problems: list[str] = []
        owner = self._owner_index(race, stored.user_id, told) if stored else None

        if len(told) > 1:
            problems.append(f"{len(told)} contenders were told they won")
        torn = False
        if stored is None:
            problems.append(
                "a contender was told it won, but the name is free"
                if told
                else "nobody won and the name is free"
            )
        elif owner is None:
            problems.append(f"held by someone outside the race (user_id {stored.user_id})")
        else:
            if owner not in told:
                belief = "did not learn its fate" if owner in record.unknown else "lost"
                problems.append(f"held by {contender_label(owner)}, who was told it {belief}")
            expected = self.contender(race, owner)
            if (stored.email, stored.display_name) != (expected.email, expected.display_name):
                torn = True
                problems.append(f"torn row: {contender_label(owner)}'s user_id, not its data")
        survived = stored is not None and owner in told and not torn
        self._findings.overwritten += len(told) - (1 if survived else 0)

        baseline = self._baseline.get(race)
        if baseline is not None and stored != baseline:
            self._findings.heroes_changed += 1
            problems.append("the hero's row is not what setup stored")

        if problems:
            self._findings.violations.append(
                Violation(
                    username=username,
                    problems=tuple(problems),
                    told_won=tuple(contender_label(i) for i in told),
                    stored_owner=(
                        None
                        if stored is None
                        else contender_label(owner)
                        if owner is not None
                        else "outside the race"
                    ),
                    stored_user_id=stored.user_id if stored else None,
                )
            )
        self._audited += 1
        self._emit(AuditProgress(self._audited, self.plan.races, len(self._findings.violations)))

    def _report(self, race_s: float, audit_s: float) -> AttackReport:
        t = self.tally
        siege = self.plan.mode == "siege"
        heroes_told_won = len(self._baseline) if siege else t.hero_won
        return AttackReport(
            run_id=self.run_id,
            plan=self.plan,
            username_prefix=self.username_prefix,
            table=self.table,
            contenders=t.contenders_finished,
            winners=heroes_told_won + t.clone_won,
            hero_wins=heroes_told_won,
            clone_wins=t.clone_won,
            heroes_blocked=t.hero_blocked,
            clones_blocked=t.clone_blocked,
            clones_slipped=t.clone_won if siege else 0,
            unknown_resolved=t.resolved,
            unresolved=t.unknown,
            timeouts=t.timeouts,
            overwritten=self._findings.overwritten,
            heroes_changed=self._findings.heroes_changed,
            violations=tuple(sorted(self._findings.violations, key=lambda v: v.username)),
            race_s=race_s,
            audit_s=audit_s,
            latency=LatencySummary.of(self._latencies),
        )


async def _all_or_cancel(tasks: list[asyncio.Future[_T]]) -> list[_T]:
    """Wait for every task; on the first failure cancel the rest and raise it."""
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def run_attack(
    connection: Connection,
    plan: AttackPlan,
    *,
    on_event: EventSink | None = None,
    registry: Registry | None = None,
) -> AttackReport:
    return await Attack(connection, plan, registry=registry).run(on_event=on_event)
