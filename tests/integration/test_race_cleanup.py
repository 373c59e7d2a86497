"""A race leaves the registry as it found it: after the audit it removes, by identity, what it
registered (winners, siege heroes), with their profiles and e-mail claims; --keep keeps them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from coodie.results import LWTResult

from registry_tui.core.outcomes import Deleted, NotFound, Registered, Unknown, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.rows import AmbiguousWrite, ConditionalWrite, WriteStep
from registry_tui.core.store import Connection
from registry_tui.core.validation import ValidationError
from registry_tui.proof import HistoryRecorder
from registry_tui.race import Attack, AttackPlan, RaceFinished, SetupProgress, run_attack
from registry_tui.race.churn import Churn, ChurnPlan
from registry_tui.race.cleanup import (
    PAGE_SIZE,
    cleanup_run,
    parse_run_id,
    release_in_doubt,
    remove_registrations,
)
from registry_tui.race.plan import Roster
from tests.conftest import unique
from tests.row_faults import PassThroughRows

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


# ------------------------------------------------------------------------------------------
# A stopped race still cleans up; what a run left is removed by its run id.


def stop_after(attack: Attack, races: int, *, skip_audit: bool = False) -> Callable[[object], None]:
    """Stop once `races` races finished (a siege: once that many heroes took their names)."""
    finished = 0
    counted = SetupProgress if attack.plan.mode == "siege" else RaceFinished

    def on_event(event: object) -> None:
        nonlocal finished
        if isinstance(event, counted):
            finished += 1
            if finished == races:
                attack.stop(skip_audit=skip_audit)

    return on_event


@pytest.mark.parametrize("mode", ["land-grab", "siege"])
@pytest.mark.parametrize("skip_audit", [False, True])
async def test_a_stopped_race_audits_what_ran_and_removes_it(
    connection: Connection, mode: str, skip_audit: bool
) -> None:
    before = tables_empty(connection)
    plan = AttackPlan(races=400, clones=3, concurrency=4, mode=mode)  # type: ignore[arg-type]
    attack = Attack(connection, plan)
    report = await attack.run(on_event=stop_after(attack, 5, skip_audit=skip_audit))
    assert report.stopped_after is not None and 5 <= report.stopped_after < 400
    assert report.races == report.stopped_after
    assert report.audited is not skip_audit
    assert (report.history is None) is skip_audit
    assert not report.violations
    # Every name that ran had one holder of the race, and each was removed by identity.
    assert (report.cleanup.removed, report.cleanup.failed) == (report.stopped_after, ())
    assert report.as_document()["stopped_after"] == report.stopped_after
    assert tables_empty(connection) == before


async def test_a_stopped_race_with_keep_leaves_what_ran(connection: Connection) -> None:
    attack = Attack(connection, AttackPlan(races=400, clones=2, concurrency=4, keep=True))
    report = await attack.run(on_event=stop_after(attack, 3))
    assert report.stopped_after is not None and report.cleanup.kept
    registry = Registry(connection)
    assert isinstance(await registry.get_user(attack.username(0)), UserRecord)
    done = await cleanup_run(registry, attack.run_id)
    assert (done.removed, done.failed) == (report.stopped_after, ())


async def test_cleanup_by_run_id_removes_only_that_runs_registrations(
    connection: Connection, registry: Registry
) -> None:
    before = tables_empty(connection)
    report = await run_attack(connection, AttackPlan(races=12, clones=2, keep=True))
    other = await run_attack(connection, AttackPlan(races=3, clones=1, keep=True))
    # A name that carries the run id but was not registered by the race is not its to remove.
    squatter = f"{report.username_prefix}99999"
    out = await registry.register(squatter, "someone@example.com", "Someone", "d-main")
    assert isinstance(out, Registered), out

    done = await cleanup_run(registry, report.run_id.upper())  # typed in any case
    assert (done.removed, done.already_gone, done.failed) == (12, 0, ())
    assert isinstance(await registry.get_user(f"{report.username_prefix}00000"), NotFound)
    assert isinstance(await registry.get_user(squatter), UserRecord)
    assert isinstance(await registry.get_user(f"{other.username_prefix}00000"), UserRecord)
    # Again: nothing of it is left.
    assert (await cleanup_run(registry, report.run_id)).removed == 0

    await cleanup_run(registry, other.run_id)
    await registry.delete_user(squatter)
    assert tables_empty(connection) == before


async def test_cleanup_by_run_id_removes_what_a_kept_churn_left(
    connection: Connection, registry: Registry
) -> None:
    before = tables_empty(connection)
    churn = Churn([registry], ChurnPlan(clients=4, seconds=1, seed=3, keep=True), HistoryRecorder())
    await churn.run()
    done = await cleanup_run(registry, churn.run_id)
    assert done.failed == ()
    assert tables_empty(connection) == before


@pytest.mark.parametrize("run_id", ["", "race-1234", "12345", "zzzzzzzz", "123456789"])
def test_a_run_id_is_six_or_eight_hex_digits(run_id: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_run_id(run_id)
    assert caught.value.field == "cleanup"


# ------------------------------------------------------------------------------------------
# Attempts whose outcome stayed unknown: their names and e-mail claims are released by identity.


class InsertAnswerLost(PassThroughRows):
    """Every registration INSERT answers "maybe applied" without reaching the node, as a
    timeout before the request left would: the e-mail claim before it is taken for real, and
    the name stays free, so the registry can only answer unknown (and keeps the claim)."""

    async def write(self, write: ConditionalWrite) -> LWTResult:
        if write.step is WriteStep.INSERT_REGISTRATION:
            raise AmbiguousWrite("the answer was lost")
        return await super().write(write)


async def test_a_race_releases_the_claims_its_unknown_attempts_left(
    connection: Connection,
) -> None:
    before = tables_empty(connection)
    contenders = Registry(connection, store=InsertAnswerLost(connection))
    attack = Attack(connection, AttackPlan(races=2, clones=2, concurrency=2), registry=contenders)
    report = await attack.run()
    assert report.unresolved == 6  # every attempt unknown, each after taking its claim
    assert report.cleanup.failed == () and report.cleanup.claims_released == 6
    assert "6 e-mail claims released" in report.cleanup_summary()
    assert report.as_document()["cleanup"]["claims_released"] == 6
    assert tables_empty(connection) == before


async def test_cleanup_by_run_id_releases_the_claims_of_unknown_attempts(
    connection: Connection, registry: Registry
) -> None:
    before = tables_empty(connection)
    contenders = Registry(connection, store=InsertAnswerLost(connection))
    plan = AttackPlan(races=2, clones=1, concurrency=2, keep=True)
    report = await Attack(connection, plan, registry=contenders).run()
    assert report.unresolved == 4 and report.cleanup.kept
    assert count_rows(connection, "email_claims") == before["email_claims"] + 4
    done = await cleanup_run(registry, report.run_id)
    assert (done.removed, done.claims_released, done.failed) == (0, 4, ())
    assert tables_empty(connection) == before


async def test_releasing_by_identity_never_touches_another_identitys_name_or_claim(
    connection: Connection, registry: Registry
) -> None:
    """An attempt in doubt whose name one outsider holds, and whose e-mail another outsider
    claimed without ever holding a name (an orphan claim, but not the attempt's): both stay."""
    roster = Roster(AttackPlan(races=1, clones=1))
    attempt = roster.contender(0, 1)
    out = await registry.register(attempt.username, unique("x") + "@example.com", "One", "d-main")
    assert isinstance(out, Registered), out
    lossy = Registry(connection, store=InsertAnswerLost(connection))
    orphan = await lossy.register(unique("other"), attempt.email, "Two", "d-main")
    assert isinstance(orphan, Unknown), orphan
    done = await release_in_doubt(registry, [attempt])
    assert (done.removed, done.claims_released, done.failed) == (0, 0, ())
    holder = await registry.get_user_serial(attempt.username)
    assert holder is not None and holder.user_id == out.user.user_id
    owner = await registry.get_email_owner(attempt.email)
    assert owner is not None and owner.user_id == orphan.user_id
    # Its own identity may release it: the claim is an orphan.
    assert await registry.release_orphan_claim(attempt.email, user_id=orphan.user_id)
    await registry.delete_user(attempt.username)


# ------------------------------------------------------------------------------------------
# `registry race --cleanup RUN_ID` reads every page of registrations, not the first one only.

REGISTRY_CLI = Path(sys.executable).parent / "registry"


async def test_cli_cleanup_reads_every_page_of_registrations(
    connection: Connection, registry: Registry, cli_env: dict[str, str]
) -> None:
    before = tables_empty(connection)
    # More names than one page holds, with other registrations among them in token order.
    outsiders = [unique("outsider") for _ in range(20)]
    for name in outsiders:
        assert isinstance(await registry.register(name, f"{name}@ex.org", "O", "d"), Registered)
    races = PAGE_SIZE + 50
    plan = AttackPlan(races=races, clones=1, concurrency=64, keep=True)
    report = await run_attack(connection, plan)
    assert report.winners == races and not report.violations
    done = subprocess.run(
        [str(REGISTRY_CLI), "race", "--cleanup", report.run_id, "--json"],
        env=cli_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cleanup = json.loads(done.stdout)["cleanup"]
    assert (cleanup["removed"], cleanup["failed"]) == (races, [])
    for name in outsiders:  # not the run's: left alone
        assert isinstance(await registry.get_user(name), UserRecord)
        await registry.delete_user(name)
    assert tables_empty(connection) == before
