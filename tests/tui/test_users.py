"""The users screen against the real node: the table and its paging, register (and the two
ways to be refused), filter, jump, refresh and delete. The sliding window over a few thousand
users and the stale rows of an outage are in test_users_window.py."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from registry_tui.core.outcomes import Deleted, NotFound, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.rows import WriteStep
from registry_tui.tui.screens.confirm import ConfirmScreen
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.prompt import PickScreen
from registry_tui.tui.screens.register import RegisterScreen
from registry_tui.tui.screens.users import PAGE_SIZE, UsersScreen
from tests.conftest import unique
from tests.row_faults import AppliedThenLost
from tests.tui.conftest import RunApp
from tests.tui.helpers import (
    fill,
    notifications,
    screen_text,
    status_line,
    type_text,
    users_loaded,
    wait_for,
)
from tests.tui.seeding import register_many, register_user

pytestmark = pytest.mark.db


def table_line(app: object, username: str) -> str:
    """The table's line (as painted) that shows `username`."""
    lines = [line for line in screen_text(app).splitlines() if username in line]
    assert len(lines) == 1, lines
    return lines[0]


async def filter_by(pilot, screen: UsersScreen, dimension: str) -> None:
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PickScreen), what="the prompt")
    await fill(pilot, dimension)
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: pilot.app.screen is screen and screen.dimension == dimension and not screen.reading,
        what="the filtered listing",
    )


async def users_in(pilot, dimension: str) -> UsersScreen:
    """The users screen once loaded, listing only `dimension` (the test's own rows)."""
    screen = await users_loaded(pilot)
    await filter_by(pilot, screen, dimension)
    return screen


async def test_the_table_shows_every_registration_field(
    run_app: RunApp, registry: Registry
) -> None:
    dimension = unique("dim")
    user = await register_user(registry, dimension=dimension, display_name="Agent Cipher")
    async with run_app() as (app, pilot):
        screen = await users_in(pilot, dimension)
        assert [u.username for u in screen.table.users()] == [user.username]
        row = table_line(app, user.username).split()
        assert row[:3] == [user.username, "Agent", "Cipher"]
        assert row[3:5] == [dimension, user.email]
        assert row[5:] == user.registered_at.strftime("%Y-%m-%d %H:%M").split()
        assert "1 loaded" in status_line(app) and "that is everyone" in status_line(app)
        assert dimension in status_line(app)


async def test_a_narrow_terminal_cuts_cells_with_an_ellipsis_and_drops_the_last_columns(
    run_app: RunApp, registry: Registry
) -> None:
    dimension = unique("dim")
    name = unique("Guardian-Onyx")
    email = f"{name}@clones.galaxy"  # 38 characters: cut at 80 columns, whole at 140
    user = await register_user(
        registry, username=name, email=email, dimension=dimension, display_name="Agent Cipher"
    )
    async with run_app(size=(80, 24)) as (app, pilot):
        screen = await users_in(pilot, dimension)
        line = table_line(app, user.username)
        assert f" {user.username} " in line  # the name whole, never cut
        assert "…" in line and email not in line and email[:20] in line
        assert user.registered_at.strftime("%Y-%m-%d") not in line
        assert not screen.table.show_horizontal_scrollbar  # nothing beyond the edge
        # What did not fit is named (here the dimension and the date: a long name and address).
        assert "hidden: dimension, registered" in status_line(app)
        assert dimension not in line

        await pilot.resize_terminal(140, 24)
        await wait_for(
            pilot,
            lambda: email in table_line(app, user.username),
            what="the whole address on a wide terminal",
        )
        line = table_line(app, user.username)
        assert user.registered_at.strftime("%Y-%m-%d %H:%M") in line and "…" not in line
        assert "too narrow" not in status_line(app)


@pytest.fixture(scope="module")
async def paged(registry: Registry) -> tuple[str, list[UserRecord]]:
    """A dimension of two and a bit pages."""
    dimension = unique("paged")
    return dimension, await register_many(registry, 2 * PAGE_SIZE + 30, dimension)


async def test_pages_load_as_the_cursor_nears_the_end(
    run_app: RunApp, paged: tuple[str, list[UserRecord]]
) -> None:
    dimension, seeded = paged
    async with run_app() as (app, pilot):
        screen = await users_in(pilot, dimension)
        # One page, not the registry: the rest is only promised.
        assert screen.table.loaded == PAGE_SIZE
        assert f"rows 1–{screen.table.rows_in_view} of {PAGE_SIZE}+ loaded so far" in (
            status_line(app)
        )
        assert "more available" in status_line(app)

        await pilot.press("end")  # the cursor to the last row counted so far
        await wait_for(pilot, lambda: screen.table.loaded == 2 * PAGE_SIZE, what="page 2")
        await wait_for(pilot, lambda: not screen.reading)
        assert f"of {2 * PAGE_SIZE}+ loaded so far" in status_line(app)

        await pilot.press("end")
        await wait_for(pilot, lambda: screen.exhausted, what="the last page")
        await wait_for(pilot, lambda: not screen.reading)
        assert screen.table.loaded == len(seeded)
        # At 230 rows every page is near the view: all are held, each seeded user once.
        shown = [screen.table.pages.user_at(row) for row in range(len(seeded))]
        assert sorted(u.username for u in shown if u) == sorted(u.username for u in seeded)
        assert f"of {len(seeded)} loaded" in status_line(app)
        assert "that is everyone" in status_line(app)


