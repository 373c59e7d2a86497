"""The users table as a sliding window over a keyspace of a few thousand users (small pages, so
it is quick): to the end and back, the rows held stay bounded and the right users are shown in
the database's own order; and an outage that keeps the rows on screen, marked stale."""

from __future__ import annotations

import pytest

from registry_tui.core.config import Settings
from registry_tui.core.outcomes import Deleted
from registry_tui.core.registry import Registry
from registry_tui.tui.link import LinkState
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.users import UsersScreen
from registry_tui.tui.widgets.users_table import PLACEHOLDER, UsersTable
from tests.tui.conftest import RunApp
from tests.tui.helpers import notifications, screen_text, status_line, users_loaded, wait_for
from tests.tui.proxy import Relay
from tests.tui.seeding import register_many

pytestmark = pytest.mark.db

USERS = 2_000
PAGE = 50
SIZE = (120, 60)


@pytest.fixture(scope="module")
async def crowd(registry: Registry) -> list[str]:
    """USERS registrations, the only ones in this module's keyspace until the last test."""
    await register_many(registry, USERS, "Dimension-6")
    return await in_database_order(registry)


async def in_database_order(registry: Registry) -> list[str]:
    return [user.username async for user in registry.iter_users(page_size=1000)]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("registry_tui.tui.screens.users.PAGE_SIZE", PAGE)


