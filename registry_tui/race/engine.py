"""The race engine: contenders released at the same instant on one username, then audited.

All contenders of a race park on one `asyncio.Event` and are released together. A protected
contender registers through `Registry.register`, the same path as the CLI and the TUI: there is
no race-only shortcut (who races is decided in `plan`).

- land-grab: fresh usernames; exactly one contender (hero or clone) may win each.
- siege: the heroes register their names first (setup, not timed); then only clones race, and
  every one of them must be blocked while the heroes' rows stay byte-for-byte unchanged.

Each contender ends won, blocked (with the winner's row as the database returned it) or unknown;
an unknown is then resolved by a SERIAL read against the user_id it carried.

At the end an audit that trusts no contender's belief reads every raced name at SERIAL and
checks that the stored owner is the one contender, and the only one, that was told it won.
The control run (`AttackPlan.protected=False`) races plain INSERTs on the scratch table of
`control` instead.

Live views subscribe to a stream of small frozen events (`Attack.run(on_event=...)` or
`Attack.events()`, see `events`); `LiveTally` folds that stream into the counters both front
ends show.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from array import array
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from registry_tui.core.errors import DatabaseUnavailable, ErrorKind, classify, one_line
from registry_tui.core.models import utc_now
from registry_tui.core.outcomes import (
    EmailTaken,
    Invalid,
    Registered,
    Unknown,
    UsernameTaken,
    UserRecord,
)
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from registry_tui.core.trace import TracedStatement, tracing
from registry_tui.core.validation import ValidationError, normalize_username
from registry_tui.proof import Budget, CheckReport, HistoryRecorder, check_history
from registry_tui.race.cleanup import merged, release_in_doubt, remove_registrations
from registry_tui.race.control import CONTROL_TABLE, ControlTable
from registry_tui.race.events import (
    AttackFinished,
    AttackStarted,
    AuditProgress,
    ContenderFinished,
    EventSink,
    LiveTally,
    Outcome,
    PhaseChanged,
    RaceEvent,
    RaceFinished,
    RaceStarted,
    SetupProgress,
)
from registry_tui.race.paxos import PaxosSummary, Sampler, TracedAttempt, read_attempts
from registry_tui.race.plan import (
    HERO,
    AttackPlan,
    Contender,
    ContenderKind,
    Identity,
    Roster,
    contender_label,
)
from registry_tui.race.report import AttackReport, Cleanup, LatencySummary, Violation

# A write that timed out on the client may still be running on the server; Cassandra and
# ScyllaDB give up on it within write_request_timeout / cas_contention_timeout (2 s and 1 s by
# default). A SERIAL read that finds the name free is only trusted once that much has passed.
RESOLVE_PATIENCE_S = 3.0
# Per name: a land-grab name sees a handful of operations, so this is ample; a key that needs
# more is reported undecided, never linearizable.
HISTORY_BUDGET = Budget(steps=1_000_000, analysis_steps=200_000)

_T = TypeVar("_T")


class RaceSetupError(Exception):
    """A siege hero could not take its (fresh) name, so the siege cannot start."""


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
    sent: bool = True  # False: the name's write was never sent (the e-mail was refused first)
    # The call ended without a definite answer (or with its claim not given back): its name
    # or e-mail claim may be left, for the clean-up to release by its identity.
    in_doubt: bool = False


@dataclass
class _RaceRecord:
    """What the audit needs of a race; contenders themselves are re-derived from the run id."""

    told_won: tuple[int, ...]
    unknown: tuple[int, ...] = ()
    in_doubt: tuple[int, ...] = ()
    blocked: int = 0  # contenders told the name was taken


@dataclass
class _AuditFindings:
    violations: list[Violation] = field(default_factory=list)
    overwritten: int = 0
    heroes_changed: int = 0
    incomplete: int = 0  # winners whose profile the database would not take in time
    unknown_held: int = 0  # names held at the audit by an attempt that stayed unknown


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
        across: tuple[tuple[str, Registry], tuple[str, Registry]] | None = None,
        trace_sample: int = 0,
        trace_races: int | None = None,
    ) -> None:
        """`across`: two (data centre, registry) pairs, each registry on a connection local to
        its DC; contenders alternate between them (the hero and even clones on the first).
        `trace_sample`: trace every attempt of one race in N (0: none), at most `trace_races`
        races; see `race.paxos`."""
        self.connection = connection
        self.plan = plan
        self._contenders_registry = registry or Registry(connection)
        self._across = across
        self._auditor = Registry(connection)
        self.roster = Roster(plan)
        self.run_id = self.roster.run_id
        self.username_prefix = self.roster.username_prefix
        self._control: ControlTable | None = None
        self.tally = LiveTally()
        self._on_event: EventSink | None = None
        self._latencies: array[float] = array("d")
        self._records: list[_RaceRecord | None] = [None] * plan.races
        self._baseline: dict[int, UserRecord] = {}
        # user_id -> contender index of each race in flight, to name winners without hashing.
        self._race_ids: dict[int, dict[uuid.UUID, int]] = {}
        self._findings = _AuditFindings()
        self._held: dict[int, UserRecord] = {}  # race -> the contender holding it after the audit
        self._in_doubt_until = 0.0  # monotonic: no request of an in-doubt attempt runs after it
        self._audited = 0
        self._audit_total = plan.races
        self._started = False
        # stop(): no new race starts; those in flight finish. Then the audit (unless skipped)
        # and the clean-up run on what did race, as after a whole attack.
        self.stop_requested = False
        self.audit_skipped = False
        # Every operation on a raced name, for the linearizability check after the audit.
        self.recorder = HistoryRecorder()
        self.history: CheckReport | None = None
        self._sampler = Sampler(trace_sample, trace_races)
        self._sent: list[tuple[int, str, int, _Attempt, list[TracedStatement]]] = []
        self.traced: list[TracedAttempt] = []  # read once the races are over
        self.paxos: PaxosSummary | None = None

    # ----------------------------------------------------------------------------------------
    # Who races

    def username(self, race: int) -> str:
        return self.roster.username(race)

    def contender(self, race: int, index: int) -> Contender:
        return self.roster.contender(race, index)

    @property
    def table(self) -> str:
        if self.plan.protected:
            return self.connection.models.registration.table_name()
        return CONTROL_TABLE

    # ----------------------------------------------------------------------------------------
    # Running

    def stop(self, *, skip_audit: bool = False) -> None:
        """End the attack early and still leave the registry as it was found: no new race
        (or siege setup) starts, races in flight finish and are resolved, then the audit
        (unless `skip_audit`) and, unless the plan keeps them, the clean-up by identity."""
        self.stop_requested = True
        if skip_audit:
            self.audit_skipped = True

    def raced(self) -> list[int]:
        """The races that ran (or, in a siege, whose hero took its name)."""
        return [race for race, record in enumerate(self._records) if record is not None]

    async def run(self, on_event: EventSink | None = None) -> AttackReport:
        """Set up, race, audit; every step is announced through `on_event` as it happens."""
        if self._started:
            raise RuntimeError("an Attack runs once; make a new one")
        self._started = True
        self._on_event = on_event
        if not self.plan.protected:
            self._control = ControlTable(self.connection, self._auditor)
            await self._control.create()
        self._emit(AttackStarted(self.run_id, self.plan, self.username_prefix, self.table))
        if self.plan.mode == "siege":
            await self._for_each(self.plan.races, self._set_up_hero, stoppable=True)
            self._emit(PhaseChanged("racing"))

        started = time.perf_counter()
        if self.plan.mode == "siege":
            heroes = self.raced()  # a stopped setup races only the names its heroes took
            await self._for_each(len(heroes), lambda i: self._run_race(heroes[i]), stoppable=True)
        else:
            await self._for_each(self.plan.races, self._run_race, stoppable=True)
        race_s = time.perf_counter() - started
        # The traces are read while the audit runs (the server needs a moment to write them);
        # if the audit fails, its failure is the one reported, never the reading's.
        reading = None
        if self._sent:
            reading = asyncio.ensure_future(read_attempts(self.connection.session, self._sent))
            reading.add_done_callback(lambda t: t.cancelled() or t.exception())

        raced = self.raced()
        started = time.perf_counter()
        if not self.audit_skipped:
            self._emit(PhaseChanged("auditing"))
            self._audit_total = len(raced)
            await self._for_each(len(raced), lambda i: self._audit_one(raced[i]))
            # The whole history, not only the final state: per name, one order of every
            # operation that explains every answer (a thread: a big run takes a second or two).
            self.history = await asyncio.to_thread(
                check_history, self.recorder.history(), budget=HISTORY_BUDGET
            )
        elif self.plan.protected and not self.plan.keep:
            # No audit: who holds each raced name is still read, so only the race's own
            # registrations are removed.
            self._emit(PhaseChanged("cleanup"))
            await self._for_each(len(raced), lambda i: self._find_holder(raced[i]))
        audit_s = time.perf_counter() - started

        cleanup = Cleanup(kept=True)
        if self.plan.protected and not self.plan.keep:
            self._emit(PhaseChanged("cleanup"))
            cleanup = await remove_registrations(self._auditor, self._held, self.username)
            # Then what attempts in doubt may have left (a holder among them is gone already).
            in_doubt = [
                self.contender(race, index)
                for race in raced
                for index in (self._records[race] or _RaceRecord(())).in_doubt
            ]
            if in_doubt:
                done = await release_in_doubt(self._auditor, in_doubt, self._in_doubt_until)
                cleanup = merged(cleanup, done)
        if reading is not None:
            self.traced = await reading
            self.paxos = PaxosSummary.of(self._sampler.every, self.traced)
        report = replace(
            self._report(race_s, audit_s),
            cleanup=cleanup,
            history=self.history,
            stopped_after=len(raced) if self.stop_requested else None,
            audited=not self.audit_skipped,
        )
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

    def _emit(self, event: RaceEvent) -> None:
        self.tally.apply(event)
        if self._on_event is not None:
            self._on_event(event)

    async def _for_each(
        self, count: int, work: Callable[[int], Awaitable[None]], *, stoppable: bool = False
    ) -> None:
        """work(0..count-1), at most `concurrency` at a time, stopping everything on a failure;
        `stoppable`: after stop(), no new index starts (those started finish)."""
        indices = iter(range(count))

        async def worker() -> None:
            for index in indices:  # one iterator shared by every worker: each index once
                if stoppable and self.stop_requested:
                    return
                await work(index)

        width = min(self.plan.concurrency, count)
        await _all_or_cancel([asyncio.ensure_future(worker()) for _ in range(width)])

    # ----------------------------------------------------------------------------------------
    # Siege setup

    async def _set_up_hero(self, race: int) -> None:
        hero = self.contender(race, HERO)
        if self._control is not None:
            await self._control.write(hero)
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
        # The race's history starts from here: the name held by its hero.
        self.recorder.initial[self._key(hero.username)] = str(hero.user_id)
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
        racers = [self.contender(race, index) for index in self.roster.racers()]
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
        in_doubt = tuple(a.contender.index for a in attempts if a.in_doubt)
        blocked = sum(a.outcome == "blocked" for a in attempts)
        self._records[race] = _RaceRecord(
            told_won=held + told_won, unknown=unknown, in_doubt=in_doubt, blocked=blocked
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._emit(RaceFinished(race, username, told_won, blocked, len(unknown), elapsed_ms))
        del self._race_ids[race]

    async def _contend(
        self, contender: Contender, gate: asyncio.Event, park: Callable[[], None]
    ) -> _Attempt:
        park()
        await gate.wait()
        started = time.perf_counter()
        handle = self.recorder.invoke(
            self._process(contender),
            "register",
            self._key(contender.username),
            {"user_id": str(contender.user_id)},
        )
        if self._control is not None:
            attempt = await self._overwrite(contender)
        elif self._sampler.pick(contender.race):
            with tracing() as sent:
                attempt = await self._register(contender)
            self._sent.append((contender.race, contender.username, contender.index, attempt, sent))
        else:
            attempt = await self._register(contender)
        self._record(handle, attempt)
        attempt.latency_ms = (time.perf_counter() - started) * 1000
        if attempt.in_doubt:
            settled = time.monotonic() + RESOLVE_PATIENCE_S
            self._in_doubt_until = max(self._in_doubt_until, settled)
        self._latencies.append(attempt.latency_ms)
        if not attempt.needs_resolution:
            self._emit(self._finished(attempt))
        return attempt

    def _registry_of(self, c: Contender) -> tuple[str, Registry]:
        if self._across is None:
            return "", self._contenders_registry
        return self._across[c.index % 2]

    # ----------------------------------------------------------------------------------------
    # The history

    def _process(self, c: Contender) -> int:
        """Each contender is a client of its own, as is each audit read (after them)."""
        return c.race * (self.plan.clones + 1) + c.index

    def _auditor_process(self, race: int) -> int:
        return self.plan.races * (self.plan.clones + 1) + race

    @staticmethod
    def _key(username: str) -> str:
        try:
            return "name:" + normalize_username(username)
        except ValidationError:
            return "name:" + username

    def _record(self, handle: int, attempt: _Attempt) -> None:
        """What the contender was told, as its registry call answered it (a later SERIAL
        read's resolution is recorded as that read, never over this answer)."""
        if not attempt.sent:
            self.recorder.discard(handle)
        elif attempt.outcome == "won":
            raw = f"unknown: {attempt.note or 'timed out'}" if attempt.resolved else None
            self.recorder.complete(handle, "ok", raw=raw)
        elif attempt.outcome == "blocked" and attempt.winner is not None:
            holder = {"holder": str(attempt.winner.user_id)}
            raw = f"unknown: {attempt.note or 'timed out'}" if attempt.resolved else None
            self.recorder.complete(handle, "failed", holder, raw=raw)
        else:
            self.recorder.complete(handle, "unknown", error=attempt.note or None)

    async def _recorded_read(self, race: int, username: str) -> UserRecord | None:
        """A read of a raced name for the audit or a resolution, recorded with its answer."""
        handle = self.recorder.invoke(self._auditor_process(race), "read", self._key(username))
        try:
            stored = await self._read_stored(username)
        except BaseException as exc:
            self.recorder.complete(handle, "failed", error=one_line(exc))
            raise
        holder = {"holder": str(stored.user_id) if stored is not None else None}
        self.recorder.complete(handle, "ok", holder)
        return stored

    async def _register(self, c: Contender) -> _Attempt:
        registry = self._registry_of(c)[1]
        try:
            outcome = await registry.register(
                c.username, c.email, c.display_name, c.dimension, user_id=c.user_id
            )
        except Exception as exc:
            if classify(exc) is ErrorKind.OTHER:
                raise
            # Unavailable escapes the registry only when the name was not written (an
            # ambiguous try of it answers Unknown): the history leaves it out, as Jepsen does
            # a definite failure that tells nothing.
            return _Attempt(
                c,
                "unknown",
                timed_out=True,
                needs_resolution=True,
                note=one_line(exc),
                sent=not isinstance(exc, DatabaseUnavailable),
                in_doubt=True,
            )
        if isinstance(outcome, Registered):
            late = outcome.resolved_after_timeout
            # Won, with the profile write (after the commit point) undecided: once the race
            # is over, _resolve finishes it.
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
            kept_claim = outcome.claim_released is False
            return _Attempt(
                c, "blocked", outcome.existing, resolved=late, timed_out=late, in_doubt=kept_claim
            )
        if isinstance(outcome, Unknown):
            return _Attempt(
                c,
                "unknown",
                timed_out=True,
                needs_resolution=True,
                note=outcome.reason,
                in_doubt=True,
            )
        if isinstance(outcome, EmailTaken):
            # Cannot happen with this attack's unique addresses; if it does, the contender
            # never wrote the name and the SERIAL read will say who holds it.
            note = f"e-mail refused: held by {outcome.owner.username}"
            return _Attempt(c, "unknown", needs_resolution=True, note=note, sent=False)
        assert isinstance(outcome, Invalid)
        raise ValueError(f"the race built an invalid registration: {outcome.message}")

    async def _overwrite(self, c: Contender) -> _Attempt:
        """The control run's attempt: a plain INSERT, acknowledged whatever was there."""
        assert self._control is not None
        try:
            await self._control.write(c)
        except DatabaseUnavailable as exc:
            # A plain write carries no condition to check afterwards: it stays unknown.
            return _Attempt(c, "unknown", timed_out=True, note=one_line(exc))
        own = UserRecord(c.username, c.email, c.display_name, c.dimension, utc_now(), c.user_id)
        return _Attempt(c, "won", own)

    async def _resolve(self, c: Contender) -> tuple[Outcome, UserRecord | None]:
        """Decide an ambiguous attempt by its token: the user_id a SERIAL read finds there."""
        deadline = time.monotonic() + RESOLVE_PATIENCE_S
        pause = 0.1
        while True:
            try:
                current = await self._recorded_read(c.race, c.username)
            except DatabaseUnavailable:
                # A short outage (a paused replica) must not end the whole attack: keep
                # asking until the deadline, then leave this one attempt unknown.
                if time.monotonic() >= deadline:
                    return "unknown", None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            if current is not None and current.user_id == c.user_id:
                # Ours after all: give it the profile that the interrupted registration may
                # never have written; while the database refuses it, ask again until the
                # deadline. Still unwritten then, the win stands (the name is ours) and the
                # registration stays incomplete, as the caller of `register` is told: the
                # next registration that meets the name writes it (Registrar.repair_holder).
                done = await self._registry_of(c)[1].complete_registration(current)
                while (
                    isinstance(done, Registered) and done.incomplete and time.monotonic() < deadline
                ):
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 1.0)
                    done = await self._registry_of(c)[1].complete_registration(current)
                if isinstance(done, Registered) and done.incomplete:
                    self._findings.incomplete += 1
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
            self._registry_of(c)[0],
        )

    def _identity(self, race: int, record: UserRecord) -> Identity:
        ids = self._race_ids.get(race)
        if ids is not None:
            index = ids.get(record.user_id)
        else:
            index = self.roster.owner_index(race, record.user_id, (HERO,))
        kind: ContenderKind | None = None
        if index is not None:
            kind = "hero" if index == HERO else "clone"
        return Identity(record.user_id, record.email, record.display_name, kind, index)

    # ----------------------------------------------------------------------------------------
    # The audit

    async def _read_stored(self, username: str) -> UserRecord | None:
        if self._control is None:
            return await self._auditor.get_user_serial(username)
        return await self._control.read(username)

    async def _audit_one(self, race: int) -> None:
        username = self.username(race)
        stored = await self._recorded_read(race, username)
        record = self._records[race] or _RaceRecord(told_won=())
        told = record.told_won
        problems: list[str] = []
        owner = self.roster.owner_index(race, stored.user_id, told) if stored else None
        if stored is not None and owner is not None:
            self._held[race] = stored  # the race registered it: the clean-up removes it

        if len(told) > 1:
            problems.append(f"{len(told)} contenders were told they won")
        torn = False
        if stored is None:
            # Nobody told "won" and the name free is no violation when no contender was told
            # it was taken either (every answer unknown or refused: an outage, not a lie).
            if told:
                problems.append("a contender was told it won, but the name is free")
            elif record.blocked:
                problems.append(
                    f"{record.blocked} contender(s) told the name was taken, but it is free"
                )
        elif owner is None:
            problems.append(f"held by someone outside the race (user_id {stored.user_id})")
        else:
            if owner not in told:
                if owner in record.unknown and not told:
                    # Unknown means unknown: nobody was told "won", and the attempt that never
                    # learned its fate took effect (its request may run however late: after
                    # every read that settled the race found the name free). Reported, not a
                    # violation; the history check sees the same unknown and agrees.
                    self._findings.unknown_held += 1
                else:
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
        self._emit(AuditProgress(self._audited, self._audit_total, len(self._findings.violations)))

    async def _find_holder(self, race: int) -> None:
        """Without an audit: whether one of this race's contenders holds its name, for the
        clean-up (a holder from outside the race is never touched)."""
        stored = await self._read_stored(self.username(race))
        if stored is not None:
            record = self._records[race]
            likely = record.told_won if record is not None else ()
            if self.roster.owner_index(race, stored.user_id, likely) is not None:
                self._held[race] = stored

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
            profiles_unwritten=self._findings.incomplete,
            unknown_held=self._findings.unknown_held,
            violations=tuple(sorted(self._findings.violations, key=lambda v: v.username)),
            race_s=race_s,
            audit_s=audit_s,
            latency=LatencySummary.of(self._latencies),
            serial=self.serial,
            dcs=self.data_centres,
        )

    @property
    def serial(self) -> str:
        """The guarantee the contenders race under: "global" (SERIAL) or "local"."""
        return (self._across[1][1] if self._across else self._auditor).connection.settings.serial

    @property
    def data_centres(self) -> tuple[str, ...]:
        """The data centres the contenders are split across (none: one connection)."""
        return tuple(dc for dc, _ in self._across) if self._across else ()


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
    across: tuple[tuple[str, Registry], tuple[str, Registry]] | None = None,
) -> AttackReport:
    return await Attack(connection, plan, registry=registry, across=across).run(on_event=on_event)