async def test_scrolling_without_moving_the_cursor_also_loads_more(
    run_app: RunApp, registry: Registry
) -> None:
    dimension = unique("scroll")
    await register_many(registry, PAGE_SIZE + 10, dimension)
    async with run_app() as (_, pilot):
        screen = await users_in(pilot, dimension)
        assert screen.table.loaded == PAGE_SIZE
        screen.table.scroll_end(animate=False)  # as the mouse wheel does: the cursor stays
        await wait_for(pilot, lambda: screen.exhausted, what="the next page after scrolling")
        assert screen.table.cursor_row == 0
        assert screen.table.loaded == PAGE_SIZE + 10


async def fill_register_form(
    pilot, username: str, email: str, display: str, dim: str, *, keys: bool = False
) -> None:
    app = pilot.app
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, RegisterScreen), what="the form")
    for field, value in (
        ("username", username),
        ("email", email),
        ("display_name", display),
        ("dimension", dim),
    ):
        if keys and field == "username":  # typed key by key: the live "unique as" note
            app.screen.query_one(f"#field-{field}", Input).focus()
            await pilot.pause()
            await type_text(pilot, value)
        else:
            await fill(pilot, value, f"#field-{field}")


async def test_register_from_the_form(run_app: RunApp, registry: Registry) -> None:
    name, dimension = unique("hero"), unique("dim")
    async with run_app() as (app, pilot):
        screen = await users_in(pilot, dimension)
        await fill_register_form(
            pilot, name.upper(), f"{name}@registry.galaxy", "Nova", dimension, keys=True
        )
        assert f"unique as {name}" in screen_text(app)  # the core's key, live
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what="the form to close")
        typed = name.upper()  # shown as typed
        await wait_for(pilot, lambda: screen.table.user(typed) is not None, what="the new row")
        assert screen.table.user_at_cursor().username == typed  # type: ignore[union-attr]
        assert any(f"@{typed} (Nova) registered" in n for n in notifications(app))

    stored = await registry.get_user(name)
    assert isinstance(stored, UserRecord) and stored.display_name == "Nova"


async def test_a_taken_username_shows_who_holds_it(run_app: RunApp, registry: Registry) -> None:
    holder = await register_user(registry, display_name="The Original")
    async with run_app() as (app, pilot):
        await users_loaded(pilot)
        await fill_register_form(
            pilot, holder.username.upper(), f"{unique('x')}@clone.galaxy", "Clone", "Dimension-9"
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "IF NOT EXISTS refused" in screen_text(app))
        text = screen_text(app)
        assert f"@{holder.username} already exists" in text
        assert "The Original" in text and holder.email in text and str(holder.user_id) in text
        assert isinstance(app.screen, RegisterScreen)  # still open: fix and retry

    still = await registry.get_user(holder.username)
    assert isinstance(still, UserRecord) and still.user_id == holder.user_id


async def test_a_taken_email_shows_its_owner(run_app: RunApp, registry: Registry) -> None:
    owner = await register_user(registry)
    newcomer = unique("new")
    async with run_app() as (app, pilot):
        await users_loaded(pilot)
        await fill_register_form(pilot, newcomer, owner.email.upper(), "Newcomer", "Dimension-1")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "this e-mail already has an owner" in screen_text(app))
        assert f"is claimed by @{owner.username}" in screen_text(app)

    assert isinstance(await registry.get_user(newcomer), NotFound)


async def test_invalid_input_is_refused_inline_and_nothing_is_sent(
    run_app: RunApp, registry: Registry
) -> None:
    name = unique("hero")
    async with run_app() as (app, pilot):
        await users_loaded(pilot)
        await fill_register_form(pilot, name, "not-an-address", "Agent", "Dimension-1")
        assert "is not a valid address" in screen_text(app)  # shown while typing
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "nothing was sent" in screen_text(app))
        assert app.focused is app.screen.query_one("#field-email")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, UsersScreen))

    assert isinstance(await registry.get_user(name), NotFound)


