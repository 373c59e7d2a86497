"""Names unique in the whole cluster, or per data centre: races whose contenders are split
between dc1 and dc2, and dc2 frozen in the middle of registrations."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import defaultdict

import pytest

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import Registered, Unknown
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection, open_connection
from registry_tui.race import AttackPlan, ContenderFinished, RaceEvent, run_attack
from registry_tui.race.dcs import across_data_centres
from tests.dcs.conftest import launcher

pytestmark = pytest.mark.db


async def race_across(connection: Connection, races: int) -> tuple[object, list[ContenderFinished]]:
    events: list[ContenderFinished] = []

    def keep(event: RaceEvent) -> None:
        if isinstance(event, ContenderFinished):
            events.append(event)

    plan = AttackPlan(races=races, clones=3, concurrency=32)
    async with across_data_centres(connection) as across:
        report = await run_attack(connection, plan, on_event=keep, across=across)
    return report, events


def told_won(events: list[ContenderFinished]) -> dict[str, set[uuid.UUID]]:
    winners: dict[str, set[uuid.UUID]] = defaultdict(set)
    for event in events:
        if event.outcome == "won":
            winners[event.username].add(event.user_id)
    return winners


async def test_global_races_across_dcs_crown_one_winner_per_name(dc1: Connection) -> None:
    report, events = await race_across(dc1, races=150)
    assert report.serial == "global" and report.dcs == ("dc1", "dc2")
    assert {e.dc for e in events} == {"dc1", "dc2"}  # both DCs raced every name
    winners = told_won(events)
    assert all(len(ids) == 1 for ids in winners.values()), "two winners under SERIAL"
    assert report.winners == 150 and not report.violations and report.overwritten == 0
    assert report.history is not None and report.history.verdict == "linearizable"


async def test_local_races_across_dcs_show_every_double_winner(dc1: Connection) -> None:
    local = await open_connection(
        dc1.settings.with_overrides(serial="local"), create_schema=False, serve_reads=False
    )
    try:
        assert any("unique per data centre only" in w for w in local.warnings())
        report, events = await race_across(local, races=150)
    finally:
        local.close()
    assert report.serial == "local"
    doubled = {name for name, ids in told_won(events).items() if len(ids) > 1}
    # Every name two contenders were told they won is an audit violation, and no other.
    assert {v.username for v in report.violations} == doubled
    assert report.winners == 150 + sum(len(ids) - 1 for ids in told_won(events).values())
    print(f"LOCAL_SERIAL across DCs: {len(doubled)} of 150 names had two winners")
    # The history checker finds each of them on its own: two acknowledged registrations of one
    # name that no order explains (and the global run above shows it passes a clean history).
    assert report.history is not None
    violating = {k.key.removeprefix("name:") for k in report.history.violating()}
    assert doubled <= violating, (doubled - violating, report.history.to_json())


async def test_dc2_frozen_global_refuses_fast_local_keeps_accepting(dc1: Connection) -> None:
    global_registry = Registry(dc1)
    local = await open_connection(
        dc1.settings.with_overrides(serial="local"), create_schema=False, serve_reads=False
    )
    local_registry = Registry(local)
    acknowledged: dict[str, uuid.UUID] = {}
    undecided: dict[str, uuid.UUID] = {}
    launcher("pause-node", "--layout", "dcs", "2")
    try:
        for _ in range(4):
            name, uid = f"frozen-g-{uuid.uuid4().hex[:8]}", uuid.uuid4()
            started = time.monotonic()
            try:
                out = await global_registry.register(
                    name, f"{name}@dc.galaxy", "Global", "Dimension-6", user_id=uid
                )
            except DatabaseUnavailable:
                out = None
            took = time.monotonic() - started
            # SERIAL needs both DCs' replicas: nothing can be acknowledged, and the answer
            # comes within the attempts' timeouts, never a hang.
            assert not isinstance(out, Registered), out
            assert took < 4 * dc1.settings.request_timeout + 5, took
            if isinstance(out, Unknown):
                undecided[name] = uid
        for _ in range(4):
            name, uid = f"frozen-l-{uuid.uuid4().hex[:8]}", uuid.uuid4()
            out = await local_registry.register(
                name, f"{name}@dc.galaxy", "Local", "Dimension-6", user_id=uid
            )
            assert isinstance(out, Registered), out  # LOCAL_SERIAL: dc1 alone decides
            acknowledged[name] = uid
    finally:
        launcher("resume-node", "--layout", "dcs", "2")
        local.close()
    await asyncio.sleep(3)

    async def serial_holder(name: str) -> object:
        # The check's own reads wait for dc2 to answer again after SIGCONT (it is the
        # instrument, not the subject): a read that times out is asked again, for a minute.
        deadline = time.monotonic() + 60
        while True:
            try:
                return await global_registry.get_user_serial(name)
            except DatabaseUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)

    # After the resume: every acknowledged registration holds, under the global guarantee
    # too; an undecided one is either whole or free, never two identities.
    for name, uid in acknowledged.items():
        holder = await serial_holder(name)
        assert holder is not None and holder.user_id == uid, (name, holder)  # type: ignore[attr-defined]
    for name, uid in undecided.items():
        holder = await serial_holder(name)
        assert holder is None or holder.user_id == uid, (name, holder)  # type: ignore[attr-defined]


async def test_the_app_says_when_names_are_unique_per_dc_only(dc1: Connection) -> None:
    from registry_tui.tui.app import RegistryApp
    from registry_tui.tui.widgets.indicator import ConnectionIndicator
    from tests.tui.helpers import restore_reads, users_loaded

    for serial, warned in (("local", True), ("global", False)):
        app = RegistryApp(dc1.settings.with_overrides(serial=serial))
        try:
            async with app.run_test(size=(120, 30)) as pilot:
                await users_loaded(pilot)
                indicator = app.screen.query_one(ConnectionIndicator)
                shown = str(indicator.render())
                assert ("unique per DC only" in shown) is warned, shown
        finally:
            restore_reads(dc1)


async def test_the_race_panel_races_across_dcs_under_local_serial(dc1: Connection) -> None:
    from textual.widgets import Button, Input, Select

    from registry_tui.tui.app import RegistryApp
    from registry_tui.tui.screens.race import RaceScreen
    from registry_tui.tui.widgets.race_feed import lane_line
    from tests.tui.helpers import restore_reads, screen_text, users_loaded, wait_for

    app = RegistryApp(dc1.settings)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await users_loaded(pilot)
            await pilot.press("f3")
            await wait_for(pilot, lambda: isinstance(app.screen, RaceScreen), what="the panel")
            screen = app.screen
            assert isinstance(screen, RaceScreen)
            for selector, value in (("#race-usernames", "40"), ("#race-clones", "3")):
                screen.query_one(selector, Input).value = value
            screen.query_one("#race-guard", Select).value = "local-dcs"
            screen.query_one("#race-start", Button).focus()
            await pilot.pause()
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen.last_report is not None, timeout=60)
            report = screen.last_report
            assert report is not None
            assert (report.serial, report.dcs) == ("local", ("dc1", "dc2")), screen_text(app)
            # Contenders alternate between the DCs: the hero and even clones on dc1, odd clones
            # on dc2. Which of them the lanes' visible rows happen to show depends on timing, so
            # the lanes' held lines are checked whole and the screen for the labels.
            held = [*screen.feed.heroes, *screen.feed.clones]
            assert held
            for event in held:
                assert isinstance(event, ContenderFinished), event
                assert event.dc == ("dc2" if event.contender % 2 else "dc1"), event
                assert f" {event.dc}" in lane_line(event).plain, lane_line(event).plain
            assert {event.dc for event in screen.feed.clones} == {"dc1", "dc2"}
            await pilot.press("ctrl+r")  # the lanes: each attempt labelled with its DC
            await pilot.pause()
            text = screen_text(app)
            assert re.search(r" ms dc[12] ", text), text
    finally:
        restore_reads(dc1)
