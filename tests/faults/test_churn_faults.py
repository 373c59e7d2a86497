"""Churn on the 3-node cluster (RF 3): contention alone makes conditional writes time out there,
and a node killed or paused mid-run adds lost connections and unavailability. Every answer the
registry gave is checked against one order of all the operations (linearizability), per name,
e-mail and profile. A history that passes here is the proof that unknown means unknown: an
applied edit answered "refused", or two successes of one deletion, make it fail.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import pytest

from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from registry_tui.proof import CheckReport, HistoryRecorder, check_history
from registry_tui.race.churn import Churn, ChurnPlan, ChurnReport
from tests.faults.conftest import alauncher, launcher, restore_cluster


def server_alarm() -> int:
    """How many linearizability violations the cluster's nodes have logged so far (every node
    runs with paxos_on_linearizability_violations: log)."""
    return len(json.loads(launcher("violations", "--json")))


pytestmark = pytest.mark.db


Fault = tuple[float, tuple[str, ...]]


async def churn(
    connection: Connection,
    seconds: float,
    faults: tuple[Fault, ...] = (),
    plan: ChurnPlan | None = None,
) -> tuple[ChurnReport, CheckReport]:
    """Churn for `seconds`, running each launcher command of `faults` at its offset."""
    recorder = HistoryRecorder()
    plan = plan or ChurnPlan(clients=16, seconds=seconds)
    alarms_before = await asyncio.to_thread(server_alarm)
    run = asyncio.ensure_future(Churn([Registry(connection)], plan, recorder).run())
    started = time.monotonic()
    try:
        for at, command in faults:
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            await alauncher(*command)
        report = await asyncio.wait_for(run, seconds + 300)
    finally:
        if not run.done():
            run.cancel()
        await asyncio.to_thread(restore_cluster)
    check = await asyncio.to_thread(check_history, recorder.history())
    server = await asyncio.to_thread(server_alarm) - alarms_before
    results = Counter(op.result for op in recorder.operations())
    raw = sum(1 for op in recorder.operations() if op.raw)
    print(
        f"churn {seconds:g}s: {check.operations} operations on {len(check.keys)} keys, "
        f"{results['unknown']} unknown, {raw} answered after an ambiguous try; "
        f"verdict {check.verdict} in {check.seconds:.2f}s; the server's own alarm: {server} "
        f"violation(s) logged; answers {dict(report.answers)}"
    )
    # The checker and the server's Paxos must agree; a difference is a finding.
    assert (server > 0) == (check.violations > 0), (server, check.violations)
    return report, check


@pytest.mark.timeout(600)
async def test_churn_on_the_cluster_with_no_fault_is_linearizable(
    cluster_connection: Connection,
) -> None:
    report, check = await churn(cluster_connection, 20)
    assert report.operations > 300
    assert check.violations == 0, [k.to_json() for k in check.violating()[:2]]
    assert check.verdict == "linearizable", check.to_json()


@pytest.mark.timeout(900)
async def test_churn_through_a_kill_and_a_pause_is_linearizable(
    cluster_connection: Connection,
) -> None:
    faults = (
        (4.0, ("kill-node", "2")),
        (12.0, ("start-node", "2")),
        (20.0, ("pause-node", "3")),
        (26.0, ("resume-node", "3")),
    )
    report, check = await churn(cluster_connection, 32, faults)
    assert report.operations > 300
    assert check.violations == 0, [k.to_json() for k in check.violating()[:2]]
    assert check.verdict == "linearizable", check.to_json()


@pytest.mark.timeout(600)
async def test_many_clients_editing_one_profile_while_its_user_is_deleted_is_linearizable(
    cluster_connection: Connection,
) -> None:
    """The shape that found an applied edit answered "refused" on this cluster with no fault:
    one name, 16 clients, four calls in five an edit of the holder's profile. (Eight addresses,
    not one: an unknown registration keeps its claim for its grace period, which would stop
    every registration on a single address, and with it the edits.)"""
    plan = ChurnPlan(clients=16, seconds=15, names=1, emails=8, mix="edits")
    report, check = await churn(cluster_connection, 15, plan=plan)
    # Edits the database answered (not those that found no holder or no profile to edit).
    sent = ("Updated", "VersionConflict", "NotFound", "Unknown")
    assert sum(n for (op, a), n in report.answers.items() if op == "update" and a in sent) > 50
    assert check.violations == 0, [k.to_json() for k in check.violating()[:2]]
    assert check.verdict == "linearizable", check.to_json()
