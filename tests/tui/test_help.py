"""Keys: F1 and ? show the keys of the current screen, every action has a key and a Binding
id, the command palette offers the screen's actions, ctrl+q quits."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.command import CommandPalette

from registry_tui.core.registry import Registry
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.screens.confirm import ConfirmScreen
from registry_tui.tui.screens.conflict import ConflictScreen
from registry_tui.tui.screens.connection import ConnectionScreen
from registry_tui.tui.screens.help import HelpScreen
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.prompt import PromptScreen
from registry_tui.tui.screens.race import RaceScreen
from registry_tui.tui.screens.register import RegisterScreen
from registry_tui.tui.screens.users import UsersScreen
from registry_tui.tui.widgets.users_table import UsersTable
from tests.tui.conftest import RunApp
from tests.tui.helpers import screen_text, users_loaded, wait_for
from tests.tui.seeding import register_user

pytestmark = pytest.mark.db

OURS = (
    RegistryApp,
    UsersScreen,
    UsersTable,
    ProfileScreen,
    ConflictScreen,
    RegisterScreen,
    ConfirmScreen,
    PromptScreen,
    ConnectionScreen,
    RaceScreen,
    HelpScreen,
)


@pytest.mark.parametrize("owner", OURS, ids=lambda c: c.__name__)
def test_every_action_has_a_key_and_a_binding_id(owner: type) -> None:
    bindings = [b for b in owner.BINDINGS if isinstance(b, Binding)]
    assert bindings and len(bindings) == len(owner.BINDINGS)
    for binding in bindings:
        assert binding.id, f"{owner.__name__}: {binding.key} -> {binding.action} has no id"
        assert binding.key and binding.description
        assert hasattr(owner, f"action_{binding.action.split('(')[0]}"), binding.action


async def test_f1_and_question_mark_show_the_keys_of_the_current_screen(
    run_app: RunApp, registry: Registry
) -> None:
    user = await register_user(registry)
    async with run_app(size=(100, 30)) as (app, pilot):
        screen = await users_loaded(pilot)
        for key in ("f1", "question_mark"):
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            text = screen_text(app)
            assert "Keys — Users" in text
            for shown in ("Register", "Profile", "Delete", "Filter", "Jump", "Refresh", "Quit"):
                assert shown in text, shown
            assert "Doppel-9" not in text  # the profile's keys are not this screen's
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)

        assert screen.table.select_user(user.username)  # a small keyspace: all on page one
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
        await pilot.press("f1")  # works while the bio editor has focus
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert "Keys — Profile" in text
        for shown in ("Save", "Doppel-9 edits", "Reload", "Back"):
            assert shown in text, shown


async def test_the_palette_offers_the_screen_actions(run_app: RunApp) -> None:
    async with run_app(size=(100, 30)) as (app, pilot):
        screen = await users_loaded(pilot)
        titles = {command.title for command in app.get_system_commands(screen)}
        assert {"Register", "Profile", "Delete", "Filter", "Jump", "Refresh"} <= titles
        assert {"Help", "Quit", "Race", "Users"} <= titles

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"regis")
        await pilot.pause(0.3)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RegisterScreen), what="register")


async def test_race_placeholder_and_back(run_app: RunApp) -> None:
    async with run_app(size=(100, 30)) as (app, pilot):
        screen = await users_loaded(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RaceScreen))
        assert "Doppel-9 attack" in screen_text(app)
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is screen)


async def test_ctrl_q_quits_and_closes_the_connections(run_app: RunApp) -> None:
    async with run_app(size=(100, 30)) as (app, pilot):
        await users_loaded(pilot)
        main = app.database.connection
        assert main is not None and not main.closed
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
    assert main.closed and app.return_code == 0
