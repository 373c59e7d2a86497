"""Races against the real node: heroes and Doppel-9 clones released at once on one name.

Every test checks the engine's own audit *and* reads the names back itself at SERIAL, so a bug
in the audit cannot hide a bug in the registry.
"""

from __future__ import annotations

import contextvars
import json
import re
import subprocess
import sys
from collections import defaultdict
from typing import Any

import pytest

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.registry import Registry
from registry_tui.core.rows import AmbiguousWrite, ConditionalWrite, DatabaseRows, WriteStep
from registry_tui.core.store import Connection
from registry_tui.core.validation import ValidationError
from registry_tui.race import (
    CONTROL_TABLE,
    HERO,
    Attack,
    AttackFinished,
    AttackPlan,
    AttackReport,
    ContenderFinished,
    RaceEvent,
    RaceFinished,
    RaceStarted,
    SetupProgress,
    percentile,
    run_attack,
)
from tests.row_faults import PassThroughRows

pytestmark = pytest.mark.db


def contenders_by_name(events: list[RaceEvent]) -> dict[str, list[ContenderFinished]]:
    by_name: dict[str, list[ContenderFinished]] = defaultdict(list)
    for event in events:
        if isinstance(event, ContenderFinished):
            by_name[event.username].append(event)
    return by_name


async def assert_one_winner_per_name(
    events: list[RaceEvent], registry: Registry, contenders_per_race: int
) -> None:
    """Exactly one contender per name was told "won", every other one was told who won, and
    a SERIAL read of our own finds that very contender holding the name."""
    by_name = contenders_by_name(events)
    for name, finished in by_name.items():
        assert len(finished) == contenders_per_race, name
        winners = [e for e in finished if e.outcome == "won"]
        assert len(winners) == 1, f"{name}: {[(e.contender, e.outcome) for e in finished]}"
        (winner,) = winners
        for loser in finished:
            if loser is not winner:
                assert loser.outcome == "blocked", f"{name}: {loser}"
                assert loser.winner is not None
                assert loser.winner.user_id == winner.user_id, f"{name}: blocked by someone else"
        stored = await registry.get_user_serial(name)
        assert stored is not None and stored.user_id == winner.user_id, name


