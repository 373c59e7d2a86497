"""One node's wall clock wrong (libfaketime; monotonic time stays real): node 2 30 s
behind, then moved 30 s ahead, then jumping back and forth mid-run. The registration writes a
profile's first version at timestamp 1 and a delete buries it at timestamp 2, while edits and
deletes are Paxos writes stamped by their ballot: a node whose clock lies must lose no edit and
bring no deleted profile back. Checked by the history (every profile of every identity read
again at SERIAL at the end) and counted directly (lost edits, resurrected profiles).

Node 2 is restarted under libfaketime once for the module, 30 s behind, and its offset is then
moved by `clock-node` between and during the tests (no further restart). Only that node runs
under libfaketime: a JVM under it keeps about 27 threads runnable even at offset 0 (measured
with all three nodes under it: load average 86 on 2 cores, start-ups of 5-6 minutes).
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import AsyncIterator

import pytest
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import WhiteListRoundRobinPolicy

from registry_tui.core.store import Connection
from registry_tui.race.churn import ChurnPlan
from tests.faults.conftest import CLUSTER_PORT, alauncher, cql_answers
from tests.partitions.workload import (
    Fault,
    assert_clean,
    churn_through,
    land_grab_through,
    restore_everything,
)

pytestmark = [pytest.mark.db]

SKEWED = 2


def node_clock_offset(node: int) -> float:
    """The node's wall clock minus ours, in seconds, from `currentTimestamp()` as that node
    coordinates it.

    Not `now()` nor a server-assigned write timestamp: those two are monotonic inside a
    running node (a clock moved back leaves them where they were until real time catches up),
    while `currentTimestamp()` reads the wall clock as it is."""
    address = f"127.0.0.{node}"
    cluster = Cluster(
        [address],
        port=CLUSTER_PORT,
        load_balancing_policy=WhiteListRoundRobinPolicy([address]),
        protocol_version=5,
        # A JVM under libfaketime answers slowly on these loaded cores.
        connect_timeout=20,
        control_connection_timeout=20,
    )
    try:
        session = cluster.connect()
        before = time.time()
        row = session.execute("SELECT currentTimestamp() AS t FROM system.local").one()
        after = time.time()
    finally:
        cluster.shutdown()
    stamp = row.t if row.t.tzinfo else row.t.replace(tzinfo=datetime.timezone.utc)
    return float(stamp.timestamp()) - (before + after) / 2


async def clock_of(node: int) -> float:
    for attempt in range(3):
        try:
            return await asyncio.to_thread(node_clock_offset, node)
        except NoHostAvailable:
            if attempt == 2:
                raise
            await asyncio.sleep(5)
    raise AssertionError("unreachable")


async def move(node: int, offset: str) -> float:
    await alauncher("clock-node", str(node), "--", offset)
    await asyncio.sleep(2.0)  # libfaketime reads its file again at most every second
    return await clock_of(node)


@pytest.fixture(scope="module")
async def skewed(real_clocks: None, cluster_connection: Connection) -> AsyncIterator[int]:
    """Node 2 restarted under libfaketime, 30 s behind, for the module; left under it at
    offset 0 for the combined schedule (the next module), which restarts it on the real clock.

    The module's keyspace is made first (cluster_connection), on right clocks: schema changes
    are not what these tests are about."""
    await asyncio.to_thread(restore_everything)
    await alauncher("stop-node", str(SKEWED))
    try:
        await start_skewed(SKEWED, "-30s")
        yield SKEWED
    finally:
        await asyncio.to_thread(restore_everything, True)


async def start_skewed(node: int, offset: str) -> None:
    """Start `node` under libfaketime; on a loaded machine its start-up may outlast the
    launcher's own wait, so CQL is awaited again before giving up."""
    try:
        await alauncher("start-node", str(node), f"--clock={offset}", timeout=500)
    except RuntimeError as exc:
        if "did not answer CQL" not in str(exc):
            raise
        deadline = time.monotonic() + 300
        while not cql_answers(f"127.0.0.{node}", CLUSTER_PORT):
            assert time.monotonic() < deadline, f"node {node} never answered: {exc}"
            await asyncio.sleep(2)


@pytest.mark.timeout(600)
async def test_churn_with_a_node_30_s_behind(skewed: int, cluster_connection: Connection) -> None:
    shown = await clock_of(skewed)
    assert -33 < shown < -27, f"node {skewed}'s clock is {shown:+.1f}s off, not -30s"
    plan = ChurnPlan(clients=16, seconds=20, mix="edits", names=2, emails=8)
    run = await churn_through(
        cluster_connection, "clock: node 2 started 30 s behind", 20, [], plan, keep_clocks=True
    )
    assert_clean(run)


@pytest.mark.timeout(600)
async def test_churn_with_a_node_30_s_ahead(skewed: int, cluster_connection: Connection) -> None:
    shown = await move(skewed, "+30s")
    assert 27 < shown < 33, f"node {skewed}'s clock is {shown:+.1f}s off, not +30s"
    run = await churn_through(
        cluster_connection, "clock: node 2 30 s ahead", 20, [], keep_clocks=True
    )
    assert_clean(run)


@pytest.mark.timeout(600)
async def test_churn_through_clock_jumps(skewed: int, cluster_connection: Connection) -> None:
    """Right, then 60 s back mid-run, then 60 s ahead, then right again: the node's Paxos
    ballots go back in time, then far forward."""
    shown = await move(skewed, "+0s")
    assert abs(shown) < 3, shown
    node = str(skewed)
    faults: list[Fault] = [
        (5.0, ("clock-node", node, "--", "-60s")),
        (12.0, ("clock-node", node, "--", "+60s")),
        (19.0, ("clock-node", node, "--", "+0s")),
    ]
    plan = ChurnPlan(clients=16, seconds=24, mix="edits", names=2, emails=8)
    run = await churn_through(
        cluster_connection,
        "clock: node 2 jumps -60 s, +60 s, back",
        24,
        faults,
        plan,
        keep_clocks=True,
    )
    assert len(run.faults_done) == 3
    assert_clean(run)


@pytest.mark.timeout(900)
async def test_land_grab_with_a_node_behind_then_jumping_ahead(
    skewed: int, cluster_connection: Connection
) -> None:
    shown = await move(skewed, "-30s")
    assert -33 < shown < -27, shown
    faults: list[Fault] = [(8.0, ("clock-node", str(skewed), "--", "+30s"))]
    run = await land_grab_through(
        cluster_connection,
        "clock: node 2 30 s behind, jumps 30 s ahead",
        faults,
        keep_clocks=True,
    )
    assert run.clean, run.problems
    assert run.row.lost == 0 and run.row.duplicated == 0
    assert (run.row.server > 0) == (run.row.checker > 0), (run.row.server, run.row.checker)
