"""dc1 | dc2: every storage link between the two data centres cut (nftables, in the layout's
own namespace), while clients pinned to each DC race for the same names.

- global (SERIAL, commits at QUORUM of dc1:1 + dc2:1): a Paxos round needs the other DC, so
  every attempt is refused (unavailable) or reported unknown; nothing is acknowledged. After
  the heal, a SERIAL read decides every unknown, and the history is linearizable.
- local (LOCAL_SERIAL, commits at LOCAL_QUORUM): each DC decides alone and keeps accepting, so
  one name is acknowledged in both. After the heal the checker must find those double winners
  in the history: this is the proof that it fails on a wrong history of a real partition.

Every attempt and, after the heal, a SERIAL read of every name go into one history for
registry_tui.proof; the audit of tests/faults reads every name, profile and claim again.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

from registry_tui.core.errors import DatabaseUnavailable, ErrorKind, classify
from registry_tui.core.outcomes import EmailTaken, Registered, Unknown, UsernameTaken
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from registry_tui.core.validation import normalize_username
from registry_tui.proof import CheckReport, HistoryRecorder, check_history
from registry_tui.race.dcs import across_data_centres
from tests.dc_partition.conftest import ROWS
from tests.faults.conftest import (
    REPO,
    Attempt,
    AuditResult,
    alauncher,
    audit,
    eventually,
    scan_at_all,
)
from tests.faults.test_node_faults import resolve

sys.path.insert(0, str(REPO / "scripts"))

from cassandra_local import server_violations

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("healed")]

CUT = "1|2"  # dc1's node | dc2's node
# Contenders per DC for each name: two, so each DC also holds a race of its own.
PER_DC = 2
# Names raced at once (each by 2 x PER_DC contenders): modest, the cores are shared.
WIDTH = 6
# After the heal, requests still held by a node may run for the servers' timeouts
# (write 2 s + contention 1 s): only then is a SERIAL read trusted to be the final state.
SETTLE_S = 5.0
HISTORIES = REPO / ".local" / "histories"


@dataclass
class DcPartitionRow:
    """One line of the table: what a run through dc1 | dc2 did and what was found."""

    HEADER = (
        "| fault, guarantee | operations | attempts | acknowledged | unavailable | unknown | "
        "resolved | checker | server | double winners | lost | duplicated | merged rows | "
        "seconds |"
    )

    mode: str
    operations: int  # in the checked history: attempts sent and the final reads
    attempts: int
    acknowledged: int  # told "registered", in either DC
    unavailable: int  # refused before anything was written
    unknown: int  # told nothing certain
    resolved: int  # unknowns a SERIAL read decided after the heal
    checker: int  # keys the history checker found non-linearizable
    server: int  # violations the nodes' Paxos logged (their own alarm)
    double_winners: int  # names acknowledged in both DCs, to different identities
    lost: int  # acknowledged registrations that do not hold their name after the heal
    duplicated: int  # names with more than one acknowledged owner (the audit's count)
    merged: int  # name rows holding the cells of two registrations (equal write times)
    seconds: float
    detail: str = ""  # what the table has no column for, printed under the row

    def line(self) -> str:
        return (
            f"| dc1 \\| dc2, {self.mode} | {self.operations} | {self.attempts} | "
            f"{self.acknowledged} | {self.unavailable} | {self.unknown} | {self.resolved} | "
            f"{self.checker} | {self.server} | {self.double_winners} | {self.lost} | "
            f"{self.duplicated} | {self.merged} | {self.seconds:.0f} s |"
        )


@dataclass
class Try:
    """One contender's attempt, pinned to a DC, and what it was told."""

    dc: str
    attempt: Attempt
    holder: uuid.UUID | None = None  # the identity a refusal said holds the name
    sent: float = 0.0  # seconds after the cut
    took: float = 0.0  # seconds until the answer


@dataclass
class PartitionRun:
    row: DcPartitionRow
    tries: list[Try]
    told: Counter[str]
    acknowledged_in: dict[str, int]
    double_winners: list[str]
    holders: dict[str, uuid.UUID | None]  # after the heal, by SERIAL read
    final: list[Attempt]
    result: AuditResult
    check: CheckReport
    applied_unknowns: int
    slowest: dict[str, float]  # the longest wait for each kind of answer, in seconds
    # Name rows after the heal whose cells come from two registrations (the user_id of one,
    # the e-mail of another): the two DCs' inserts merged cell by cell.
    mixed: list[str]
    faults_done: list[str] = field(default_factory=list)


