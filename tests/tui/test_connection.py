"""The app and an unreachable database: it starts anyway, says what it tried and how to fix
it, retries with backoff, gets there when the database comes up, and survives a connection
that drops mid-session. The outages are made by a TCP relay in front of the real node."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Static

from registry_tui.core.config import Settings
from registry_tui.core.registry import Registry
from registry_tui.tui.link import LinkState
from registry_tui.tui.screens.connection import ConnectionScreen
from registry_tui.tui.screens.help import HelpScreen
from registry_tui.tui.screens.race import RaceScreen
from registry_tui.tui.screens.users import UsersScreen
from tests.conftest import unique
from tests.tui.conftest import RunApp
from tests.tui.helpers import notifications, screen_text, status_line, users_loaded, wait_for
from tests.tui.proxy import Relay
from tests.tui.seeding import register_user

pytestmark = pytest.mark.db


def nowhere(settings: Settings) -> Settings:
    """Where nothing listens: connections are refused at once."""
    return settings.with_overrides(hosts=("127.0.0.1",), port=1, connect_timeout=1)


async def test_database_down_at_start(run_app: RunApp, tui_settings: Settings) -> None:
    async with run_app(nowhere(tui_settings), retry_delays=(0.3,)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, ConnectionScreen)
        await wait_for(pilot, lambda: screen.last_failure is not None, what="a failure")
        text = screen_text(app)
        assert "Cannot reach the database" in text
        assert "127.0.0.1:1" in text  # the hosts it tried
        assert "make db-up" in text  # how to start one
        assert "Connection refused" in text  # the error, in one line
        assert "Traceback" not in text
        error = str(screen.query_one("#connection-error", Static).render())
        assert "\n" not in error.strip()
        assert app.link.state is LinkState.OFFLINE
        assert "offline" in text

        # Retries on its own, with the backoff given…
        await wait_for(pilot, lambda: screen.attempts >= 3, what="retries")
        # …and now too, on request.
        before = screen.attempts
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.attempts > before)

        # The rest of the app is there meanwhile.
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Retry now" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RaceScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)

        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    assert app.return_code == 0


async def test_the_app_connects_once_the_database_comes_up(
    run_app: RunApp, tui_settings: Settings, registry: Registry
) -> None:
    user = await register_user(registry, dimension=unique("dim"))
    relay = Relay(tui_settings.hosts[0], tui_settings.port)
    settings = tui_settings.with_overrides(port=relay.port, connect_timeout=1)
    async with run_app(settings, retry_delays=(0.3,)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, ConnectionScreen)
        await wait_for(pilot, lambda: screen.attempts >= 2, what="failed attempts")
        relay.start()
        try:
            users = await users_loaded(pilot)
            assert app.link.state is LinkState.ONLINE
            await wait_for(pilot, lambda: users.table.loaded > 0)
            assert await registry.get_user(user.username) == user
        finally:
            relay.close()


async def test_a_dropped_connection_changes_the_indicator_and_nothing_else(
    run_app: RunApp, tui_settings: Settings
) -> None:
    relay = Relay(tui_settings.hosts[0], tui_settings.port)
    relay.start()
    settings = tui_settings.with_overrides(port=relay.port, connect_timeout=1)
    try:
        async with run_app(settings, health_interval=0.2) as (app, pilot):
            screen = await users_loaded(pilot)
            assert app.link.state is LinkState.ONLINE

            relay.stop()
            await wait_for(pilot, lambda: app.link.state is LinkState.OFFLINE, what="offline")
            assert "offline" in screen_text(app)

            await pilot.press("r")  # a listing while the database is away
            await wait_for(pilot, lambda: "Could not load" in status_line(app))
            assert any("Could not load users" in n for n in notifications(app))
            assert isinstance(app.screen, UsersScreen) and app.is_running
            assert "Traceback" not in screen_text(app)

            relay.start()  # the driver reconnects by itself
            await wait_for(
                pilot, lambda: app.link.state is LinkState.ONLINE, timeout=20, what="online"
            )
            await pilot.press("r")
            await wait_for(pilot, lambda: not screen.reading and screen.problem is None)
            assert "online" in screen_text(app)
    finally:
        relay.close()


async def test_a_slow_listing_does_not_freeze_the_ui(
    run_app: RunApp, tui_settings: Settings
) -> None:
    relay = Relay(tui_settings.hosts[0], tui_settings.port)
    relay.start()
    settings = tui_settings.with_overrides(port=relay.port)
    try:
        async with run_app(settings) as (app, pilot):
            screen = await users_loaded(pilot)
            relay.latency = 2.0  # every answer from now on takes two seconds
            await pilot.press("r")
            await wait_for(pilot, lambda: screen.reading)
            await pilot.pause()
            # The screen stays usable while the read is out: it is not in Textual's loading
            # state, which covers it with a spinner and disables it.
            assert not screen.loading and not screen.is_disabled
            started = time.monotonic()
            await pilot.press("f1")  # the app answers keys while the query is out
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=1.5)
            assert screen.reading, "the listing should still be on its way"
            assert time.monotonic() - started < 1.5
            relay.latency = 0.0
            await pilot.press("escape")
            await wait_for(pilot, lambda: not screen.reading, timeout=10)
            assert screen.problem is None
    finally:
        relay.close()


async def test_a_profile_picked_on_the_connection_screen_connects(
    run_app: RunApp,
    tui_settings: Settings,
    registry: Registry,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pathlib import Path

    from registry_tui.tui.screens.profiles import ProfilePicker

    holder = await register_user(registry)
    config = Path(str(tmp_path)) / "config.toml"
    config.write_text(
        '[profiles.broken]\nhosts = "127.0.0.1"\nport = 1\n\n'
        f'[profiles.dev]\nhosts = "{tui_settings.hosts[0]}"\nport = {tui_settings.port}\n'
        f'keyspace = "{tui_settings.keyspace}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REGISTRY_CONFIG", str(config))
    for variable in ("SCYLLA_HOSTS", "SCYLLA_PORT", "SCYLLA_KEYSPACE"):
        monkeypatch.delenv(variable, raising=False)
    async with run_app(nowhere(tui_settings), retry_delays=(30,)) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, ConnectionScreen)
        await wait_for(pilot, lambda: screen.last_failure is not None, what="a failure")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePicker), what="the picker")
        text = screen_text(app)
        assert "broken" in text and "dev" in text and str(config) in text
        await pilot.press("down", "enter")  # the second profile: dev
        users = await users_loaded(pilot)
        assert app.settings.keyspace == tui_settings.keyspace
        assert users.table.user(holder.username) is not None


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_picker_marks_the_active_profile_and_says_what_the_environment_overrides(
    run_app: RunApp,
    tui_settings: Settings,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
) -> None:
    from pathlib import Path

    from registry_tui.tui.screens.profiles import ProfilePicker

    config = Path(str(tmp_path)) / "config.toml"
    config.write_text(
        '[profiles.first]\nhosts = "127.0.0.1"\nport = 9042\nkeyspace = "k_first"\n\n'
        '[profiles.second]\nhosts = "127.0.0.1"\nport = 9042\nkeyspace = "k_second"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REGISTRY_CONFIG", str(config))
    monkeypatch.delenv("SCYLLA_HOSTS", raising=False)
    monkeypatch.delenv("SCYLLA_KEYSPACE", raising=False)
    monkeypatch.setenv("SCYLLA_PORT", "1")  # wins over both profiles' port
    started = nowhere(tui_settings).with_overrides(profile="first", keyspace="k_first")
    async with run_app(started, retry_delays=(30,), size=size) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, ConnectionScreen)
        await wait_for(pilot, lambda: screen.last_failure is not None, what="a failure")
        shown = str(screen.query_one("#connection-profile", Static).render())
        assert "Profile  first" in shown
        assert "the environment overrides port (SCYLLA_PORT=1)" in shown
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePicker), what="the picker")
        text = screen_text(app)
        assert "● first  (active)" in text
        assert "the environment overrides port (SCYLLA_PORT=1)" in text
        note = str(app.screen.query_one("#profile-env-note", Static).render())
        assert "Set in the environment, used whatever the profile says: SCYLLA_PORT=1" in note
        assert "SCYLLA_PORT=1" in text
        await pilot.press("down", "enter")  # second
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConnectionScreen) and app.screen is not screen,
            what="the connection screen for the second profile",
        )
        assert app.settings.profile == "second" and app.settings.keyspace == "k_second"
        assert app.settings.port == 1  # the environment still wins, and the screen says so
        again = app.screen
        assert isinstance(again, ConnectionScreen)
        await wait_for(pilot, lambda: again.last_failure is not None, what="a failure")
        shown = str(again.query_one("#connection-profile", Static).render())
        assert "Profile  second" in shown and "SCYLLA_PORT=1" in shown
        assert "Profile  second" in screen_text(app)
