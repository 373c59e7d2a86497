"""Network partitions on the 3-node cluster (RF=3), cut by nftables inside the namespace:
a minority isolated, a majority/minority split that heals, a bridge and flapping links, under
the churn workload and the land-grab race. Every history is checked, the server's own alarm is
read beside the checker's verdict, and after healing every acknowledged registration is read
again at SERIAL: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import pytest

from registry_tui.core.store import Connection
from registry_tui.race.churn import ChurnPlan
from tests.partitions.workload import (
    ChurnRun,
    Fault,
    assert_clean,
    churn_through,
    land_grab_through,
)

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("healthy")]


def failed_answers(run: ChurnRun) -> int:
    return sum(
        n for (_, answer), n in run.report.answers.items() if answer in ("unavailable", "error")
    ) + sum(n for (_, answer), n in run.report.answers.items() if answer == "Unknown")


@pytest.mark.timeout(600)
async def test_churn_with_a_minority_isolated(cluster_connection: Connection) -> None:
    """Node 1 cut from 2 and 3 for 12 s: what node 1 coordinates fails (unavailable, or
    unknown while gossip still thinks its peers alive); nothing it answered is wrong."""
    faults: list[Fault] = [(4.0, ("partition", "1|2,3")), (16.0, ("heal",))]
    run = await churn_through(cluster_connection, "minority isolated (1 | 2,3)", 24, faults)
    assert len(run.faults_done) == 2
    assert failed_answers(run) > 0, f"the partition did not bite: {run.report.answers}"
    assert_clean(run)


@pytest.mark.timeout(900)
async def test_land_grab_through_a_split_that_heals(cluster_connection: Connection) -> None:
    """Nodes 1,2 | 3 mid-race, healed mid-race: one winner per name, every acknowledged
    winner holds its name after the heal, the race's history is linearizable."""
    faults: list[Fault] = [(3.0, ("partition", "1,2|3")), (15.0, ("heal",))]
    run = await land_grab_through(cluster_connection, "majority/minority (1,2 | 3), healed", faults)
    assert len(run.faults_done) == 2
    assert run.clean, run.problems
    assert run.row.lost == 0 and run.row.duplicated == 0
    assert (run.row.server > 0) == (run.row.checker > 0), (run.row.server, run.row.checker)


@pytest.mark.timeout(600)
async def test_churn_across_a_bridge(cluster_connection: Connection) -> None:
    """1-2 and 2-3 up, 1-3 cut: gossip still sees everyone up (through node 2), but nodes 1
    and 3 cannot talk, so their Paxos rounds need node 2 and time out when it is slow."""
    faults: list[Fault] = [(4.0, ("partition", "bridge 2")), (16.0, ("heal",))]
    plan = ChurnPlan(clients=16, seconds=24, mix="edits", names=2, emails=8)
    run = await churn_through(cluster_connection, "bridge (1-2-3, 1-3 cut)", 24, faults, plan)
    assert_clean(run)


@pytest.mark.timeout(600)
async def test_churn_through_flapping_links(cluster_connection: Connection) -> None:
    """A different partition every 3 s (every node isolated in turn, a bridge, healed between),
    healed before the end."""
    specs = ["1|2,3", "heal", "2|1,3", "bridge 1", "3|1,2", "heal", "1,3|2", "bridge 3"]
    faults: list[Fault] = [
        (3.0 + 3.0 * i, ("heal",) if spec == "heal" else ("partition", spec))
        for i, spec in enumerate(specs)
    ]
    faults.append((3.0 + 3.0 * len(specs), ("heal",)))
    run = await churn_through(cluster_connection, "flapping (8 changes, 3 s apart)", 32, faults)
    assert len(run.faults_done) == len(faults)
    assert_clean(run)