def name_key(name: str) -> str:
    return "name:" + normalize_username(name)


async def contend(
    recorder: HistoryRecorder, process: int, dc: str, registry: Registry, name: str, cut: float
) -> Try:
    """One registration of `name` from `dc`, recorded as churn records its `register`, and
    timed (from `cut`, the monotonic time of the cut)."""
    sent = time.monotonic()
    done = await _contend(recorder, process, dc, registry, name)
    done.sent, done.took = sent - cut, time.monotonic() - sent
    return done


async def _contend(
    recorder: HistoryRecorder, process: int, dc: str, registry: Registry, name: str
) -> Try:
    uid = uuid.uuid4()
    email = f"{name}.{dc}.{process}@dc.galaxy"
    handle = recorder.invoke(process, "register", name_key(name), {"user_id": str(uid)})
    try:
        outcome = await registry.register(name, email, "Split", "Dimension-6", user_id=uid)
    except DatabaseUnavailable:
        # Refused before the name was written (an ambiguous try answers unknown instead).
        recorder.discard(handle)
        return Try(dc, Attempt(name, uid, email, "unavailable"))
    except Exception as exc:
        if classify(exc) is ErrorKind.OTHER:
            raise
        recorder.complete(handle, "unknown", error=f"{type(exc).__name__}: {exc}")
        return Try(dc, Attempt(name, uid, email, "misreported"))
    holder = None
    if isinstance(outcome, Registered):
        raw = "unknown: resolved by a SERIAL read" if outcome.resolved_after_timeout else None
        recorder.complete(handle, "ok", raw=raw)
        told = "won"
    elif isinstance(outcome, UsernameTaken):
        recorder.complete(handle, "failed", {"holder": str(outcome.existing.user_id)})
        told = "blocked"
        holder = outcome.existing.user_id
    elif isinstance(outcome, Unknown):
        recorder.complete(handle, "unknown", error=outcome.reason)
        told = "unknown"
    else:  # every contender has an address of its own: EmailTaken or Invalid is a bug
        recorder.discard(handle)
        told = f"misreported: {type(outcome).__name__}"
        assert not isinstance(outcome, EmailTaken), outcome
    return Try(dc, Attempt(name, uid, email, told), holder)