async def test_filter_by_dimension_and_clear_it(run_app: RunApp, registry: Registry) -> None:
    mine, other = unique("dim"), unique("dim")
    wanted = {(await register_user(registry, dimension=mine)).username for _ in range(3)}
    unwanted = (await register_user(registry, dimension=other)).username
    async with run_app() as (app, pilot):
        screen = await users_in(pilot, mine)
        assert {u.username for u in screen.table.users()} == wanted
        assert f"dimension = {mine}" in status_line(app)

        await pilot.press("escape")  # all dimensions again
        await wait_for(pilot, lambda: screen.dimension is None and not screen.reading)
        assert "dimension =" not in status_line(app)
        assert screen.table.loaded >= 4
        assert unwanted not in wanted


async def test_jump_to_a_username_is_one_point_read(run_app: RunApp, registry: Registry) -> None:
    user = await register_user(registry, display_name="Jumped To")
    async with run_app() as (app, pilot):
        await users_loaded(pilot)
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await fill(pilot, user.username)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen), what="the profile")
        assert app.screen.user.user_id == user.user_id  # type: ignore[attr-defined]

        await pilot.press("escape")
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await fill(pilot, unique("nobody"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("No identity named" in n for n in notifications(app)))
        assert isinstance(app.screen, UsersScreen)


async def test_refresh_shows_rows_written_elsewhere(run_app: RunApp, registry: Registry) -> None:
    dimension = unique("dim")
    async with run_app() as (app, pilot):
        screen = await users_in(pilot, dimension)
        assert screen.table.loaded == 0 and "nobody here yet" in status_line(app)
        late = await register_user(registry, dimension=dimension)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.table.user(late.username) is not None)
        assert "1 loaded" in status_line(app)


async def test_delete_says_what_goes_and_removes_all_of_it(
    run_app: RunApp, registry: Registry
) -> None:
    dimension = unique("dim")
    user = await register_user(registry, dimension=dimension, display_name="Doomed")
    async with run_app() as (app, pilot):
        screen = await users_in(pilot, dimension)

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        for what in ("registration of", "profile", "e-mail claim", user.email, "Doomed"):
            assert what in text, what
        await pilot.press("n")  # cancel: nothing happens
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.table.user(user.username) is not None

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.table.user(user.username) is None, what="row gone")
        await wait_for(pilot, lambda: any("(Doomed) deleted" in n for n in notifications(app)))
        assert "0 loaded" in status_line(app)

    assert isinstance(await registry.get_user(user.username), NotFound)
    assert isinstance(await registry.get_profile(user.user_id), NotFound)
    assert await registry.get_email_owner(user.email) is None


async def test_delete_of_a_row_whose_name_changed_hands_deletes_nothing(
    run_app: RunApp, registry: Registry
) -> None:
    # The row on screen is one identity; behind the app's back its name is deleted and taken
    # by another. Confirming the delete of the row on screen must not delete the newcomer.
    dimension = unique("dim")
    shown = await register_user(registry, dimension=dimension, display_name="Shown")
    async with run_app() as (app, pilot):
        screen = await users_in(pilot, dimension)
        assert isinstance(await registry.delete_user(shown.username), Deleted)
        newcomer = await register_user(
            registry, username=shown.username, dimension=dimension, display_name="Newcomer"
        )

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: any("Nothing deleted" in n for n in notifications(app)))
        # The view is read again: the newcomer, not the old row.
        await wait_for(
            pilot,
            lambda: getattr(screen.table.user(shown.username), "user_id", None) == newcomer.user_id,
            what="the newcomer's row",
        )

    holder = await registry.get_user_serial(shown.username)
    assert holder is not None and holder.user_id == newcomer.user_id
    assert await registry.get_profile_serial(newcomer.user_id) is not None


async def test_an_unknown_registration_says_so_and_registering_again_continues_it(
    run_app: RunApp, registry: Registry
) -> None:
    """The registration applies, is deleted by its identity, and only then is its answer lost:
    nothing proves what happened. The form says unknown, shows what the database holds, and a
    second submit continues the same attempt (the same user_id), never a second identity."""
    name, dimension = unique("lost"), unique("dim")

    async def deleted_meanwhile() -> None:
        holder = await registry.get_user_serial(name)
        assert holder is not None
        assert isinstance(await registry.delete_user(name, user_id=holder.user_id), Deleted)

    async with run_app() as (app, pilot):
        screen = await users_in(pilot, dimension)
        app_registry = screen.database.registry
        saved = app_registry.store
        lost = AppliedThenLost(
            app_registry.connection, WriteStep.INSERT_REGISTRATION, deleted_meanwhile
        )
        app_registry.store = lost
        try:
            await fill_register_form(pilot, name, f"{name}@registry.galaxy", "Lost", dimension)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "Outcome unknown" in screen_text(app), what="unknown")
        finally:
            app_registry.store = saved
        assert lost.sent and lost.sent[0].applied
        text = screen_text(app)
        assert "no row there now" in text and "continue this same attempt" in text
        form = app.screen
        assert isinstance(form, RegisterScreen) and form.pending is not None
        token = form.pending[0]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what="the form to close")
    stored = await registry.get_user_serial(name)
    assert stored is not None and stored.user_id == token
