"""Helpers for driving the app with Pilot: wait for a state, read the screen as text."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from textual.pilot import Pilot
from textual.widgets import Input, Static

from registry_tui.core import store
from registry_tui.core.config import Settings
from registry_tui.core.store import Connection
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.screens.users import UsersScreen

HOSTILE = ("[/x]", "[@click=app.quit]x", "a\\", "[b")


async def wait_for(
    pilot: Pilot[object], condition: Callable[[], object], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the app run until `condition()` holds; fail with the screen's text if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what or condition}; screen:\n{screen_text(pilot.app)}"
            )
        await pilot.pause(0.05)
    await pilot.pause()  # let the screen catch up with the state it waited for


def screen_text(app: object) -> str:
    """What the active screen shows, as plain lines (the compositor's own rendering)."""
    screen = app.screen  # type: ignore[attr-defined]
    return "\n".join(strip.text for strip in screen._compositor.render_strips())


def click_actions(app: object) -> list[str]:
    """Every `@click` action embedded anywhere on the active screen (markup that was parsed)."""
    screen = app.screen  # type: ignore[attr-defined]
    found = []
    for strip in screen._compositor.render_strips():
        for segment in strip:
            meta = segment.style.meta if segment.style else {}
            if "@click" in meta:
                found.append(str(meta["@click"]))
    return found


def users_screen(app: RegistryApp) -> UsersScreen:
    screen = app.screen
    assert isinstance(screen, UsersScreen), type(screen)
    return screen


def status_line(app: RegistryApp) -> str:
    return str(app.screen.query_one("#users-status", Static).render())


async def users_loaded(pilot: Pilot[object]) -> UsersScreen:
    """Wait for the users screen and its first page."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, UsersScreen), what="the users screen")
    screen = users_screen(app)  # type: ignore[arg-type]
    await wait_for(pilot, lambda: not screen.reading, what="the first page")
    return screen


@asynccontextmanager
async def running(
    settings: Settings,
    size: tuple[int, int] = (100, 30),
    after: Callable[[], None] | None = None,
    **options: object,
) -> AsyncIterator[tuple[RegistryApp, Pilot[int]]]:
    """The app under test, stopped (and its connections closed) at the end."""
    app = RegistryApp(settings, **options)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=size, notifications=True) as pilot:
            yield app, pilot
    finally:
        if after is not None:
            after()


def restore_reads(connection: Connection) -> None:
    """coodie 1.9.3 runs every read on one process-wide default driver, and each app under
    test registers its own connection as that driver, then closes it on exit. Point reads
    back at the test's connection, so the `registry` fixture keeps working afterwards.
    (A product process holds one main connection; only tests open and close several.)"""
    store.serve_reads_from(connection)


async def type_text(pilot: Pilot[object], text: str) -> None:
    """Type `text` key by key into whatever has focus (~0.1 s a key under Pilot)."""
    await pilot.press(*text)


async def fill(pilot: Pilot[object], text: str, selector: str | None = None) -> None:
    """Put `text` in an input (the focused one by default) as a paste would: the same Changed
    events and validation as typing, without a screen refresh per character."""
    field = pilot.app.screen.query_one(selector, Input) if selector else pilot.app.focused
    assert isinstance(field, Input), field
    field.value = text
    field.cursor_position = len(text)
    await pilot.pause()


def notifications(app: object) -> list[str]:
    """Messages of the notifications the app is showing."""
    return [n.message for n in app._notifications]  # type: ignore[attr-defined]
