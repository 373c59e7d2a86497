"""The two workloads run through a fault, and the figures each run leaves for the table in
docs/guarantees.md.

- churn (registry_tui.race.churn): clients register, read, delete and edit a few names for a
  while; faults are launcher commands at fixed offsets; everything is healed, then every name,
  address and holder's profile is read again at SERIAL *into the same history*, so the checker
  judges the state the cluster ends in as well. Lost (an acknowledged registration that is
  neither the name's final holder nor the target of a delete) and duplicated (an address held
  by two names' final holders) are also counted directly from those reads.
- land-grab (registry_tui.race.Attack): each name raced by 8 contenders; the engine checks its
  own history; after healing, every attempt whose caller learnt nothing is decided by a SERIAL
  read and the independent audit of tests/faults counts lost and duplicated registrations.

Both compare the checker with the server's own alarm (paxos_on_linearizability_violations).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from registry_tui.core.outcomes import Registered
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from registry_tui.proof import Budget, CheckReport, HistoryRecorder, check_history
from registry_tui.proof.history import Operation
from registry_tui.race import Attack, AttackPlan, RaceEvent, RaceStarted
from registry_tui.race.churn import FIRST_WRITER, Churn, ChurnPlan, ChurnReport
from tests.faults.conftest import (
    REPO,
    Attempt,
    _bounded,
    alauncher,
    audit,
    eventually,
    launcher,
    wait_healed,
)
from tests.faults.conftest import restore_cluster as restore_nodes
from tests.faults.test_node_faults import attempts_of, resolve

sys.path.insert(0, str(REPO / "scripts"))

from cassandra_local import server_violations

# A fault: at this many seconds into the run, this launcher command.
Fault = tuple[float, tuple[str, ...]]
# A fault command may be a membership change (a bootstrap or a decommission streams data and
# waits out the ring delay): minutes on a few loaded cores.
FAULT_COMMAND_BUDGET_S = 1200.0

# After healing, requests the cut-off nodes still hold may run for the servers' timeouts
# (write 2 s + contention 1 s): only then is a SERIAL read trusted to be the final state.
SETTLE_S = 5.0
# Each churn run's history, kept for `registry check` (gitignored).
HISTORIES = REPO / ".local" / "histories"
# The checker's allowance per key. Under a fault, operations on one key overlap for seconds: in
# one history of `test_clock_skew.py -k behind` (3,557 operations), an e-mail key of 90 needed
# between 12 and 15 million search steps (under a second), more than the 10 million the CLI
# allows by default, and came out "unknown". 40 million is at most about 6 GB per key.
FAULT_BUDGET = Budget(steps=40_000_000)


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:60]


@dataclass
class FaultRow:
    """One line of the table: what one run did and what was found."""

    fault: str
    workload: str
    operations: int
    acknowledged: int  # writes the caller was told were applied
    unknown: int  # answers "unknown" (nothing learnt) the callers were given
    resolved: int  # ambiguous tries whose outcome a SERIAL read decided
    checker: int  # violating keys found by registry_tui.proof
    server: int  # violations the nodes' Paxos logged
    lost: int
    duplicated: int
    seconds: float
    leftovers: int = 0  # churn: deleted users' profiles a cut-off clean-up left (reported)

    def line(self) -> str:
        return (
            f"| {self.fault} | {self.workload} | {self.operations} | {self.acknowledged} | "
            f"{self.unknown} | {self.resolved} | {self.checker} | {self.server} | {self.lost} | "
            f"{self.duplicated} | {self.leftovers} | {self.seconds:.0f} s |"
        )


FIGURES: list[FaultRow] = []
# Per run: when each fault ran, and when its failed answers came (the terminal summary).
FAULT_LOG: list[str] = []
FAILED_ANSWERS = ("unavailable", "Unknown", "error")


def failures_by_window(times: Sequence[float], width: float = 10.0) -> str:
    """Failed answers counted per `width`-second window of the run, e.g. '0-10s: 3'."""
    counts = Counter(int(t // width) for t in times)
    return ", ".join(
        f"{int(w * width)}-{int((w + 1) * width)}s: {n}" for w, n in sorted(counts.items())
    )


def node_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(launcher("status", "--json"))
    return [r for r in rows if r["layout"] == "cluster"]


def restore_everything(keep_clocks: bool = False) -> list[str]:
    """Every link back, every node running, and every clock real: a node under libfaketime is
    restarted on the real clock (keep_clocks: its offset is set to zero instead and it stays
    under libfaketime, for the next clock test)."""
    done = []
    if "every link restored" in launcher("heal"):
        done.append("healed the partition")
    for row in node_rows():
        if row["clock"] is not None and keep_clocks:
            launcher("clock-node", str(row["node"]), "--", "+0s")
        elif row["clock"] is not None:
            node = str(row["node"])
            if row["state"] == "paused":
                launcher("resume-node", node)
            launcher("stop-node", node)
            done.append(f"restarted node {node} on the real clock")
    return done + restore_nodes()


def server_alarm() -> int:
    return len(server_violations("cluster"))


async def run_faults(
    started: float, faults: Sequence[Fault], done: list[str], relative: bool = False
) -> None:
    """Each fault at its offset from the start; `relative`: from the end of the fault before
    (a membership change's duration is not known beforehand)."""
    previous_end = started
    for at, command in faults:
        origin = previous_end if relative else started
        await asyncio.sleep(max(0.0, origin + at - time.monotonic()))
        began = time.monotonic() - started
        await alauncher(*command, timeout=FAULT_COMMAND_BUDGET_S)
        previous_end = time.monotonic()
        done.append(
            f"{began:.0f}s-{previous_end - started:.0f}s {' '.join(command)}"
            if relative
            else f"{previous_end - started:.0f}s {' '.join(command)}"
        )


# ------------------------------------------------------------------------------------------------
# Churn


@dataclass
class ChurnRun:
    row: FaultRow
    check: CheckReport
    report: ChurnReport
    lost: list[str]
    duplicated: list[str]
    foreign: list[str]
    half: list[str]
    faults_done: list[str]
    resurrected: list[str]  # profiles of deleted users found again at the end
    lost_edits: list[str]  # holders whose profile is older than an acknowledged edit
    leftovers: list[str]  # profiles a delete reported it could not remove, still there


async def churn_through(
    connection: Connection,
    fault: str,
    seconds: float,
    faults: Sequence[Fault],
    plan: ChurnPlan | None = None,
    keep_clocks: bool = False,
    churn_after_faults_s: float | None = None,
) -> ChurnRun:
    """`churn_after_faults_s`: the faults' offsets are relative (each from the end of the one
    before), `seconds` is only a ceiling, and the churn stops this long after the last fault
    ended: a fault of unknown duration (a bootstrap) then always happens mid-churn."""
    plan = plan or ChurnPlan(clients=16, seconds=seconds)
    plan = ChurnPlan(**{**plan.__dict__, "keep": True})  # the final reads need the state
    recorder = HistoryRecorder()
    registry = Registry(connection)
    alarms_before = await asyncio.to_thread(server_alarm)
    failed_at: list[float] = []

    def note_failure(_operation: str, answer: str) -> None:
        if answer in FAILED_ANSWERS:
            failed_at.append(time.monotonic() - started)

    churn = Churn([registry], plan, recorder, on_answer=note_failure)
    started = time.monotonic()
    run = asyncio.ensure_future(churn.run())
    faults_done: list[str] = []
    try:
        await run_faults(started, faults, faults_done, relative=churn_after_faults_s is not None)
        if churn_after_faults_s is not None:
            assert not run.done(), f"the churn ended before its last fault: {faults_done}"
            await asyncio.sleep(churn_after_faults_s)
            churn.stop()
        report = await asyncio.wait_for(run, plan.seconds + 300)
    finally:
        if not run.done():
            run.cancel()
        await asyncio.to_thread(restore_everything, keep_clocks)
    await wait_healed(connection)
    await asyncio.sleep(SETTLE_S)
    holders, owners, profiles = await final_reads(churn, registry, recorder, plan.clients + 1)
    HISTORIES.mkdir(parents=True, exist_ok=True)
    saved = HISTORIES / f"{slug(fault)}.jsonl"
    recorder.write_jsonl(saved)  # `registry check FILE` checks it again
    check = await asyncio.to_thread(check_history, recorder.history(), budget=FAULT_BUDGET)
    server = await asyncio.to_thread(server_alarm) - alarms_before
    elapsed = time.monotonic() - started

    operations = recorder.operations()
    deleted = {
        op.args["user_id"]
        for op in operations
        if op.f == "delete" and op.kind == "name" and op.outcome in ("ok", "unknown")
    }
    registered = {op.args["user_id"] for op in operations if op.f == "register"}
    lost = [
        f"{op.key} {op.args['user_id']}"
        for op in operations
        if op.f == "register"
        and op.result == "ok"
        and (holders.get(op.key) or ("", ""))[1] != op.args["user_id"]
        and op.args["user_id"] not in deleted
    ]
    by_email: dict[str, list[str]] = defaultdict(list)
    foreign, half = [], []
    for key, holder in holders.items():
        if holder is None:
            continue
        email, uid = holder
        by_email[email].append(key)
        if uid not in registered:
            foreign.append(key)
        if owners.get(email) != uid:
            half.append(f"{key}: claim of {email} held by {owners.get(email)}")
    duplicated = [f"{email}: {keys}" for email, keys in by_email.items() if len(keys) > 1]
    # A deleted user's profile still there at the end: brought back if the delete said its
    # clean-up was done; left over (and said so: Deleted.leftovers) if the clean-up was cut off.
    cleaned = {
        op.key.split(":", 1)[1]
        for op in operations
        if op.f == "delete" and op.kind == "profile" and op.result == "ok"
    }
    resurrected = [
        f"profile of deleted {uid}: version {profiles[uid]}"
        for uid in sorted(deleted_ok(operations) & cleaned)
        if profiles.get(uid) is not None
    ]
    leftovers = [
        f"profile of deleted {uid}: version {profiles[uid]}"
        for uid in sorted(deleted_ok(operations) - cleaned)
        if profiles.get(uid) is not None
    ]
    newest_edit: dict[str, int] = {}
    for op in operations:
        if op.f == "update" and op.result == "ok":
            uid = op.key.split(":", 1)[1]
            newest_edit[uid] = max(newest_edit.get(uid, 0), int(op.args["expected"]) + 1)
    lost_edits = [
        f"{uid}: acknowledged version {version}, found {profiles.get(uid)}"
        for uid, version in newest_edit.items()
        if uid in {h[1] for h in holders.values() if h} and (profiles.get(uid) or 0) < version
    ]
    acknowledged = sum(
        1
        for op in operations
        if op.result == "ok"
        and (op.f in ("register", "update") or (op.f == "delete" and op.kind == "name"))
    )
    answers = Counter({a: n for (_, a), n in report.answers.items()})
    row = FaultRow(
        fault=fault,
        workload=f"churn {plan.mix}, {plan.clients} clients, "
        f"{report.elapsed_s if report.stopped else plan.seconds:.0f} s",
        operations=check.operations,
        acknowledged=acknowledged,
        unknown=answers["Unknown"],
        resolved=sum(1 for op in operations if op.raw),
        checker=check.violations,
        server=server,
        lost=len(lost),
        duplicated=len(duplicated),
        seconds=elapsed,
        leftovers=len(leftovers),
    )
    FIGURES.append(row)
    FAULT_LOG.append(
        f"{fault} (churn): faults {faults_done}; failed answers by time: "
        f"{failures_by_window(failed_at) or 'none'}"
    )
    print(
        f"{fault}: {row.line()}\nfaults: {faults_done}\nanswers: {dict(report.answers)}\n"
        f"verdict {check.verdict}; violating: {[k.to_json() for k in check.violating()[:1]]}\n"
        f"profiles left over by deletes cut off mid-clean-up (reported to their callers): "
        f"{leftovers}"
    )
    return ChurnRun(
        row,
        check,
        report,
        lost,
        duplicated,
        foreign,
        half,
        faults_done,
        resurrected,
        lost_edits,
        leftovers,
    )


def assert_clean(run: ChurnRun) -> None:
    """Linearizable, the server agreeing, and nothing lost, duplicated or brought back."""
    check = run.check
    assert run.report.operations > 200, run.report.answers
    # The checker and the server's Paxos must agree; a difference is a finding.
    assert (run.row.server > 0) == (check.violations > 0), (run.row.server, check.violations)
    assert check.violations == 0, [k.to_json() for k in check.violating()[:2]]
    assert check.verdict == "linearizable", check.to_json()
    assert run.lost == [], run.lost
    assert run.duplicated == [], run.duplicated
    assert run.foreign == [] and run.half == [], (run.foreign, run.half)
    assert run.resurrected == [], run.resurrected
    assert run.lost_edits == [], run.lost_edits


def deleted_ok(operations: Sequence[Operation]) -> set[str]:
    """The users a delete was acknowledged for (their profile must stay gone)."""
    return {
        op.args["user_id"]
        for op in operations
        if op.f == "delete" and op.kind == "name" and op.result == "ok"
    }


async def final_reads(
    churn: Churn, registry: Registry, recorder: HistoryRecorder, process: int
) -> tuple[dict[str, tuple[str, str] | None], dict[str, str | None], dict[str, int | None]]:
    """Once healed, every name, every address, and the profile of every identity a
    registration was sent for (held, deleted or never committed) read at SERIAL, recorded into
    the run's history. Returns name key -> (e-mail key, holder id) or None, e-mail key ->
    owner id or None, and user id -> profile version or None."""
    holders: dict[str, tuple[str, str] | None] = {}
    owners: dict[str, str | None] = {}
    profiles: dict[str, int | None] = {}
    for name in churn.names:
        key = churn.name_key(name)
        handle = recorder.invoke(process, "read", key, {})
        holder = await eventually(
            f"SERIAL read of {name}",
            lambda n=name: registry.get_user_serial(n),  # type: ignore[misc]
        )
        recorder.complete(handle, "ok", {"holder": str(holder.user_id) if holder else None})
        holders[key] = (
            None if holder is None else (churn.email_key(holder.email), str(holder.user_id))
        )
    for email in churn.emails:
        key = churn.email_key(email)
        handle = recorder.invoke(process, "read", key, {})
        owner = await eventually(
            f"claim of {email}",
            lambda e=email: registry.get_email_owner(e),  # type: ignore[misc]
        )
        owners[key] = str(owner.user_id) if owner else None
        recorder.complete(handle, "ok", {"holder": owners[key]})
    identities = sorted({op.args["user_id"] for op in recorder.operations() if op.f == "register"})
    semaphore = asyncio.Semaphore(16)

    async def read_profile(uid: str, reader: int) -> None:
        async with semaphore:
            handle = recorder.invoke(reader, "read", f"profile:{uid}", {})
            profile = await eventually(
                f"profile {uid}",
                lambda: registry.get_profile_serial(uuid.UUID(uid)),
            )
            # The first version has no bio (its writer is FIRST_WRITER); an edit's bio is
            # its token.
            value = (
                None
                if profile is None
                else {"version": profile.version, "writer": profile.bio or FIRST_WRITER}
            )
            recorder.complete(handle, "ok", value)
            profiles[uid] = None if profile is None else profile.version

    # One reader process per concurrent read: a process's operations must not overlap.
    await asyncio.gather(*(read_profile(uid, process + 1 + i) for i, uid in enumerate(identities)))
    return holders, owners, profiles


# ------------------------------------------------------------------------------------------------
# Land-grab


@dataclass
class LandGrabRun:
    row: FaultRow
    clean: bool
    problems: list[str]
    faults_done: list[str]
    races: int


async def land_grab_through(
    connection: Connection,
    fault: str,
    faults: Sequence[Fault],
    races: int = 400,
    keep_clocks: bool = False,
    race_after_faults_s: float | None = None,
) -> LandGrabRun:
    """`race_after_faults_s`: the faults' offsets are relative (each from the end of the one
    before), `races` is only a ceiling, and no race starts once this long has passed after the
    last fault ended (the races in flight finish and are audited)."""
    events: list[RaceEvent] = []
    attack = Attack(connection, AttackPlan(races=races, clones=7, concurrency=16, keep=True))
    alarms_before = await asyncio.to_thread(server_alarm)
    started = time.monotonic()
    task = asyncio.ensure_future(attack.run(on_event=events.append))
    faults_done: list[str] = []
    error: BaseException | None = None
    try:
        await run_faults(started, faults, faults_done, relative=race_after_faults_s is not None)
        assert not task.done() or not faults, "the land-grab ended before its last fault"
        if race_after_faults_s is not None:
            await asyncio.sleep(race_after_faults_s)
            attack.stop()
        try:
            report = await asyncio.wait_for(task, 600)
        except Exception as exc:  # the engine stops when even its SERIAL reads fail
            report, error = None, exc
    finally:
        if not task.done():
            task.cancel()
        await asyncio.to_thread(restore_everything, keep_clocks)
    await wait_healed(connection)
    await asyncio.sleep(SETTLE_S)
    attempts = attempts_of(attack, events)
    final, resolved = await resolve(connection, attempts)
    unwritten = await complete_unwritten(connection, final)
    result = await audit(connection, final)
    history = attack.history
    server = await asyncio.to_thread(server_alarm) - alarms_before
    told = Counter(a.told for a in attempts)
    races_run = len({e.race for e in events if isinstance(e, RaceStarted)})
    row = FaultRow(
        fault=fault,
        workload=f"land-grab, {races_run} names x 8 contenders",
        operations=history.operations if history else len(attempts),
        acknowledged=told["won"],
        unknown=told["unknown"] + told["misreported"],
        resolved=resolved + (report.unknown_resolved if report else 0),
        checker=history.violations if history else -1,
        server=server,
        lost=len(result.lost),
        duplicated=len(result.duplicated),
        seconds=time.monotonic() - started,
    )
    FIGURES.append(row)
    problems = list(result.problems)
    if error is not None:
        problems.append(f"the engine stopped: {type(error).__name__}: {error}")
    if history is None:
        problems.append("the engine checked no history")
    elif history.violations:
        problems.append(f"history: {[k.to_json() for k in history.violating()[:1]]}")
    reported = report.profiles_unwritten if report is not None else 0
    if len(unwritten) > reported:
        problems.append(
            f"{len(unwritten)} winners had no profile, the engine reported {reported}: "
            f"{unwritten[:5]}"
        )
    if report is not None and not report.clean:
        problems.append(f"engine audit: {[v.describe() for v in report.violations[:3]]}")
    took = report.unknown_held if report is not None else 0
    FAULT_LOG.append(
        f"{fault} (land-grab): faults {faults_done}; unknown attempts that took their name: {took}"
    )
    print(
        f"{fault}: {row.line()}\nfaults: {faults_done}\nproblems: {problems}\n"
        f"winners' profiles not written in the run (reported, written after healing): "
        f"{len(unwritten)}"
    )
    return LandGrabRun(row, not problems, problems, faults_done, races_run)


async def complete_unwritten(connection: Connection, attempts: Sequence[Attempt]) -> list[str]:
    """After healing, what running the registration again does for a winner whose profile the
    database refused during the fault (the engine told it "won" and counted it in
    `profiles_unwritten`): write the profile. Returns the names that needed it."""
    registry = Registry(connection)
    needed: list[str] = []

    async def one(a: Attempt) -> None:
        holder = await eventually(
            f"SERIAL read of {a.username}", lambda: registry.get_user_serial(a.username)
        )
        if holder is None or holder.user_id != a.user_id:
            return  # the audit reports it as lost
        profile = await eventually(
            f"profile of {a.username}", lambda: registry.get_profile_serial(a.user_id)
        )
        if profile is None:
            needed.append(a.username)
            done = await eventually(
                f"completing {a.username}", lambda: registry.complete_registration(holder)
            )
            assert isinstance(done, Registered) and not done.incomplete, done

    await _bounded(one(a) for a in attempts if a.told == "won")
    return needed


def unique_tag() -> str:
    return uuid.uuid4().hex[:6]
