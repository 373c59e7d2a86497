"""Untrusted text through every screen: display names, dimensions and bios such as `[/x]`,
`[@click=app.quit]x`, `a\\` or `[b` show literally in table cells, labels, titles, dialogs
and notifications, and never crash the app or act."""

from __future__ import annotations

import pytest
from textual.widgets import TextArea

from registry_tui.core.outcomes import Updated, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.screens.confirm import ConfirmScreen
from registry_tui.tui.screens.conflict import ConflictScreen
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.register import RegisterScreen
from registry_tui.tui.screens.users import UsersScreen
from tests.tui.conftest import RunApp
from tests.tui.helpers import (
    HOSTILE,
    click_actions,
    fill,
    notifications,
    screen_text,
    users_loaded,
    wait_for,
)
from tests.tui.seeding import register_user

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
async def hostile_users(registry: Registry) -> dict[str, UserRecord]:
    """One identity per hostile string, holding it as display name, dimension and bio."""
    users = {}
    for text in HOSTILE:
        user = await register_user(registry, display_name=text, dimension=text)
        updated = await registry.update_profile(user.user_id, bio=f"bio {text}")
        assert isinstance(updated, Updated), updated
        users[text] = user
    return users


def assert_literal(app: RegistryApp, *texts: str) -> None:
    shown = screen_text(app)
    for text in texts:
        assert text in shown, f"{text!r} not shown literally in:\n{shown}"
    assert not [a for a in click_actions(app) if "quit" in a], "markup became an action"
    assert app.is_running


async def test_table_cells_and_the_status_line(
    run_app: RunApp, hostile_users: dict[str, UserRecord]
) -> None:
    async with run_app(size=(120, 30)) as (app, pilot):
        screen = await users_loaded(pilot)
        assert screen.table.loaded == len(HOSTILE)
        assert_literal(app, *HOSTILE)

        # Clicking the cell that says "[@click=app.quit]x" selects a row; it quits nothing.
        row = screen.table.get_row_index(hostile_users["[@click=app.quit]x"].username)
        await pilot.click(screen.table, offset=(30, row + 1))
        await pilot.pause()
        assert app.is_running

    for text in HOSTILE:
        async with run_app(size=(120, 30)) as (app, pilot):
            screen = await users_loaded(pilot)
            await pilot.press("f")
            await fill(pilot, text, "#pick-input")
            await pilot.press("enter")
            await wait_for(pilot, lambda s=screen: app.screen is s and not s.reading)
            assert screen.dimension == text and screen.table.loaded == 1
            assert_literal(app, f"dimension = {text}")


async def test_profile_card_title_editor_and_conflict_dialog(
    run_app: RunApp, hostile_users: dict[str, UserRecord]
) -> None:
    async with run_app(size=(120, 36)) as (app, pilot):
        screen = await users_loaded(pilot)
        for text, user in hostile_users.items():
            screen.table.select_user(user.username)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
            profile = app.screen
            await wait_for(pilot, lambda p=profile: p.base is not None)  # type: ignore[attr-defined]
            assert profile.query_one("#bio", TextArea).text == f"bio {text}"
            assert_literal(app, text, f"bio {text}")
            card = profile.query_one("#registration")
            assert card.border_title == card._border_title.markup  # type: ignore[union-attr]
            assert card._border_title.plain == text  # type: ignore[union-attr]

            # Doppel-9 strikes, we save our own hostile text: the dialog shows all three.
            await pilot.press("f9")
            await wait_for(pilot, lambda: "Doppel-9 rewrote" in screen_text(app))
            profile.query_one("#bio", TextArea).load_text(f"mine {text}")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen))
            assert_literal(app, f"bio {text}", f"mine {text}")
            await pilot.press("o")
            await wait_for(pilot, lambda p=profile: app.screen is p)
            await wait_for(pilot, lambda: "Applied" in screen_text(app))
            assert_literal(app, f"mine {text}")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)


async def test_register_refusal_shows_the_holder_literally(
    run_app: RunApp, hostile_users: dict[str, UserRecord]
) -> None:
    async with run_app(size=(120, 36)) as (app, pilot):
        await users_loaded(pilot)
        for text, user in hostile_users.items():
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, RegisterScreen))
            await fill(pilot, user.username, "#field-username")
            await fill(pilot, "someone.else@registry.galaxy", "#field-email")
            await fill(pilot, text, "#field-display_name")
            await fill(pilot, text, "#field-dimension")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "already exists" in screen_text(app))
            assert_literal(app, text)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, UsersScreen))


async def test_delete_dialog_and_notification(
    run_app: RunApp, registry: Registry, hostile_users: dict[str, UserRecord]
) -> None:
    # Fresh identities: deleting must not take the other tests' rows.
    doomed = [await register_user(registry, display_name=t, dimension=t) for t in HOSTILE]
    async with run_app(size=(120, 36)) as (app, pilot):
        screen = await users_loaded(pilot)
        for user in doomed:
            screen.table.select_user(user.username)
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert_literal(app, user.display_name)
            await pilot.press("y")
            await wait_for(pilot, lambda u=user: screen.table.user(u.username) is None)
            message = f"({user.display_name}) deleted"
            await wait_for(pilot, lambda m=message: any(m in n for n in notifications(app)))
            assert_literal(app, message[:40])
            app.clear_notifications()  # the next dialog must not sit under this toast
            await pilot.pause()
