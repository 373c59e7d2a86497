"""The users list follows what the person did (a registration shows and is selected, a row
found deleted goes, `r` says it refreshed), and its status line keeps what matters on a
narrow terminal."""

from __future__ import annotations

import pytest

from registry_tui.core.outcomes import Deleted
from registry_tui.core.registry import Registry
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.users import UsersScreen
from tests.conftest import unique
from tests.tui.conftest import RunApp
from tests.tui.helpers import notifications, screen_text, wait_for
from tests.tui.seeding import register_many, register_user
from tests.tui.test_users import fill_register_form, users_in

pytestmark = pytest.mark.db

SIZES = [(80, 24), (120, 36)]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("registry_tui.tui.screens.users.PAGE_SIZE", 25)


async def status_painted(pilot) -> str:  # type: ignore[no-untyped-def]
    """The status line as painted (what the terminal shows, cut at its edge)."""
    pilot.app.clear_notifications()  # a toast would cover it
    await pilot.pause(0.2)
    return screen_text(pilot.app).splitlines()[-2]


@pytest.mark.parametrize("size", SIZES)
async def test_a_registration_is_shown_and_selected_wherever_its_page_is(
    run_app: RunApp, registry: Registry, small_pages: None, size: tuple[int, int]
) -> None:
    dimension = unique("dim")
    await register_many(registry, 150, dimension)  # 6 pages of 25: most not in view
    name = unique("fresh")
    async with run_app(size=size) as (app, pilot):
        screen = await users_in(pilot, dimension)
        await fill_register_form(pilot, name, f"{name}@registry.galaxy", "Nova", dimension)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what="the form to close")
        await wait_for(
            pilot,
            lambda: (u := screen.table.user_at_cursor()) is not None and u.username == name,
            what="the new row under the cursor",
        )
        assert name in screen_text(app)  # in view
        assert any("registered" in n for n in notifications(app))


@pytest.mark.parametrize("size", SIZES)
async def test_back_from_the_profile_of_a_deleted_identity_removes_its_row(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    dimension = unique("dim")
    doomed = await register_user(registry, dimension=dimension)
    stays = await register_user(registry, dimension=dimension)
    async with run_app(size=size) as (app, pilot):
        screen = await users_in(pilot, dimension)
        assert screen.table.select_user(doomed.username)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen), what="the profile")
        assert isinstance(await registry.delete_user(doomed.username), Deleted)
        await pilot.press("ctrl+r")  # the profile finds it deleted
        await wait_for(pilot, lambda: "no longer exists" in screen_text(app), what="gone")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="the list")
        await wait_for(
            pilot, lambda: screen.table.user(doomed.username) is None, what="the row to go"
        )
        assert not any(
            line.lstrip().startswith(doomed.username) for line in screen_text(app).splitlines()
        )
        assert screen.table.user(stays.username) is not None
        assert screen.table.loaded == 1


@pytest.mark.parametrize("size", SIZES)
async def test_refresh_says_it_refreshed(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    dimension = unique("dim")
    await register_user(registry, dimension=dimension)
    async with run_app(size=size) as (app, pilot):
        screen = await users_in(pilot, dimension)
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: any(n.startswith("Refreshed: rows 1–1") for n in notifications(app)),
            what="the refresh to say so",
        )
        assert not screen.reading


@pytest.mark.parametrize("width", [80, 90])
async def test_a_narrow_status_line_still_names_the_hidden_columns(
    run_app: RunApp, registry: Registry, width: int
) -> None:
    dimension = unique("dim")
    name = unique("Guardian-Onyx")
    await register_user(registry, username=name, email=f"{name}@clones.galaxy", dimension=dimension)
    async with run_app(size=(width, 24)) as (_app, pilot):
        screen = await users_in(pilot, dimension)
        assert screen.table.hidden_columns()
        status = await status_painted(pilot)
        assert "too narrow for: " in status or "hidden: " in status, status
        assert "registered" in status.split("too narrow for: ")[-1].split("hidden: ")[-1], status
        assert "1 loaded" in status and f"dimension = {dimension}" in status, status
        assert isinstance(screen, UsersScreen)
