"""Keys: F1 and ? show the keys of the current screen, every action has a key and a Binding
id, the command palette offers the screen's actions, ctrl+q quits."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.command import CommandPalette

from registry_tui.core.outcomes import ProfileRecord
from registry_tui.core.registry import Registry
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.screens.confirm import ConfirmScreen
from registry_tui.tui.screens.conflict import ConflictScreen, Draft
from registry_tui.tui.screens.connection import ConnectionScreen
from registry_tui.tui.screens.help import HelpScreen, screen_keys
from registry_tui.tui.screens.history import ExcerptScreen
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.prompt import PickScreen, PromptScreen
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
    PickScreen,
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
            for shown in ("Register", "Profile", "Delete", "Filter", "Find", "Refresh", "Quit"):
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
        assert {"Register", "Profile", "Delete", "Filter", "Find", "Refresh"} <= titles
        assert {"Help", "Quit", "Race"} <= titles

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


SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])


def footer_line(app: RegistryApp) -> str:
    return screen_text(app).splitlines()[-1]


@SIZES
async def test_the_footer_shows_f2_and_f3_where_they_lead_somewhere(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    user = await register_user(registry)
    async with run_app(size=size) as (app, pilot):
        screen = await users_loaded(pilot)
        footer = footer_line(app)
        assert "f3 Race" in footer and "f2 Users" not in footer  # already on the users

        assert screen.table.select_user(user.username)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
        await wait_for(pilot, lambda: "Loaded version" in screen_text(app))
        footer = footer_line(app)
        assert "f2 Users" in footer and "f3 Race" in footer, footer
        assert "^s Save" in footer and "esc Back" in footer, footer

        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RaceScreen))
        footer = footer_line(app)
        assert "f2 Users" in footer and "f3 Race" not in footer, footer
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is screen)


@SIZES
async def test_dialogs_show_their_own_keys_not_the_screen_behind(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    user = await register_user(registry)
    async with run_app(size=size) as (app, pilot):
        screen = await users_loaded(pilot)
        assert "d Delete" in footer_line(app)  # the users screen's own

        assert screen.table.select_user(user.username)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        footer = footer_line(app)
        assert "y Yes" in footer and "n No" in footer, footer
        assert "Delete" not in footer and "Register" not in footer, footer
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)

        base = ProfileRecord(user.user_id, user.username, "", "active", 1, None)
        current = ProfileRecord(user.user_id, user.username, "theirs", "suspended", 2, None)
        for unknown in (False, True):
            app.push_screen(
                ConflictScreen(Draft("mine", "active", base), current, 1, unknown=unknown)
            )
            await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen))
            footer = footer_line(app)
            for key in ("t Take theirs", "o Overwrite with mine", "k Keep editing"):
                assert key in footer, footer
            assert "Delete" not in footer, footer
            await pilot.press("k")
            await wait_for(pilot, lambda: app.screen is screen)

        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        footer = footer_line(app)
        assert "esc Close" in footer and "Delete" not in footer and "f1 Help" not in footer

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, RegisterScreen))
        assert "esc Cancel" in footer_line(app) and "Delete" not in footer_line(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        assert "esc Cancel" in footer_line(app) and "Delete" not in footer_line(app)


async def test_the_palette_lists_each_action_once_and_says_what_it_does(
    run_app: RunApp, registry: Registry
) -> None:
    user = await register_user(registry)
    async with run_app(size=(100, 30)) as (app, pilot):
        screen = await users_loaded(pilot)
        assert "Users" not in {c.title for c in app.get_system_commands(screen)}  # here now
        assert screen.table.select_user(user.username)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
        assert "Users" in {c.title for c in app.get_system_commands(app.screen)}
        for shown in (screen, app.screen):
            commands = list(app.get_system_commands(shown))
            titles = [command.title for command in commands]
            assert len(titles) == len(set(titles)), titles
            assert "Keys" not in titles  # Textual's key panel: what Help (F1) shows
            for command in commands:
                assert command.help and command.help != command.title, command.title


async def test_every_key_in_help_says_what_it_does(run_app: RunApp, registry: Registry) -> None:
    user = await register_user(registry)
    async with run_app(size=(100, 30)) as (app, pilot):
        screen = await users_loaded(pilot)
        keys = {item.keys: item for item in screen_keys(screen)}
        assert "home" in keys and keys["home"].tooltip
        assert all(item.tooltip for item in keys.values()), keys
        assert screen.table.select_user(user.username)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
        assert all(item.tooltip for item in screen_keys(app.screen))


@pytest.mark.parametrize(
    "owner",
    (ProfileScreen, ConflictScreen, ConfirmScreen, HelpScreen, ExcerptScreen),
    ids=lambda c: c.__name__,
)
def test_every_binding_has_a_tooltip(owner: type) -> None:
    for binding in owner.BINDINGS:
        assert isinstance(binding, Binding) and binding.tooltip, (owner.__name__, binding)


async def test_f1_in_a_dialog_lists_that_dialogs_keys(run_app: RunApp, registry: Registry) -> None:
    """The app's keys stop at a modal screen; F1 still answers there, with the dialog's keys."""
    user = await register_user(registry)
    async with run_app(size=(80, 24)) as (app, pilot):
        screen = await users_loaded(pilot)
        assert screen.table.select_user(user.username)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        dialog = app.screen
        assert "f1 Help" in footer_line(app)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help over a dialog")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen) and help_screen.screen_name == "Confirm"
        listed = {item.description for item in help_screen.keys}
        assert {"Yes", "No", "Help"} <= listed and "Delete" not in listed, listed
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dialog)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)

        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, RegisterScreen))
        await pilot.press("f1")  # while the form's first input has focus
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help over a form")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen) and help_screen.screen_name == "Register"
        assert "Register" in {item.description for item in help_screen.keys}
