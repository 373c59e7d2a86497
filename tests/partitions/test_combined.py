"""All the faults on one schedule, one every ~10 s, under churn: a pause, a partition that
isolates a node, a clock moved 30 s back then right, a bridge, a kill and restart; everything
healed before the end; the history checked (with every name, address and profile read again
at SERIAL once healed), the server's alarm compared, nothing lost, nothing duplicated.
(Membership changes are not in the schedule: see docs/guarantees.md.)"""

from __future__ import annotations

import asyncio

import pytest

from registry_tui.core.store import Connection
from registry_tui.race.churn import ChurnPlan
from tests.faults.conftest import alauncher
from tests.partitions.test_clock_skew import start_skewed
from tests.partitions.workload import (
    Fault,
    assert_clean,
    churn_through,
    node_rows,
    restore_everything,
)

pytestmark = [pytest.mark.db]

SCHEDULE: list[Fault] = [
    (5.0, ("pause-node", "3")),
    (12.0, ("resume-node", "3")),
    (16.0, ("partition", "1|2,3")),
    (26.0, ("heal",)),
    (29.0, ("clock-node", "2", "--", "-30s")),
    (39.0, ("clock-node", "2", "--", "+0s")),
    (41.0, ("partition", "bridge 2")),
    (49.0, ("heal",)),
    (52.0, ("kill-node", "3")),
    (60.0, ("start-node", "3")),
]


@pytest.mark.timeout(900)
async def test_churn_through_every_fault_on_a_schedule(
    real_clocks: None, cluster_connection: Connection
) -> None:
    await asyncio.to_thread(restore_everything, True)
    clocks = {r["node"]: r["clock"] for r in await asyncio.to_thread(node_rows)}
    if clocks.get(2) is None:  # run alone: node 2 must run under libfaketime
        await alauncher("stop-node", "2")
        await start_skewed(2, "+0s")
    try:
        plan = ChurnPlan(clients=16, seconds=66)
        run = await churn_through(
            cluster_connection,
            "combined: pause, partition, clock, bridge, kill",
            66,
            SCHEDULE,
            plan,
            keep_clocks=True,
        )
    finally:
        await asyncio.to_thread(restore_everything)
    assert len(run.faults_done) == len(SCHEDULE), run.faults_done
    assert_clean(run)