def held_bound(table: UsersTable) -> int:
    """What the window may hold: the pages with a row within KEEP_PAGES pages of the view."""
    span = table.rows_in_view + 2 * table.KEEP_PAGES * PAGE
    return (span // PAGE + 2) * PAGE


async def settled(pilot, screen: UsersScreen) -> None:  # type: ignore[no-untyped-def]
    """Wait until no read is on its way and the rows in view are all held."""

    def calm() -> bool:
        top, bottom = screen.table.view_rows()
        held = all(screen.table.pages.user_at(r) for r in range(top, bottom + 1))
        return not screen.reading and held

    await wait_for(pilot, calm, timeout=20, what="the rows in view")


def in_view(table: UsersTable) -> list[str]:
    top, bottom = table.view_rows()
    return [u.username if (u := table.pages.user_at(r)) else "" for r in range(top, bottom + 1)]


def assert_view_matches(screen: UsersScreen, order: list[str]) -> None:
    """Every row in view is the user the database lists at that position."""
    top, bottom = screen.table.view_rows()
    assert bottom >= top
    for row in range(top, bottom + 1):
        user = screen.table.pages.user_at(row)
        assert user is not None and user.username == order[row], row


async def test_to_the_end_and_back_with_bounded_rows(
    run_app: RunApp, crowd: list[str], small_pages: None
) -> None:
    async with run_app(size=SIZE) as (app, pilot):
        screen = await users_loaded(pilot)
        table = screen.table
        await settled(pilot, screen)
        # The view is longer than a page: two pages, not the registry.
        assert table.loaded == 2 * PAGE and table.rows_in_view > PAGE
        assert f"rows 1–{table.rows_in_view} of {2 * PAGE}+ loaded so far" in status_line(app)
        most_held = 0

        # Forward: `end` goes to the last row counted so far and reads the next page.
        while not screen.exhausted:
            await pilot.press("end")
            await settled(pilot, screen)
            most_held = max(most_held, table.held)
            assert table.held <= held_bound(table)
            assert_view_matches(screen, crowd)
        # One cursor kept per page passed (plus, when the count is a multiple of the page
        # size, the empty page that tells the end: the node cannot know it before).
        assert table.loaded == USERS and len(table.pages.pages) in (
            USERS // PAGE,
            USERS // PAGE + 1,
        )
        assert table.user_at_cursor().username == crowd[-1]  # type: ignore[union-attr]
        first, last = USERS - table.rows_in_view + 1, USERS
        assert f"rows {first:,}–{last:,} of {USERS:,} loaded" in status_line(app)
        assert "that is everyone" in status_line(app)
        assert table.pages.user_at(0) is None  # the first pages are long gone from memory

        # Enter on the last user opens that user's profile.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen), what="profile")
        assert app.screen.user.username == crowd[-1]  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)

        # Back, a screenful at a time: every evicted page is read again by its cursor.
        while table.cursor_row > 0:
            await pilot.press("pageup")
            await settled(pilot, screen)
            most_held = max(most_held, table.held)
            assert table.held <= held_bound(table)
            assert_view_matches(screen, crowd)
        assert int(table.scroll_y) == 0
        assert table.user_at_cursor().username == crowd[0]  # type: ignore[union-attr]
        assert most_held <= held_bound(table) < USERS // 4

        # The scrollbar reaches any page passed: the middle, in one move.
        table.scroll_to(y=USERS // 2, animate=False, immediate=True)
        await settled(pilot, screen)
        assert_view_matches(screen, crowd)
        assert PLACEHOLDER not in screen_text(app)
        await pilot.press("home")
        await settled(pilot, screen)
        assert table.user_at_cursor().username == crowd[0]  # type: ignore[union-attr]
        assert_view_matches(screen, crowd)


async def test_rows_deleted_elsewhere_are_not_shown_twice_nor_skipped(
    run_app: RunApp, registry: Registry, crowd: list[str], small_pages: None
) -> None:
    async with run_app(size=SIZE) as (app, pilot):
        screen = await users_loaded(pilot)
        table = screen.table
        for _ in range(4):  # read the first pages, then leave them behind
            await pilot.press("end")
            await settled(pilot, screen)
        # Elsewhere, three users of the second page go: its boundary moves when read again.
        gone = crowd[PAGE + 5 : PAGE + 8]
        for username in gone:
            assert isinstance(await registry.delete_user(username), Deleted)
        now = await in_database_order(registry)
        assert len(now) == USERS - 3

        await pilot.press("home")
        await settled(pilot, screen)
        await pilot.press("r")
        await settled(pilot, screen)
        while int(table.scroll_y) + table.rows_in_view < 4 * PAGE:
            await pilot.press("pagedown")
            await settled(pilot, screen)
            assert_view_matches(screen, now)
        seen = [u.username for u in table.users()]
        assert not set(gone) & set(seen) and len(seen) == len(set(seen))
        assert "Could not" not in status_line(app)
    crowd[:] = now  # the next tests see the registry as it is now


async def test_an_outage_keeps_the_rows_marked_stale_until_a_refresh_succeeds(
    run_app: RunApp, tui_settings: Settings, crowd: list[str], small_pages: None
) -> None:
    relay = Relay(tui_settings.hosts[0], tui_settings.port)
    relay.start()
    settings = tui_settings.with_overrides(port=relay.port, connect_timeout=1)
    try:
        async with run_app(settings, size=SIZE, health_interval=0.2) as (app, pilot):
            screen = await users_loaded(pilot)
            table = screen.table
            await pilot.press("pagedown")
            await settled(pilot, screen)
            shown = in_view(table)
            cursor_user = table.user_at_cursor()
            assert cursor_user is not None
            read_at = sorted({t.strftime("%H:%M:%S") for t in table.read_times()})
            assert not table.stale and "stale" not in status_line(app)

            relay.stop()  # the node is gone, as far as the app can tell
            await wait_for(pilot, lambda: app.link.state is LinkState.OFFLINE, what="offline")
            await pilot.press("r")
            await wait_for(pilot, lambda: "Could not load" in status_line(app), what="failure")
            assert any("Could not load users" in n for n in notifications(app))

            # Still there, same rows, marked stale with the time they were read.
            assert table.stale
            assert in_view(table) == shown and table.user_at_cursor() == cursor_user
            assert f"stale: read at {'–'.join(read_at[:1] + read_at[1:][-1:])} UTC" in (
                status_line(app)
            )
            painted = screen_text(app)
            assert all(username in painted for username in shown)
            assert "offline" in screen_text(app)

            await pilot.press("r")  # again, still down: still shown, still stale
            await wait_for(pilot, lambda: not screen.reading)
            assert table.stale and in_view(table) == shown

            relay.start()
            await wait_for(
                pilot, lambda: app.link.state is LinkState.ONLINE, timeout=30, what="online"
            )
            await pilot.press("r")
            await wait_for(pilot, lambda: not table.stale, timeout=20, what="fresh rows")
            await settled(pilot, screen)
            assert screen.problem is None and "stale" not in status_line(app)
            assert_view_matches(screen, crowd)
            assert table.user_at_cursor() == cursor_user
    finally:
        relay.close()