async def race_through_the_cut(
    connection: Connection, serial: str, seconds: float, max_names: int
) -> PartitionRun:
    """Cut dc1 | dc2, race names from both DCs for `seconds` (at most `max_names`), wait for
    every attempt's answer, heal, then decide, read back, audit and check."""
    recorder = HistoryRecorder()
    tag = uuid.uuid4().hex[:6]
    tries: list[Try] = []
    faults_done: list[str] = []
    alarms_before = len(await asyncio.to_thread(server_violations, "dcs"))
    async with across_data_centres(connection, serial=serial) as across:
        sides = [across[0], across[1]]
        assert {dc for dc, _ in sides} == {"dc1", "dc2"}, sides
        # Before the cut, each side registers once: its connection knows the keyspace, and
        # the layout (maybe just started) answers within the registry's timeouts.
        for dc, registry in sides:
            await warm_up(registry, f"dp{tag}-warm-{dc}")
        started = time.monotonic()
        await alauncher("partition", "--layout", "dcs", CUT)
        cut = time.monotonic()
        faults_done.append(f"{cut - started:.0f}s partition {CUT}")
        deadline = time.monotonic() + seconds
        next_name = iter(range(max_names))
        process = iter(range(1_000_000))

        async def worker() -> None:
            for number in next_name:
                if time.monotonic() >= deadline:
                    return
                name = f"dp{tag}-{number}"
                races = [
                    contend(recorder, next(process), dc, registry, name, cut)
                    for _ in range(PER_DC)
                    for dc, registry in sides
                ]
                tries.extend(await asyncio.gather(*races))

        try:
            await asyncio.gather(*(worker() for _ in range(WIDTH)))
        finally:
            cut_for = time.monotonic() - started
            await alauncher("heal", "--layout", "dcs")
            faults_done.append(f"{cut_for:.0f}s heal")
    # Healed: a read at ALL needs both DCs' replicas; then requests still held settle.
    keyspace = connection.settings.keyspace
    await scan_at_all(connection, f"SELECT username FROM {keyspace}.user_registrations")
    await asyncio.sleep(SETTLE_S)

    registry = Registry(connection)  # global: the final word across both DCs
    names = sorted({t.attempt.username for t in tries})
    reader = next(process)
    holders: dict[str, uuid.UUID | None] = {}
    for name in names:
        handle = recorder.invoke(reader, "read", name_key(name), {})
        holder = await eventually(
            f"SERIAL read of {name}",
            lambda n=name: registry.get_user_serial(n),  # type: ignore[misc]
        )
        holders[name] = holder.user_id if holder else None
        recorder.complete(handle, "ok", {"holder": str(holder.user_id) if holder else None})
    attempts = [t.attempt for t in tries]
    final, resolved = await resolve(connection, attempts)
    result = await audit(connection, final)
    mixed = await merged_rows(connection, tries)
    HISTORIES.mkdir(parents=True, exist_ok=True)
    recorder.write_jsonl(HISTORIES / f"dc-partition-{serial}.jsonl")  # `registry check FILE`
    check = await asyncio.to_thread(check_history, recorder.history())
    server = len(await asyncio.to_thread(server_violations, "dcs")) - alarms_before
    elapsed = time.monotonic() - started

    told = Counter(t.attempt.told for t in tries)
    won_in: dict[str, dict[str, set[uuid.UUID]]] = defaultdict(lambda: defaultdict(set))
    for t in tries:
        if t.attempt.told == "won":
            won_in[t.attempt.username][t.dc].add(t.attempt.user_id)
    double_winners = sorted(
        name
        for name, by_dc in won_in.items()
        if len(by_dc) > 1 and len(set().union(*by_dc.values())) > 1
    )
    acknowledged_in = Counter(t.dc for t in tries if t.attempt.told == "won")
    undecided = [t.attempt for t in tries if t.attempt.told in ("unknown", "misreported")]
    applied_unknowns = sum(1 for a in undecided if holders.get(a.username) == a.user_id)
    slowest = {
        answer: max(t.took for t in tries if t.attempt.told == answer) for answer in sorted(told)
    }
    refused = [t.sent for t in tries if t.attempt.told == "unavailable"]
    first_refusal = f"{min(refused):.1f}s after the cut" if refused else "never"
    row = DcPartitionRow(
        mode=f"{serial} ({'SERIAL' if serial == 'global' else 'LOCAL_SERIAL'})",
        operations=check.operations,
        attempts=len(tries),
        acknowledged=told["won"],
        unavailable=told["unavailable"],
        unknown=told["unknown"] + told["misreported"],
        resolved=resolved,
        checker=check.violations,
        server=server,
        double_winners=len(double_winners),
        lost=len(result.lost),
        duplicated=len(result.duplicated),
        merged=len(mixed),
        seconds=elapsed,
    )
    ROWS.append(row)
    violating = [k.to_json() for k in check.violating()[:1]]
    row.detail = (
        f"  faults: {faults_done}; names raced: {len(names)}; told: {dict(told)}; "
        f"acknowledged per DC: {dict(acknowledged_in)}; unknowns found applied: "
        f"{applied_unknowns}; slowest answer by kind (s): "
        f"{ {k: round(v, 1) for k, v in slowest.items()} }; first attempt refused as "
        f"unavailable: sent {first_refusal}; pending claims: {result.pending_claims}; "
        f"orphan profiles: {len(result.orphan_profiles)}; half-registered: "
        f"{len(result.half_registered)}"
    )
    print(
        f"{row.line()}\n{row.detail}\nverdict {check.verdict}; first violating key: {violating}\n"
        f"audit: {result.problems}; pending claims: {result.pending_claims}\n"
        f"name rows merged from two registrations: {len(mixed)} {mixed[:3]}"
    )
    return PartitionRun(
        row,
        tries,
        told,
        dict(acknowledged_in),
        double_winners,
        holders,
        final,
        result,
        check,
        applied_unknowns,
        slowest,
        mixed,
        faults_done,
    )


async def warm_up(registry: Registry, prefix: str, budget: float = 120.0) -> None:
    """Registrations of fresh names until one is acknowledged."""
    deadline = time.monotonic() + budget
    for attempt in range(1_000):
        name = f"{prefix}-{attempt}"
        try:
            outcome = await registry.register(name, f"{name}@dc.galaxy", "Warm", "Dimension-6")
        except DatabaseUnavailable:
            outcome = None
        if isinstance(outcome, Registered):
            return
        assert time.monotonic() < deadline, f"no registration acknowledged: {outcome}"
        await asyncio.sleep(1)


