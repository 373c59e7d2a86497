"""Membership changes on the 3-node cluster (RF=3) under load: a 4th node bootstraps into the
ring mid-churn (it takes over part of node 1's range, streamed to it while clients keep
registering, deleting and editing), then it is decommissioned (it streams that range back
and leaves). Both are real: `add-node` and `decommission` of scripts/cassandra_local.py, which
wait until the ring (nodetool status) shows the change done.

The land-grab races names through the same two changes: one winner per name, every
acknowledged winner still holds its name on the 3 nodes that remain.

The churn keeps running until a few seconds after the decommission ended, however long the two
changes took, so both always happen mid-churn. The history is checked, the server's own alarm
is read beside the checker's verdict, and every name, address and profile is read again at
SERIAL on the 3 nodes that remain: nothing lost, nothing duplicated.

Run with `make test-membership` (a namespace and a cluster of its own; see the Makefile).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from registry_tui.core.store import Connection
from registry_tui.race.churn import ChurnPlan
from tests.faults.conftest import launcher
from tests.partitions.workload import (
    FAULT_COMMAND_BUDGET_S,
    Fault,
    assert_clean,
    churn_through,
    land_grab_through,
)

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("healthy", "three_members")]

ADDED = "4"  # the node `add-node` bootstraps: 127.0.0.4, the middle of node 1's range


def ring() -> dict[str, str]:
    ring: dict[str, str] = json.loads(launcher("ring", "--json"))
    return ring


def back_to_three() -> list[str]:
    """Nodes 1-3 the ring again, whatever a run left: an original node that left bootstrapped
    back (node 4 must still be a member then: three replicas stream to it), node 4
    decommissioned if it still runs."""
    done = []
    rows = json.loads(launcher("status", "--json"))
    states = {str(r["node"]): r["state"] for r in rows if r["layout"] == "cluster"}
    for node, state in sorted(states.items()):
        if state == "paused":
            launcher("resume-node", node)
    for node in ("2", "3"):
        if states.get(node) == "left":
            launcher("add-node", node, timeout=FAULT_COMMAND_BUDGET_S)
            done.append(f"bootstrapped node {node} back")
    if states.get(ADDED) in ("running", "paused"):
        launcher("decommission", ADDED, timeout=FAULT_COMMAND_BUDGET_S)
        done.append(f"decommissioned node {ADDED}")
    return done


@pytest.fixture
def three_members() -> Iterator[None]:
    """Exactly nodes 1-3 in the ring before the test and after it."""
    back_to_three()
    assert ring() == {f"127.0.0.{n}": "UN" for n in (1, 2, 3)}, ring()
    try:
        yield
    finally:
        back_to_three()
        assert ring() == {f"127.0.0.{n}": "UN" for n in (1, 2, 3)}, ring()


async def churn_through_schedule(
    connection: Connection, fault: str, schedule: list[Fault], ceiling_s: float = 2400
) -> None:
    """Churn with 8 clients through `schedule`, going on 5 s after its last change; every
    change done, nodes 1-3 the ring again, history checked, the server's alarm compared,
    every name, address and profile read again at SERIAL. `ceiling_s` bounds the churn if a
    change never ends."""
    plan = ChurnPlan(clients=8, seconds=ceiling_s)
    run = await churn_through(
        connection, fault, plan.seconds, schedule, plan, churn_after_faults_s=5.0
    )
    assert len(run.faults_done) == len(schedule), run.faults_done
    assert run.report.stopped, "the churn ran out before the schedule ended"
    assert ring() == {f"127.0.0.{n}": "UN" for n in (1, 2, 3)}, ring()
    assert_clean(run)


@pytest.mark.timeout(2400)
async def test_churn_through_a_bootstrap_and_a_decommission(cluster_connection: Connection) -> None:
    """Node 4 bootstraps 5 s into the churn; 10 s after it is Up/Normal it is decommissioned;
    the churn goes on 5 s after it left. Offsets are from the end of the change before."""
    faults: list[Fault] = [(5.0, ("add-node",)), (10.0, ("decommission", ADDED))]
    await churn_through_schedule(
        cluster_connection,
        "membership: node 4 bootstraps, then is decommissioned",
        faults,
        ceiling_s=1500,
    )


# Jepsen's other membership change: an original member leaves and comes back with its data
# wiped. Node 4 joins first (at RF=3 the cluster cannot lose one of three) and is cut off from
# the other three for 8 s, node 2 is decommissioned (its data removed), bootstrapped back empty
# under its own token, and node 4 leaves again. Offsets count from the end of the change
# before.
REPLACED: list[Fault] = [
    (5.0, ("add-node",)),
    (3.0, ("partition", f"{ADDED}|1,2,3")),  # the newcomer cut off from every other member
    (8.0, ("heal",)),
    (10.0, ("decommission", "2")),
    (5.0, ("add-node", "2")),
    (5.0, ("decommission", ADDED)),
]


@pytest.mark.timeout(3000)
async def test_churn_through_an_original_node_leaving_and_coming_back_wiped(
    cluster_connection: Connection,
) -> None:
    """Node 2, a member since the start, streams its ranges away and leaves, then bootstraps
    back with nothing on disk while clients keep registering, deleting and editing; node 4
    holds the third replica meanwhile. History checked, server's alarm compared, every name,
    address and profile read again at SERIAL on nodes 1-3."""
    await churn_through_schedule(
        cluster_connection,
        "membership: node 4 joins, node 2 leaves and comes back wiped, node 4 leaves",
        REPLACED,
    )


# A ceiling only: the land-grab stops racing 5 s after the decommission ended (about 10 races
# a second here, against 1.5-2 min for the bootstrap and 1-1.5 min for the decommission).
LAND_GRAB_RACES = 20000


@pytest.mark.timeout(2400)
async def test_land_grab_through_a_bootstrap_and_a_decommission(
    cluster_connection: Connection,
) -> None:
    """Node 4 bootstraps 3 s into the race and is decommissioned 3 s after it has joined; no
    race starts 5 s after it left."""
    faults: list[Fault] = [(3.0, ("add-node",)), (3.0, ("decommission", ADDED))]
    run = await land_grab_through(
        cluster_connection,
        "membership: node 4 bootstraps, then is decommissioned",
        faults,
        races=LAND_GRAB_RACES,
        race_after_faults_s=5.0,
    )
    assert len(run.faults_done) == 2, run.faults_done
    assert 0 < run.races < LAND_GRAB_RACES, run.races
    assert ring() == {f"127.0.0.{n}": "UN" for n in (1, 2, 3)}, ring()
    assert run.clean, run.problems
    assert run.row.lost == 0 and run.row.duplicated == 0
    assert (run.row.server > 0) == (run.row.checker > 0), (run.row.server, run.row.checker)


# All five faults on one schedule, under churn. Offsets count from the end of the step before
# (a bootstrap or a decommission takes minutes here, so fixed offsets cannot place them). Every
# fault is healed before the next, and before the membership changes start: a decommission
# must stream its ranges to nodes that answer. Node 2's clock is skewed by restarting it under
# libfaketime 30 s behind, then on the real clock again.
COMBINED: list[Fault] = [
    (5.0, ("pause-node", "3")),
    (8.0, ("resume-node", "3")),
    (3.0, ("partition", "1|2,3")),
    (8.0, ("heal",)),
    (3.0, ("stop-node", "2")),
    (0.0, ("start-node", "2", "--clock=-30s")),
    (8.0, ("stop-node", "2")),
    (0.0, ("start-node", "2")),
    (3.0, ("kill-node", "3")),
    (5.0, ("start-node", "3")),
    (3.0, ("add-node",)),
    (3.0, ("partition", "bridge 2")),
    (8.0, ("heal",)),
    (3.0, ("decommission", ADDED)),
]


@pytest.mark.timeout(3000)
async def test_churn_through_all_five_faults_on_one_schedule(
    cluster_connection: Connection,
) -> None:
    """Pause, partition, clock skew, kill, then a bootstrap with a bridge cut while node 4 is a
    member, then its decommission; the churn goes on 5 s after the last change. History
    checked, server's alarm compared, every name, address and profile read again at SERIAL."""
    await churn_through_schedule(
        cluster_connection,
        "combined with membership: pause, partition, clock, kill, bootstrap, bridge, decommission",
        COMBINED,
    )
