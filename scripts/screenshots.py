#!/usr/bin/env python3
"""The README's pictures, made from the app itself: `make screenshots` (or this script).

Runs the real terminal app (headless, a fixed size) against a keyspace of its own on the
running node, drives it with the keys a person would press, and saves each frame as SVG in
docs/img/: the users table; a profile whose save met Doppel-9's edit (the version-conflict
prompt); the race panel mid-attack and after its audit. The keyspace is dropped at the end.
Run it again whenever a screen changes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, TextArea

from registry_tui.core.config import settings_from_env
from registry_tui.core.logs import quiet_driver_logs
from registry_tui.core.registry import Registry
from registry_tui.core.store import open_connection
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.screens.conflict import ConflictScreen
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.race import RaceScreen
from registry_tui.tui.screens.users import UsersScreen

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "img"
SIZE = (110, 32)
HEROES = (
    ("Agent-Cipher-007", "Agent Cipher", "Dimension-6", "Counter-clone specialist."),
    ("Captain-Nova-042", "Captain Nova", "Dimension-1", None),
    ("Sentinel-Flux-313", "Sentinel Flux", "Echo-Layer", None),
    ("Operator-Rift-101", "Operator Rift", "Void-Sector", None),
    ("Marshal-Onyx-250", "Marshal Onyx", "Dimension-6", None),
    ("Director-Prism-077", "Director Prism", "Shard-Prime", None),
    ("Guardian-Talon-009", "Guardian Talon", "Null-Space", None),
    ("Commander-Apex-001", "Commander Apex", "Dimension-3", None),
)


async def wait_for(pilot: Pilot[int], condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.05)
    await pilot.pause()


async def seed(keyspace: str) -> None:
    settings = settings_from_env().with_overrides(keyspace=keyspace)
    connection = await open_connection(settings)
    try:
        registry = Registry(connection)
        for name, display, dimension, bio in HEROES:
            email = f"{name.lower()}@coodie-corps.galaxy"
            outcome = await registry.register(name, email, display, dimension)
            user = getattr(outcome, "user", None) or getattr(outcome, "existing", None)
            if bio and user is not None:
                await registry.update_profile(user.user_id, bio=bio)
    finally:
        connection.close()


async def drop(keyspace: str) -> None:
    connection = await open_connection(settings_from_env(), create_schema=False)
    try:
        connection.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
    finally:
        connection.close()


async def shoot(keyspace: str, races: int) -> list[Path]:
    settings = settings_from_env().with_overrides(keyspace=keyspace)
    app = RegistryApp(settings)
    saved: list[Path] = []

    def save(name: str) -> None:
        path = OUT / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(path.parent))
        saved.append(path)

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, UsersScreen), "the users screen")
        users = app.screen
        assert isinstance(users, UsersScreen)
        await wait_for(pilot, lambda: not users.loading, "the first page")
        save("users")

        if not users.table.select_user(HEROES[0][0]):
            raise SystemExit(f"screenshots: {HEROES[0][0]} is not in the users table")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen), "the profile")
        profile = app.screen
        await wait_for(pilot, lambda: not profile.query_one("#bio", TextArea).disabled, "bio")
        await pilot.press("f9")  # Doppel-9 edits this profile from another connection
        await wait_for(
            pilot, lambda: "Doppel-9" in str(profile.query_one("#doppel-note").render()), "F9"
        )
        app.clear_notifications()
        profile.query_one("#bio", TextArea).load_text("The real Agent Cipher wrote this.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        save("profile-conflict")
        await pilot.press("escape")
        await pilot.pause(0.2)

        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RaceScreen), "the race panel")
        race = app.screen
        assert isinstance(race, RaceScreen)
        for selector, value in (
            ("#race-usernames", races),
            ("#race-clones", 7),
            ("#race-concurrency", 16),
        ):
            race.query_one(selector, Input).value = str(value)
        race.query_one("#race-mode", Select).value = "land-grab"
        race.query_one("#race-start", Button).focus()
        await pilot.pause()
        await pilot.press("ctrl+s")
        started = time.monotonic()
        await wait_for(pilot, lambda: race.running, "the attack")
        while race.running and time.monotonic() - started < 2.5:
            await pilot.pause(0.1)
        save("race-live")
        await wait_for(pilot, lambda: not race.running, "the audit")
        await pilot.pause(0.5)
        save("race-audit")
    return saved


async def main_async(args: argparse.Namespace) -> int:
    quiet_driver_logs()
    OUT.mkdir(parents=True, exist_ok=True)
    await drop(args.keyspace)
    try:
        await seed(args.keyspace)
        saved = await shoot(args.keyspace, args.races)
    finally:
        await drop(args.keyspace)
    for path in saved:
        print(path.relative_to(REPO))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keyspace", default="registry_screenshots")
    parser.add_argument("--races", type=int, default=400, help="usernames the attack races for")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
