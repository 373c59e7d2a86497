"""A race leaves the registry as it found it: after the audit it removes, by identity, what it
registered (winners, siege heroes), with their profiles and e-mail claims; --keep keeps them."""

from __future__ import annotations

import pytest

from registry_tui.core.store import Connection
from registry_tui.race import AttackPlan, run_attack

pytestmark = pytest.mark.db


def count_rows(connection: Connection, table: str) -> int:
    keyspace = connection.settings.keyspace
    return len(list(connection.session.execute(f"SELECT * FROM {keyspace}.{table}", timeout=30)))


def tables_empty(connection: Connection) -> dict[str, int]:
    return {
        table: count_rows(connection, table)
        for table in ("user_registrations", "user_profiles", "email_claims")
    }


@pytest.mark.parametrize("mode", ["land-grab", "siege"])
async def test_a_race_removes_what_it_registered(connection: Connection, mode: str) -> None:
    before = tables_empty(connection)
    plan = AttackPlan(races=20, clones=3, concurrency=8, mode=mode)  # type: ignore[arg-type]
    report = await run_attack(connection, plan)
    assert not report.violations
    assert report.cleanup.kept is False and report.cleanup.failed == ()
    assert report.cleanup.removed == 20  # one holder per name: a winner or a siege hero
    assert report.as_document()["cleanup"] == {"kept": False, "removed": 20, "failed": []}
    # Nothing of the race is left: no registration, no profile, no claim.
    assert tables_empty(connection) == before


async def test_keep_leaves_the_winners_registered(connection: Connection) -> None:
    before = tables_empty(connection)
    report = await run_attack(connection, AttackPlan(races=10, clones=2, keep=True))
    assert report.cleanup.kept is True and report.cleanup.removed == 0
    after = tables_empty(connection)
    assert {t: after[t] - before[t] for t in after} == {
        "user_registrations": 10,
        "user_profiles": 10,
        "email_claims": 10,
    }
