"""Find, filter, sort and copy on the users screen as people expect: `/` narrows the names read
as you type (any case, anywhere in a name), a dimension filter in any case offers the
dimensions read, a sort (s, or a click on a header) says which rows it sorted, and `c` copies
a field of the selected row. This module's keyspace holds only its own rows."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from registry_tui.core.registry import Registry
from registry_tui.tui.screens.prompt import PickScreen
from registry_tui.tui.screens.users import UsersScreen
from registry_tui.tui.widgets.users_table import UsersTable
from tests.conftest import unique
from tests.tui.conftest import RunApp
from tests.tui.helpers import fill, screen_text, status_line, users_loaded, wait_for
from tests.tui.seeding import register_user

pytestmark = pytest.mark.db

SIZES = [(80, 24), (120, 36)]


async def pick(pilot, key: str, typed: str) -> PickScreen:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PickScreen), what="the picker")
    await fill(pilot, typed)
    screen = pilot.app.screen
    assert isinstance(screen, PickScreen)
    return screen


async def back_to(pilot, screen: UsersScreen) -> None:  # type: ignore[no-untyped-def]
    await wait_for(
        pilot,
        lambda: pilot.app.screen is screen and not screen.reading,
        what="the users screen",
    )


@pytest.mark.parametrize("size", SIZES)
async def test_find_lists_names_holding_the_text_in_any_case_as_you_type(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    tag = unique("zq").split("-")[1][:6]
    wanted = await register_user(registry, username=f"agent-{tag}-cipher")
    also = await register_user(registry, username=f"{tag}-nova")
    other = await register_user(registry)
    async with run_app(size=size) as (app, pilot):
        screen = await users_loaded(pilot)
        picker = await pick(pilot, "slash", tag.upper())  # inside a name, another case
        names = [choice.value for choice in picker.shown]
        assert names == [also.username, wanted.username]  # the prefix match first
        assert other.username not in names
        assert "2 of" in screen_text(app) and wanted.username in screen_text(app)
        await fill(pilot, f"{tag}-CI")
        assert [choice.value for choice in picker.shown] == [wanted.username]
        await pilot.press("down", "enter")
        await back_to(pilot, screen)
        assert screen.table.user_at_cursor().username == wanted.username  # type: ignore[union-attr]


@pytest.mark.parametrize("size", SIZES)
async def test_a_dimension_filter_in_any_case_finds_the_stored_dimension(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    dimension = f"Echo-Layer-{unique('x')[2:8]}"
    mine = {(await register_user(registry, dimension=dimension)).username for _ in range(2)}
    async with run_app(size=size) as (_app, pilot):
        screen = await users_loaded(pilot)
        picker = await pick(pilot, "f", dimension.lower()[:12])
        assert dimension in [choice.value for choice in picker.shown]  # offered to pick
        await fill(pilot, dimension.lower())
        await pilot.press("enter")  # as typed, in another case
        await back_to(pilot, screen)
        assert screen.dimension == dimension
        assert {user.username for user in screen.table.users()} == mine


@pytest.mark.parametrize("size", SIZES)
async def test_sort_by_a_key_or_a_header_click_says_which_rows_it_sorted(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    dimension = unique("Sorted")
    for prefix in ("cc", "aa", "bb", "dd"):
        await register_user(registry, username=unique(prefix), dimension=dimension)
    async with run_app(size=size) as (app, pilot):
        screen = await users_loaded(pilot)
        await pick(pilot, "f", dimension)
        await pilot.press("enter")
        await back_to(pilot, screen)

        picker = await pick(pilot, "s", "username ▼")
        assert picker.shown[0].value == "-username"
        await pilot.press("down", "enter")
        await back_to(pilot, screen)
        names = [user.username for user in screen.table.users()]
        assert names == sorted(names, reverse=True) and len(names) == 4
        assert "sorted by username ▼: all 4 rows" in status_line(app) or (
            size[0] == 80 and "sorted: all 4 rows" in status_line(app)
        )
        assert "username ▼" in screen_text(app)  # the header says so
        assert "d Delete" in screen_text(app).splitlines()[-1]  # the footer follows the rows

        table = screen.query_one(UsersTable)
        await pilot.click(UsersTable, offset=(1, 0))  # the username header: ascending
        await wait_for(pilot, lambda: screen.sort == ("username", False) and not screen.reading)
        names = [user.username for user in screen.table.users()]
        assert names == sorted(names)
        assert table.sorted_by == ("username", False)

        await pick(pilot, "s", "database")
        await pilot.press("down", "enter")
        await back_to(pilot, screen)
        assert screen.sort is None and "sorted" not in status_line(app)


@pytest.mark.parametrize("size", SIZES)
async def test_copy_puts_a_field_of_the_selected_row_on_the_clipboard(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    user = await register_user(registry)
    async with run_app(size=size) as (app, pilot):
        screen = await users_loaded(pilot)
        assert screen.table.select_user(user.username)
        picker = await pick(pilot, "c", "e-mail")
        assert [choice.value for choice in picker.shown] == [user.email]
        await pilot.press("enter")  # the one it narrowed to
        await back_to(pilot, screen)
        assert app.clipboard == user.email
        await pick(pilot, "c", "")
        picker = app.screen
        await pilot.press("down", "down", "down")
        assert picker.query_one(OptionList).highlighted == 2
        await pilot.press("enter")
        await back_to(pilot, screen)
        assert app.clipboard == str(user.user_id)