async def merged_rows(connection: Connection, tries: list[Try]) -> list[str]:
    """Every raced name's row read at ALL, with each cell's write time: the rows whose
    user_id and e-mail were sent by two different registrations."""
    email_of = {t.attempt.user_id: t.attempt.email.lower() for t in tries}
    rows = await scan_at_all(
        connection,
        "SELECT username, user_id, email, writetime(user_id) AS written_id, "
        f"writetime(email) AS written_email FROM {connection.settings.keyspace}.user_registrations",
    )
    return [
        f"{r.username}: user_id {r.user_id} written at {r.written_id}, e-mail {r.email} "
        f"written at {r.written_email}"
        for r in rows
        if r.user_id in email_of and email_of[r.user_id] != r.email.lower()
    ]


@pytest.mark.timeout(600)
async def test_global_refuses_or_reports_unknown_across_the_cut(dc1: Connection) -> None:
    """SERIAL across dc1 | dc2: no side can win a Paxos round, so no attempt is acknowledged
    (nor refused as taken, which needs a round too); after the heal, every unknown is decided
    by a SERIAL read, nothing is lost or doubled, and the history is linearizable."""
    run = await race_through_the_cut(dc1, "global", seconds=30, max_names=150)
    assert {t.dc for t in run.tries} == {"dc1", "dc2"}
    assert run.row.attempts >= 8 * PER_DC, run.told
    # Nothing certain can be said during the cut but "refused": every answer is one of these.
    assert set(run.told) <= {"unavailable", "unknown"}, run.told
    assert run.acknowledged_in == {} and run.double_winners == []
    # Refused or unknown within the registry's own attempts, never a hang.
    bound = 4 * dc1.settings.request_timeout + 5
    assert max(run.slowest.values()) < bound, run.slowest
    assert run.row.resolved == run.row.unknown  # each decided after the heal
    assert run.result.lost == [] and run.result.duplicated == [], run.result.problems
    assert run.result.problems == [], run.result.problems
    assert run.mixed == [], run.mixed
    assert run.check.violations == 0, [k.to_json() for k in run.check.violating()[:2]]
    assert run.check.verdict == "linearizable", run.check.to_json()
    # The checker and the server's Paxos must agree; a difference is a finding.
    assert (run.row.server > 0) == (run.check.violations > 0), (run.row.server, run.check)


@pytest.mark.timeout(600)
async def test_local_keeps_accepting_in_both_dcs_and_the_checker_finds_the_doubles(
    dc1: Connection,
) -> None:
    """LOCAL_SERIAL across dc1 | dc2: each DC keeps accepting and crowns its own winner of
    the same name. After the heal the history checker must flag every such name."""
    run = await race_through_the_cut(dc1, "local", seconds=8, max_names=120)
    assert set(run.told) <= {"won", "blocked", "unknown", "unavailable"}, run.told
    # Both DCs kept accepting through the cut.
    assert run.acknowledged_in.get("dc1", 0) > 0 and run.acknowledged_in.get("dc2", 0) > 0
    assert run.double_winners, f"no name was won in both DCs: {run.told}"
    # The checker finds each double winner on its own, from the history alone.
    violating = {k.key for k in run.check.violating()}
    assert {name_key(n) for n in run.double_winners} <= violating, run.check.to_json()
    # No false alarm: a flagged name is one that two identities were seen holding (told they
    # won, named as holder by a refusal, or found by the final read).
    seen: dict[str, set[uuid.UUID]] = defaultdict(set)
    for t in run.tries:
        if t.attempt.told == "won":
            seen[t.attempt.username].add(t.attempt.user_id)
        if t.holder is not None:
            seen[t.attempt.username].add(t.holder)
    for name, holder in run.holders.items():
        if holder is not None:
            seen[name].add(holder)
    contested = {name_key(n) for n, ids in seen.items() if len(ids) > 1}
    assert violating <= contested, sorted(violating - contested)[:5]
    assert run.check.verdict == "violation"
    # The audit after the heal sees the same names with two acknowledged owners, and loses
    # nothing acknowledged in one DC only: one of each double's winners is overwritten.
    assert set(run.result.duplicated) == set(run.double_winners), run.result.problems
    lost_names = {entry.split(" ", 1)[0] for entry in run.result.lost}
    assert lost_names <= set(run.double_winners), sorted(lost_names - set(run.double_winners))