def test_plan_limits_name_the_option_to_fix() -> None:
    for field, kwargs in (
        ("usernames", {"races": 0}),
        ("usernames", {"races": 100_001}),
        ("clones", {"clones": 65}),
        ("concurrency", {"concurrency": 0}),
        ("mode", {"mode": "blitz"}),
    ):
        with pytest.raises(ValidationError) as caught:
            AttackPlan(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field
    assert AttackPlan(races=3, clones=7).contenders == 24
    assert AttackPlan(races=3, clones=7, mode="siege").contenders == 21


def test_percentiles_are_measured_values() -> None:
    ordered = [float(n) for n in range(1, 101)]
    assert (percentile(ordered, 50), percentile(ordered, 99), percentile(ordered, 100)) == (
        50.0,
        99.0,
        100.0,
    )
    assert percentile([7.0], 95) == 7.0


async def test_land_grab_200_races_of_8_contenders_one_winner_each(
    connection: Connection, registry: Registry
) -> None:
    events: list[RaceEvent] = []
    plan = AttackPlan(races=200, clones=7, concurrency=16, keep=True)  # the test reads them after
    report = await run_attack(connection, plan, on_event=events.append)

    assert report.clean, [v.describe() for v in report.violations[:5]]
    assert report.contenders == 1600
    assert report.winners == report.races == 200
    assert report.hero_wins + report.clone_wins == 200
    # Released together in a shuffled order, the hero has no inside lane: both sides win some.
    assert report.hero_wins > 0 and report.clone_wins > 0
    assert report.heroes_blocked + report.clones_blocked == 1400
    assert (report.overwritten, report.clones_slipped, report.unresolved) == (0, 0, 0)
    assert report.latency.samples == 1600
    assert 0 < report.latency.p50_ms <= report.latency.p95_ms <= report.latency.p99_ms
    assert report.attempts_per_s > 0

    # The stream a live view consumes: each race announced before its contenders finish.
    assert isinstance(events[-1], AttackFinished) and events[-1].report is report
    started = {e.race: i for i, e in enumerate(events) if isinstance(e, RaceStarted)}
    assert len(started) == 200
    for i, event in enumerate(events):
        if isinstance(event, ContenderFinished | RaceFinished):
            assert started[event.race] < i
    assert sum(isinstance(e, RaceFinished) for e in events) == 200
    await assert_one_winner_per_name(events, registry, contenders_per_race=8)
    # The whole history, not only the final state: every name linearizable.
    assert report.history is not None
    assert report.history.operations >= 1600 + 200  # the attempts and the audit's reads
    assert (len(report.history.keys), report.history.verdict) == (200, "linearizable")


async def test_siege_blocks_every_clone_and_leaves_heroes_unchanged(
    connection: Connection, registry: Registry
) -> None:
    attack = Attack(
        connection, AttackPlan(races=40, clones=7, concurrency=16, mode="siege", keep=True)
    )
    events = [event async for event in attack.events()]
    final = events[-1]
    assert isinstance(final, AttackFinished)
    report = final.report

    assert report.clean, [v.describe() for v in report.violations[:5]]
    assert (report.contenders, report.clones_blocked, report.clones_slipped) == (280, 280, 0)
    assert report.winners == report.hero_wins == 40
    assert report.heroes_changed == 0

    setups = [e for e in events if isinstance(e, SetupProgress)]
    assert len(setups) == 40
    for clone in (e for e in events if isinstance(e, ContenderFinished)):
        assert clone.kind == "clone" and clone.outcome == "blocked"
        assert clone.winner is not None and clone.winner.kind == "hero"
    # Byte for byte: every column the hero's row had right after setup, read again now.
    for setup in setups:
        assert setup.hero.contender == HERO
        assert await registry.get_user_serial(setup.username) == setup.record


def table_count(connection: Connection, table: str) -> int:
    keyspace = connection.settings.keyspace
    rows = connection.session.execute(f"SELECT COUNT(*) FROM {keyspace}.{table}", timeout=30)
    return int(rows.one()[0])


async def test_unprotected_control_counts_overwrites_and_never_touches_the_registry(
    connection: Connection, registry: Registry
) -> None:
    models = connection.models
    registry_tables = [m.table_name() for m in (models.registration, models.profile)]
    registry_tables.append(models.email_claim.table_name())
    assert CONTROL_TABLE not in registry_tables
    before = {t: table_count(connection, t) for t in registry_tables}

    events: list[RaceEvent] = []
    plan = AttackPlan(races=50, clones=7, concurrency=16, protected=False)
    report = await run_attack(connection, plan, on_event=events.append)

    assert report.table == CONTROL_TABLE and not report.protected
    assert report.timeouts == 0, "a plain write timed out: the counts below assume none did"
    # Every plain INSERT is acknowledged; one row survives per name; the rest vanished.
    assert report.winners == report.contenders == 400
    assert report.overwritten == 400 - 50
    assert len(report.violations) == 50
    assert all("8 contenders were told they won" in v.problems for v in report.violations)
    # The checker proves it can fail: no order explains eight acknowledged registrations of
    # one name, and each violating name comes with an excerpt that shows it.
    history = report.history
    assert history is not None and history.violations == 50, history.to_json()
    assert all(
        k.excerpt is not None and len(k.excerpt.operations) >= 2 for k in history.violating()
    )

    # The registry never saw any of it.
    assert {t: table_count(connection, t) for t in registry_tables} == before
    for name in contenders_by_name(events):
        assert await registry.get_user_serial(name) is None

    # And the scratch table really holds one survivor per name, each one a contender.
    keyspace = connection.settings.keyspace
    for name, finished in contenders_by_name(events).items():
        rows = list(
            connection.session.execute(
                f"SELECT user_id FROM {keyspace}.{CONTROL_TABLE} WHERE username = %s", (name,)
            )
        )
        assert len(rows) == 1
        assert rows[0].user_id in {e.user_id for e in finished}


async def test_unprotected_siege_overwrites_the_heroes(connection: Connection) -> None:
    plan = AttackPlan(races=20, clones=3, concurrency=8, mode="siege", protected=False)
    report = await run_attack(connection, plan)
    assert report.timeouts == 0
    assert report.clones_slipped == 60
    assert report.heroes_changed == 20
    assert report.winners == 20 + 60 and report.overwritten == 60
    assert len(report.violations) == 20


# ------------------------------------------------------------------------------------------
# Forced ambiguity: the contenders' registration INSERT gets a client-side timeout of a few
# milliseconds or less, while the shared node is left alone. The driver raises OperationTimedOut
# and the server may still apply the write: exactly the "maybe applied" case of an LWT.

_BLIND_NEXT_READ = contextvars.ContextVar("blind_next_read", default=False)


class HastyRows(PassThroughRows):
    """Rows whose registration INSERT times out client-side after `write_timeout`.

    Every other write keeps the connection's timeout, and so does every read. With
    `blind_resolution` the registry's own SERIAL read right after such a timeout fails as well,
    so `register` returns Unknown and the race engine must resolve the outcome itself.
    """

    def __init__(
        self, connection: Connection, write_timeout: float, blind_resolution: bool = False
    ) -> None:
        super().__init__(connection)
        self.hasty = DatabaseRows(connection, timeout=write_timeout)
        self.blind_resolution = blind_resolution
        self.insert_timeouts = 0
        self.blinded = 0  # SERIAL reads made to fail

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is not WriteStep.INSERT_REGISTRATION:
            return await super().write(write)
        try:
            return await self.hasty.write(write)
        except Exception as exc:
            self.insert_timeouts += 1
            if isinstance(exc, AmbiguousWrite):  # the registry's SERIAL read comes next
                # Each contender runs in a task of its own: the mark stays with this one.
                _BLIND_NEXT_READ.set(self.blind_resolution)
            raise

    async def read_one(self, model: Any, serial: bool = False, **key: Any) -> Any:
        if _BLIND_NEXT_READ.get():
            _BLIND_NEXT_READ.set(False)
            self.blinded += 1
            raise DatabaseUnavailable("injected: the SERIAL read failed too")
        return await super().read_one(model, serial, **key)


# Tighter and tighter, a bounded number of times: each step still checks every invariant.
WRITE_TIMEOUT_LADDER_S = (0.002, 0.0005, 0.0001)


async def race_with_timeouts(
    connection: Connection, registry: Registry, *, blind_resolution: bool
) -> tuple[AttackReport, HastyRows]:
    plan = AttackPlan(races=30, clones=7, concurrency=8, keep=True)
    for write_timeout in WRITE_TIMEOUT_LADDER_S:
        hasty = HastyRows(connection, write_timeout, blind_resolution)
        events: list[RaceEvent] = []
        contenders = Registry(connection, hasty)
        report = await run_attack(connection, plan, on_event=events.append, registry=contenders)
        # Whatever the timing, the contenders' final outcomes agree with the SERIAL audit.
        assert report.clean, [v.describe() for v in report.violations[:5]]
        assert report.winners == report.races and report.unresolved == 0
        await assert_one_winner_per_name(events, registry, contenders_per_race=8)
        resolved = [e for e in events if isinstance(e, ContenderFinished) and e.resolved]
        assert len(resolved) == report.unknown_resolved
        if hasty.insert_timeouts and report.unknown_resolved:
            return report, hasty
    raise AssertionError(
        f"no registration insert was resolved after a timeout, even with a "
        f"{WRITE_TIMEOUT_LADDER_S[-1] * 1000:g} ms client timeout"
    )


async def test_forced_cas_timeouts_are_resolved_by_the_registry_serial_read(
    connection: Connection, registry: Registry
) -> None:
    report, hasty = await race_with_timeouts(connection, registry, blind_resolution=False)
    assert hasty.insert_timeouts > 0
    assert 0 < report.unknown_resolved <= report.timeouts


async def test_forced_cas_timeouts_with_a_failed_serial_read_are_resolved_by_the_engine(
    connection: Connection, registry: Registry
) -> None:
    report, hasty = await race_with_timeouts(connection, registry, blind_resolution=True)
    # Each timed-out insert came back Unknown from the registry; the engine's read decided it.
    assert report.unknown_resolved == report.timeouts == hasty.insert_timeouts
    assert hasty.blinded > 0, "no SERIAL read of the registry failed: this proved nothing"


# ------------------------------------------------------------------------------------------
# The CLI, in a child process: opening a connection re-registers coodie's default (reading)
# driver, which must not happen to this module's connection. The tiny app is the lead's
# wiring in miniature: a callback puts Settings in ctx.obj, `race` is the command.

RACE_APP = """
import typer
from registry_tui.cli.race import race_command
from registry_tui.core.config import settings_from_env

app = typer.Typer()

@app.callback()
def main(ctx: typer.Context) -> None:
    ctx.obj = settings_from_env()

app.command("race")(race_command)
app(prog_name="registry")
"""


def run_race_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RACE_APP, "race", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_json_is_one_object_with_a_clean_audit(cli_env: dict[str, str]) -> None:
    done = run_race_cli(cli_env, "--usernames", "20", "--clones", "3", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert isinstance(report, dict)
    assert report["mode"] == "land-grab" and report["protected"] is True
    assert (report["races"], report["contenders"], report["winners"]) == (20, 80, 20)
    assert (report["overwritten"], report["violations"], report["clones_slipped"]) == (0, 0, 0)
    for key in ("clones_blocked", "unknown_resolved", "attempts_per_s", "timeouts"):
        assert key in report
    assert set(report["latency_ms"]) >= {"p50", "p95", "p99"}


def test_cli_control_run_exits_1_with_the_overwrites(cli_env: dict[str, str]) -> None:
    done = run_race_cli(cli_env, "-r", "10", "-k", "3", "--unprotected", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["protected"] is False
    assert (report["winners"], report["overwritten"], report["violations"]) == (40, 30, 10)
    assert "violation" in done.stderr


def test_cli_refuses_bad_options_with_exit_2(cli_env: dict[str, str]) -> None:
    for args, option in ((("--usernames", "0"), "--usernames"), (("-k", "65"), "--clones")):
        done = run_race_cli(cli_env, *args)
        assert done.returncode == 2
        assert option in done.stderr and done.stdout == ""


def test_cli_unreachable_database_is_one_line_and_exit_3(cli_env: dict[str, str]) -> None:
    env = dict(cli_env, SCYLLA_PORT="1", SCYLLA_CONNECT_TIMEOUT="2")
    done = run_race_cli(env)
    assert done.returncode == 3
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and "cannot connect" in done.stderr

    as_json = run_race_cli(env, "--json")
    assert as_json.returncode == 3
    assert json.loads(as_json.stdout)["detail"]["error"] == "database_unavailable"


def test_cli_module_imports_neither_driver_nor_textual() -> None:
    probe = (
        "import sys, registry_tui.cli.race; "
        "print(sorted(m for m in ('textual', 'cassandra', 'coodie', 'registry_tui.race') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cli_ctrl_c_stops_audits_and_removes_what_ran(cli_env: dict[str, str]) -> None:
    """Ctrl-C on `registry race`: the races in flight finish, what ran is audited and removed
    by identity; the run ends 130 with a report of what it did."""
    import signal
    import time

    race = subprocess.Popen(
        [sys.executable, "-c", RACE_APP, "race", "-r", "20000", "-k", "3", "-c", "4", "--json"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)  # connected and racing
    race.send_signal(signal.SIGINT)
    out, err = race.communicate(timeout=120)
    assert race.returncode == 130, err
    report = json.loads(out)
    assert "stopping: races in flight finish" in err
    assert 0 < report["stopped_after"] < 20000 and report["audited"] is True
    assert report["violations"] == 0
    assert report["cleanup"]["removed"] == report["stopped_after"]
    assert report["cleanup"]["failed"] == []
    assert f"stopped after {report['stopped_after']:,} of 20,000 races (audited)" in err


def test_cli_cleanup_removes_what_a_kept_run_left(cli_env: dict[str, str]) -> None:
    kept = run_race_cli(cli_env, "-r", "6", "-k", "2", "--keep", "--json")
    assert kept.returncode == 0, kept.stderr
    run_id = json.loads(kept.stdout)["run_id"]
    done = run_race_cli(cli_env, "--cleanup", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "run_id": run_id,
        "cleanup": {"kept": False, "removed": 6, "already_gone": 0, "failed": []},
    }
    human = run_race_cli(cli_env, "--cleanup", run_id)
    assert human.returncode == 0 and f"run {run_id}: 0 registrations removed" in human.stdout
    bad = run_race_cli(cli_env, "--cleanup", "race-xyz")
    assert bad.returncode == 2 and "--cleanup" in bad.stderr and bad.stdout == ""


@pytest.mark.parametrize("mode", ["siege", "land-grab"])
async def test_the_cli_live_view_counts_what_each_side_did(
    connection: Connection, mode: str
) -> None:
    """`registry race` on a terminal: the guard named with its level, heroes of a siege shown
    holding their names (not as winners), clones of a siege as blocked or slipped through."""
    from rich.console import Console

    from registry_tui.cli.race import _Board

    attack = Attack(connection, AttackPlan(races=4, clones=3, concurrency=4, mode=mode))
    board = _Board(attack)
    async for event in attack.events():
        board.on_event(event)
    console = Console(width=160, record=True, color_system=None)
    console.print(board.render())
    text = console.export_text()
    assert "IF NOT EXISTS at SERIAL" in text, text
    if mode == "siege":
        assert "holding 4" in text and "won" not in text, text
        assert "blocked 12" in text and "slipped through 0" in text, text
    else:
        assert "holding" not in text and "slipped" not in text, text
        (hero_won, hero_blocked), (clone_blocked, clone_won) = (
            tuple(map(int, pair))
            for pair in re.findall(r"│ (?:won|blocked) (\d+)   (?:blocked|won) (\d+)", text)
        )
        assert hero_won + clone_won == 4 and hero_blocked + clone_blocked == 12, text
        assert hero_won + hero_blocked == 4, text  # one hero per name
    lane_lines = [line for line in text.splitlines() if " blocked " in line and " by " in line]
    named = re.compile(r"│ (hero|clone \d+)  (race|siege)-")
    assert lane_lines and all(named.search(line) for line in lane_lines), text


# ------------------------------------------------------------------------------------------
# A database that refuses some writes outright (Unavailable: nothing sent, nothing written)


class Refuses(PassThroughRows):
    """Rows that refuse the first `times` writes of `step` as unavailable; the rest pass."""

    def __init__(self, connection: Connection, step: WriteStep, times: int) -> None:
        super().__init__(connection)
        self.step, self.left, self.refused = step, times, 0

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is self.step and self.left > 0:
            self.left -= 1
            self.refused += 1
            raise DatabaseUnavailable("injected: not enough replicas")
        return await super().write(write)


async def profiles_of(registry: Registry, events: list[RaceEvent]) -> dict[str, bool]:
    winners = [e for e in events if isinstance(e, ContenderFinished) and e.outcome == "won"]
    return {e.username: (await registry.get_profile_serial(e.user_id)) is not None for e in winners}


async def test_a_winner_whose_profile_was_refused_gets_it_when_the_engine_resolves(
    connection: Connection, registry: Registry
) -> None:
    """Twice as many profile writes refused as there are winners (each winner's own write
    and the engine's first try at settling it): the engine asks again until the database takes
    it, and nothing is reported unwritten."""
    plan = AttackPlan(races=6, clones=3, concurrency=6, keep=True)
    rows = Refuses(connection, WriteStep.CREATE_PROFILE, times=12)
    events: list[RaceEvent] = []
    report = await run_attack(
        connection, plan, on_event=events.append, registry=Registry(connection, rows)
    )
    assert rows.refused == 12
    assert report.clean and report.winners == 6
    assert report.profiles_unwritten == 0
    profiles = await profiles_of(registry, events)
    assert len(profiles) == 6 and all(profiles.values()), profiles


async def test_a_winner_whose_profile_stays_refused_is_reported_not_hidden(
    connection: Connection, registry: Registry
) -> None:
    """Every profile write refused for the whole race: the winners keep their names (told
    "won", the name is theirs) and the report counts each profile left unwritten."""
    plan = AttackPlan(races=4, clones=3, concurrency=4, keep=True)
    rows = Refuses(connection, WriteStep.CREATE_PROFILE, times=10_000)
    events: list[RaceEvent] = []
    report = await run_attack(
        connection, plan, on_event=events.append, registry=Registry(connection, rows)
    )
    assert report.clean and report.winners == 4
    assert report.profiles_unwritten == 4
    assert report.as_document()["profiles_unwritten"] == 4
    assert set((await profiles_of(registry, events)).values()) == {False}


async def test_a_race_nobody_could_enter_is_an_outage_not_a_violation(
    connection: Connection,
) -> None:
    """Every registration refused as unavailable: nobody won, nobody was told the name was
    taken, the name is free. The audit finds no violation; every attempt stays unknown."""
    plan = AttackPlan(races=2, clones=3, concurrency=2, keep=True)
    rows = Refuses(connection, WriteStep.INSERT_REGISTRATION, times=10_000)
    report = await run_attack(connection, plan, registry=Registry(connection, rows))
    assert rows.refused == 8
    assert report.winners == 0 and report.unresolved == 8
    assert report.violations == ()


class HeldRegistrations(PassThroughRows):
    """Every registration insert is held back, as in the socket of a paused node: the client
    times out, and the request reaches the database only when `deliver` sends it."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.held: dict[str, ConditionalWrite] = {}
        self.landed: list[str] = []

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is WriteStep.INSERT_REGISTRATION:
            self.held[str(write.row.user_id)] = write
            raise AmbiguousWrite("injected: the request is still on its way")
        return await super().write(write)

    async def deliver(self, user_id: str) -> None:
        write = self.held.pop(user_id, None)
        if write is not None and (await write.run(self.rows.timeout)).applied:
            self.landed.append(user_id)


class LateLanding(Attack):
    """An attack whose held registrations land just after the engine gave up settling them."""

    held: HeldRegistrations

    async def _resolve(self, c: Any) -> Any:
        verdict = await super()._resolve(c)
        await self.held.deliver(str(c.user_id))
        return verdict


async def test_a_name_taken_by_an_attempt_that_stayed_unknown_is_reported_not_a_violation(
    connection: Connection, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody learned their fate: every insert timed out on the client, every read that
    settled the race found the name free, and then one request ran. Unknown means unknown:
    the audit reports the name taken by an unknown attempt, and the history check agrees."""
    monkeypatch.setattr("registry_tui.race.engine.RESOLVE_PATIENCE_S", 0.3)
    held = HeldRegistrations(connection)
    plan = AttackPlan(races=2, clones=2, concurrency=2)
    attack = LateLanding(connection, plan, registry=Registry(connection, held))
    attack.held = held
    report = await attack.run()
    assert len(held.landed) == 2, "no held insert landed: nothing was tested"
    # Each race's landing attempt stays unknown (its settling gave up before it landed); a
    # sibling still settling when it lands reads the name held and is told "blocked".
    blocked = report.heroes_blocked + report.clones_blocked
    assert report.winners == 0 and report.unresolved >= 2
    assert report.unresolved + blocked == 6, report
    assert report.unknown_held == 2 and report.as_document()["unknown_held"] == 2
    assert report.violations == (), [v.describe() for v in report.violations]
    assert report.history is not None and report.history.violations == 0
    # The clean-up removes what the unknown attempts took: names, profiles and claims.
    assert report.cleanup.removed == 2 and not report.cleanup.failed, report.cleanup
    for race in range(2):
        assert await registry.get_user_serial(attack.username(race)) is None
        for index in range(plan.contenders_per_race):
            email = attack.contender(race, index).email
            assert await registry.get_email_owner(email) is None, email
