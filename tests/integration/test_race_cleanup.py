"""A race leaves the registry as it found it: after the audit it removes, by identity, what it
registered (winners, siege heroes), with their profiles and e-mail claims; --keep keeps them."""

from __future__ import annotations

import pytest

from registry_tui.core.outcomes import Deleted, NotFound, Registered, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from registry_tui.race import AttackPlan, run_attack
from registry_tui.race.cleanup import remove_registrations
from tests.conftest import unique

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
    assert report.as_document()["cleanup"] == {
        "kept": False,
        "removed": 20,
        "already_gone": 0,
        "failed": [],
    }
    assert report.cleanup_summary() == "20 removed"
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


async def test_what_changed_hands_since_the_audit_is_left_alone(registry: Registry) -> None:
    """Between the audit and the clean-up, one name was deleted and another deleted and taken
    by someone else: the first counts as already gone, the second's new holder is untouched."""
    names = [unique("cleanup") for _ in range(4)]

    async def register(name: str, tag: str = "race") -> UserRecord:
        out = await registry.register(name, f"{tag}.{name}@example.com", "Agent", "d-main")
        assert isinstance(out, Registered), out
        return out.user

    held = {race: await register(name) for race, name in enumerate(names)}
    for race in (1, 2):
        out = await registry.delete_user(names[race], user_id=held[race].user_id)
        assert isinstance(out, Deleted), out
    newcomer = await register(names[2], tag="outsider")

    done = await remove_registrations(registry, held, names.__getitem__)
    assert (done.kept, done.removed, done.already_gone, done.failed) == (
        False,
        2,
        2,
        (),
    )  # 0 and 3 removed; 1 and 2 gone
    for race in (0, 1, 3):
        assert isinstance(await registry.get_user(names[race]), NotFound)
    still = await registry.get_user(names[2])
    assert isinstance(still, UserRecord) and still.user_id == newcomer.user_id
