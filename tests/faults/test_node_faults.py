"""Node faults during a land-grab attack on the 3-node cluster, keyspace RF=3.

- SIGKILL one node mid-attack: the races go on, the engine's audit is clean, and after the node
  is restarted our own audit (SERIAL per name, tables read at ALL) finds exactly one owner per
  name and every acknowledged registration whole.
- SIGSTOP two nodes mid-attack: while they are frozen, probe registrations are reported as what
  they are (CAS/read timeouts -> unknown, then Unavailable once gossip has noticed), never as a
  raw driver error; after SIGCONT every unknown outcome is resolved by a SERIAL read, nothing
  acknowledged is lost, nothing is duplicated, and nothing is left half-registered.

Every node is brought back in a `finally` (and by the `healthy_cluster` fixture).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import Registered, Unknown, UsernameTaken, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from registry_tui.race import (
    HERO,
    Attack,
    AttackPlan,
    AttackReport,
    ContenderFinished,
    RaceEvent,
    RaceFinished,
    RaceStarted,
)
from tests.faults.conftest import (
    Attempt,
    AuditResult,
    FaultFigures,
    alauncher,
    audit,
    eventually,
    wait_healed,
)

pytestmark = pytest.mark.usefixtures("healthy_cluster")

RACES = 300
CLONES = 7  # 8 contenders per name
CONCURRENCY = 16
# Long enough for the driver and gossip to notice two frozen nodes (Unavailable), short enough
# to keep the suite quick. The pause ends as soon as both kinds of failure have been seen.
PAUSE_MIN_S, PAUSE_MAX_S = 6.0, 45.0
PROBE_EVERY_S = 0.5
# After SIGCONT, requests the frozen nodes had queued may still run; the server gives up on
# them within write_request_timeout (2 s) + cas_contention_timeout (1 s). Only then is a
# SERIAL read that finds a name free trusted to mean "never applied".
SETTLE_AFTER_RESUME_S = 5.0


def attempts_of(attack: Attack, events: list[RaceEvent]) -> list[Attempt]:
    """Every contender of every race that started, with what it was told (nothing: unknown)."""
    told = {(e.race, e.contender): e.outcome for e in events if isinstance(e, ContenderFinished)}
    started = sorted({e.race for e in events if isinstance(e, RaceStarted)})
    attempts = []
    for race in started:
        for index in range(HERO, attack.plan.clones + 1):
            c = attack.contender(race, index)
            outcome = told.get((race, index), "unknown")
            attempts.append(Attempt(c.username, c.user_id, c.email, outcome))
    return attempts


def races_finished(events: list[RaceEvent]) -> int:
    return sum(isinstance(e, RaceFinished) for e in events)


async def until(predicate: Callable[[], bool], budget: float) -> None:
    deadline = time.monotonic() + budget
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {budget:.0f}s")
        await asyncio.sleep(0.1)


def assert_clean(result: AuditResult) -> None:
    assert result.problems == [], "\n".join(result.problems)


async def resolve(connection: Connection, attempts: list[Attempt]) -> tuple[list[Attempt], int]:
    """Decide every attempt whose caller learnt nothing (unknown, or a raw error) by its token:
    the user_id a SERIAL read finds holding the name. A holder that never learnt it won is
    completed (profile, permanent e-mail claim), as the race engine does. Returns the attempts
    with their final outcome ("won", "lost" or as told), and how many were resolved."""
    registry = Registry(connection)

    async def holder_of(name: str) -> UserRecord | None:
        return await eventually(f"SERIAL read of {name}", lambda: registry.get_user_serial(name))

    async def complete(holder: UserRecord) -> None:
        done = await eventually(
            f"completing {holder.username}", lambda: registry.complete_registration(holder)
        )
        assert isinstance(done, Registered), done

    by_name: dict[str, list[Attempt]] = {}
    for a in attempts:
        by_name.setdefault(a.username, []).append(a)
    final: list[Attempt] = []
    resolved = 0
    for name, group in by_name.items():
        undecided = [a for a in group if a.told in ("unknown", "misreported")]
        final.extend(a for a in group if a not in undecided)
        if not undecided:
            continue
        holder = await holder_of(name)
        for a in undecided:
            resolved += 1
            if holder is not None and holder.user_id == a.user_id:
                await complete(holder)
                final.append(replace(a, told="won"))
            else:
                final.append(replace(a, told="lost"))
    return final, resolved


# ----------------------------------------------------------------------------------------------
# SIGKILL one node


@pytest.mark.timeout(480)
async def test_sigkill_one_node_mid_attack_races_go_on_and_audit_is_clean(
    cluster_connection: Connection, figures: FaultFigures
) -> None:
    events: list[RaceEvent] = []
    attack = Attack(
        cluster_connection,
        AttackPlan(races=RACES, clones=CLONES, concurrency=CONCURRENCY, keep=True),
    )
    task = asyncio.ensure_future(attack.run(on_event=events.append))
    try:
        await until(lambda: races_finished(events) >= RACES // 4 or task.done(), 180)
        assert not task.done(), "the attack ended before the fault"
        finished_at_kill = races_finished(events)
        # Node 1: the seed and first contact point, usually the driver's control connection.
        await alauncher("kill-node", "1")
        figures.faults.append("SIGKILL node 1 mid-attack")
        report: AttackReport = await asyncio.wait_for(task, 400)
    finally:
        if not task.done():
            task.cancel()
        await alauncher("start-node", "1")
    figures.races += len({e.race for e in events if isinstance(e, RaceStarted)})
    figures.registrations_attempted += report.contenders

    # The races went on after the kill, and the engine's own SERIAL audit is clean.
    assert races_finished(events) - finished_at_kill >= RACES // 2
    assert report.clean, [v.describe() for v in report.violations[:5]]
    assert report.winners == RACES and report.unresolved == 0
    assert report.overwritten == 0 and report.contenders == RACES * (CLONES + 1)
    figures.unknown_resolved += report.unknown_resolved

    healed_s = await wait_healed(cluster_connection)
    result = await audit(cluster_connection, attempts_of(attack, events))
    figures.add_audit(result)
    figures.notes.append(
        f"SIGKILL: {report.timeouts} attempts met a timeout or a dead connection, "
        f"{report.unknown_resolved} resolved by SERIAL reads; node 1 back and healed in "
        f"{healed_s:.1f}s; {result.pending_claims} losers' claims left pending (settled by the next registration that meets them)"
    )
    assert_clean(result)
    assert result.names == RACES and result.acknowledged == RACES
    assert len(result.holders) == RACES


# ----------------------------------------------------------------------------------------------
# SIGSTOP two nodes


@dataclass
class Probe:
    """One registration sent while two nodes were frozen, and how it was reported."""

    attempt: Attempt
    kind: str  # "registered", "unknown", "unavailable", "misreported"
    message: str

    @property
    def says_timeout(self) -> bool:
        return "timed out" in self.message or "did not answer in time" in self.message

    @property
    def says_unavailable(self) -> bool:
        return "not enough live replicas" in self.message

    @property
    def says_connection_lost(self) -> bool:
        # The driver gave up on a frozen node's connection (heartbeat) or it was reset.
        text = self.message.lower()
        return "heartbeat" in text or "connection" in text


async def probe(registry: Registry, run: str, number: int) -> Probe:
    name = f"probe-{run}-{number:03d}"
    email = f"{name}@probes.dimension-6.galaxy"
    uid = uuid.uuid4()
    try:
        outcome = await registry.register(name, email, "Probe", "Dimension-6", user_id=uid)
    except DatabaseUnavailable as exc:
        return Probe(Attempt(name, uid, email, "unavailable"), "unavailable", exc.message)
    except Exception as exc:  # a raw driver error: exactly what must never reach a person
        return Probe(Attempt(name, uid, email, "misreported"), "misreported", repr(exc))
    if isinstance(outcome, Registered):
        return Probe(Attempt(name, uid, email, "won"), "registered", "")
    if isinstance(outcome, Unknown):
        return Probe(Attempt(name, uid, email, "unknown"), "unknown", outcome.reason)
    if isinstance(outcome, UsernameTaken):
        return Probe(Attempt(name, uid, email, "blocked"), "misreported", repr(outcome))
    return Probe(Attempt(name, uid, email, "misreported"), "misreported", repr(outcome))


@pytest.mark.timeout(480)
async def test_sigstop_two_nodes_outcomes_reported_then_resolved_after_sigcont(
    cluster_connection: Connection, figures: FaultFigures
) -> None:
    events: list[RaceEvent] = []
    attack = Attack(
        cluster_connection,
        AttackPlan(races=RACES, clones=CLONES, concurrency=CONCURRENCY, keep=True),
    )
    registry = Registry(cluster_connection)
    run = uuid.uuid4().hex[:6]
    task = asyncio.ensure_future(attack.run(on_event=events.append))
    probes: list[asyncio.Future[Probe]] = []
    attack_error: BaseException | None = None
    paused_s = 0.0
    try:
        await until(lambda: races_finished(events) >= 40 or task.done(), 180)
        assert not task.done(), "the attack ended before the fault"
        await alauncher("pause-node", "2")
        await alauncher("pause-node", "3")
        figures.faults.append("SIGSTOP nodes 2+3 mid-attack")
        paused_at = time.monotonic()

        def seen(kind: str) -> bool:
            done = [p.result() for p in probes if p.done()]
            return any(p.says_timeout if kind == "timeout" else p.says_unavailable for p in done)

        while True:
            elapsed = time.monotonic() - paused_at
            if elapsed >= PAUSE_MAX_S or (
                elapsed >= PAUSE_MIN_S and seen("timeout") and seen("unavailable")
            ):
                break
            probes.append(asyncio.ensure_future(probe(registry, run, len(probes))))
            await asyncio.sleep(PROBE_EVERY_S)
    finally:
        await alauncher("resume-node", "2")
        await alauncher("resume-node", "3")
    paused_s = time.monotonic() - paused_at

    reported = list(await asyncio.gather(*probes))
    try:
        report: AttackReport | None = await asyncio.wait_for(task, 400)
    except DatabaseUnavailable as exc:  # the engine stops when even its SERIAL reads fail
        report, attack_error = None, exc
    except Exception as exc:  # anything else is a misreport; resolve and audit all the same
        report, attack_error = None, exc

    await wait_healed(cluster_connection)
    await asyncio.sleep(SETTLE_AFTER_RESUME_S)
    attack_attempts = attempts_of(attack, events)
    probe_attempts = [p.attempt for p in reported]
    final, resolved = await resolve(cluster_connection, attack_attempts + probe_attempts)
    result = await audit(cluster_connection, final)

    races_run = len({e.race for e in events if isinstance(e, RaceStarted)})
    figures.races += races_run
    figures.registrations_attempted += len(attack_attempts) + len(probe_attempts)
    figures.unknown_resolved += resolved
    figures.unavailable_reported += sum(p.says_unavailable for p in reported)
    figures.cas_timeouts_reported += sum(p.says_timeout for p in reported)
    figures.add_audit(result)
    kinds = Counter(p.kind for p in reported)
    figures.notes.append(
        f"SIGSTOP: paused {paused_s:.0f}s; {len(reported)} probes {dict(kinds)}; attack "
        + (
            f"finished ({report.unknown_resolved} resolved by the engine)"
            if report is not None
            else f"stopped after {races_run} races: {type(attack_error).__name__}: "
            f"{getattr(attack_error, 'message', attack_error)}"
        )
        + f"; {resolved} unknown outcomes resolved after SIGCONT"
    )

    # Reported as what they are: a CAS/read timeout (outcome unknown) while the frozen nodes
    # still looked alive, Unavailable once they were known to be down; never a raw error.
    misreported = [p.message for p in reported if p.kind == "misreported"]
    assert misreported == [], f"{len(misreported)} probes got a raw error: {misreported[:3]}"
    assert not isinstance(attack_error, Exception) or isinstance(
        attack_error, DatabaseUnavailable
    ), f"the attack died of a raw driver error: {attack_error!r}"
    assert any(p.says_timeout for p in reported), [p.message for p in reported][:5]
    assert any(p.says_unavailable for p in reported), [p.message for p in reported][:5]
    for p in reported:
        # "registered": a probe still running at SIGCONT that then went through.
        assert p.kind in ("unknown", "unavailable", "registered"), (p.kind, p.message)
        if p.kind != "registered":
            assert p.says_timeout or p.says_unavailable or p.says_connection_lost, p.message
    # Unavailable is decided before any replica writes anything: such a probe holds nothing.
    for p in reported:
        if p.kind == "unavailable" and p.says_unavailable:
            assert p.attempt.username not in result.holders, p

    # Every unknown outcome was decided after SIGCONT; nothing acknowledged was lost, nothing
    # duplicated, nothing left half-registered.
    assert not [a for a in final if a.told in ("unknown", "misreported")]
    assert_clean(result)
    acknowledged_before = [a for a in attack_attempts if a.told == "won"]
    assert len(acknowledged_before) >= 40
