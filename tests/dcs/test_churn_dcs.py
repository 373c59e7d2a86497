"""Churn across two data centres, clients split between a connection local to each: under the
global guarantee every history is linearizable; under the local one (LOCAL_SERIAL) the checker
must find the names and addresses each DC gave away on its own. The local run is the proof that
the checker can fail on a real database's history, on every CI run."""

from __future__ import annotations

import asyncio
import sys

import pytest

from registry_tui.core.store import Connection, open_connection
from registry_tui.proof import CheckReport, HistoryRecorder, check_history
from registry_tui.race.churn import Churn, ChurnPlan
from registry_tui.race.dcs import across_data_centres
from tests.dcs.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
from cassandra_local import server_violations

pytestmark = pytest.mark.db


async def churn_across(
    connection: Connection, seconds: float, plan: ChurnPlan | None = None
) -> CheckReport:
    recorder = HistoryRecorder()
    plan = plan or ChurnPlan(clients=16, seconds=seconds)
    alarms_before = len(server_violations("dcs"))
    async with across_data_centres(connection) as across:
        registries = [across[0][1], across[1][1]]
        await Churn(registries, plan, recorder).run()
    check = await asyncio.to_thread(check_history, recorder.history())
    server = len(server_violations("dcs")) - alarms_before
    kinds = {k.kind for k in check.violating()}
    print(
        f"churn across DCs ({connection.settings.serial}): {check.operations} operations on "
        f"{len(check.keys)} keys; {check.violations} violating ({', '.join(sorted(kinds))}); "
        f"checked in {check.seconds:.2f}s; the server's own alarm: {server} violation(s) logged"
    )
    if connection.settings.serial == "global":
        # The checker and the server's Paxos must agree; a difference is a finding.
        assert (server > 0) == (check.violations > 0), (server, check.violations)
    return check


@pytest.mark.timeout(600)
async def test_global_churn_across_dcs_is_linearizable(dc1: Connection) -> None:
    check = await churn_across(dc1, 15)
    assert check.operations > 500
    assert check.violations == 0, [k.to_json() for k in check.violating()[:2]]
    assert check.verdict == "linearizable", check.to_json()


@pytest.mark.timeout(600)
async def test_global_edits_of_one_profile_across_dcs_are_linearizable(dc1: Connection) -> None:
    plan = ChurnPlan(clients=16, seconds=10, names=1, emails=8, mix="edits")
    check = await churn_across(dc1, 10, plan)
    assert check.violations == 0, [k.to_json() for k in check.violating()[:2]]
    assert check.verdict == "linearizable", check.to_json()


@pytest.mark.timeout(600)
async def test_local_churn_across_dcs_is_caught_by_the_checker(dc1: Connection) -> None:
    local = await open_connection(
        dc1.settings.with_overrides(serial="local"), create_schema=False, serve_reads=False
    )
    try:
        check = await churn_across(local, 15)
    finally:
        local.close()
    # Each DC elects its own owners: no single order explains what the two sides were told.
    assert check.violations > 0, check.to_json()
    assert any(k.kind == "name" for k in check.violating())
    assert all(k.excerpt is not None for k in check.violating())
