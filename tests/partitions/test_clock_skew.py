"""One node's wall clock wrong (libfaketime; monotonic time stays real): node 2 30 s
behind, then moved 30 s ahead, then jumping back and forth mid-run. The registration writes a
profile's first version at timestamp 1 and a delete buries it at timestamp 2, while edits and
deletes are Paxos writes stamped by their ballot: a node whose clock lies must lose no edit and
bring no deleted profile back. Checked by the history (every profile of every identity read
again at SERIAL at the end) and counted directly (lost edits, resurrected profiles).

Node 2 is started under libfaketime 30 s behind, then 30 s ahead (a restart each: a node
that starts with a wrong clock), then at the right time with its clock jumping back and forth
while it runs, then moved 30 s back and jumping ahead under a land-grab. Only that node runs
under libfaketime (with its monotonic workaround off: launcher, faketime_env).

What a wrong clock does to Cassandra 5.0 first is not about timestamps: with
`internode_timeout` on (the default) a receiver expires a message by the sender's clock, so a
node more than a request timeout off drops, or has dropped, the messages it exchanges. And a
running node never stamps backwards: its write timestamps and now() stay where they were
when its clock is moved back (currentTimestamp() follows the clock both ways).
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
    node_rows,
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
    """The node whose clock these tests move; every clock real again after the module.

    The module's keyspace is made first (cluster_connection), on right clocks: schema changes
    are not what these tests are about."""
    try:
        yield SKEWED
    finally:
        await asyncio.to_thread(restore_everything)


async def skew(node: int, offset: str, restart: bool = False) -> float:
    """Put `node` at `offset`: started under libfaketime at it (when it runs on the real clock,
    or with `restart`), or moved there while it runs. Returns the offset the node shows."""
    rows = {r["node"]: r for r in await asyncio.to_thread(node_rows)}
    if restart or rows[node]["clock"] is None:
        await alauncher("stop-node", str(node))
        await start_skewed(node, offset)
        return await clock_of(node)
    return await move(node, offset)


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
    """Started 30 s behind. With internode_timeout on (Cassandra 5.0's default) every message
    the node sends looks 30 s old on arrival and is dropped as expired, and its echo never
    answered, it holds the others down: the cluster runs as if it were down. Healing restarts
    it on the real clock before the final reads."""
    shown = await skew(skewed, "-30s", restart=True)
    assert -33 < shown < -27, f"node {skewed}'s clock is {shown:+.1f}s off, not -30s"
    plan = ChurnPlan(clients=16, seconds=20, mix="edits", names=2, emails=8)
    run = await churn_through(cluster_connection, "clock: node 2 started 30 s behind", 20, [], plan)
    assert_clean(run)


@pytest.mark.timeout(600)
async def test_churn_with_a_node_30_s_ahead(skewed: int, cluster_connection: Connection) -> None:
    """Started 30 s ahead: now the others' messages look 30 s old to it. Healed as above."""
    shown = await skew(skewed, "+30s", restart=True)
    assert 27 < shown < 33, f"node {skewed}'s clock is {shown:+.1f}s off, not +30s"
    run = await churn_through(cluster_connection, "clock: node 2 started 30 s ahead", 20, [])
    assert_clean(run)


@pytest.mark.timeout(600)
async def test_churn_through_clock_jumps(skewed: int, cluster_connection: Connection) -> None:
    """Right, then 60 s back mid-run, then 60 s ahead, then right again: the node's Paxos
    ballots go back in time, then far forward."""
    shown = await skew(skewed, "+0s")
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
    shown = await skew(skewed, "-30s")
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
