"""SVG snapshots of the main screens at fixed sizes, against a keyspace whose content is fixed
(names, user ids and the clock of every write), so each frame is the same on every run.

Review a changed frame with the HTML report (`--snapshot-report`); accept it with
`pytest tests/tui/test_snapshots.py --snapshot-update`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timezone

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from registry_tui.core.config import Settings
from registry_tui.core.outcomes import Updated, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.screens.confirm import ConfirmScreen
from registry_tui.tui.screens.conflict import ConflictScreen
from registry_tui.tui.screens.connection import ConnectionScreen
from registry_tui.tui.screens.help import HelpScreen
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.race import RaceScreen
from registry_tui.tui.screens.register import RegisterScreen
from registry_tui.tui.screens.users import UsersScreen
from tests.tui.helpers import HOSTILE, fill, restore_reads, users_loaded, wait_for
from tests.tui.seeding import register_user

pytestmark = pytest.mark.db

SIZE = (100, 30)
CLOCK = datetime(2187, 6, 6, 21, 87 - 60, 0, tzinfo=timezone.utc)  # the demo's year

HEROES = (
    ("Agent-Cipher-007", "Agent Cipher", "Dimension-6", "Counter-clone specialist."),
    ("Captain-Nova-042", "Captain Nova", "Dimension-1", None),
    ("Sentinel-Flux-313", "Sentinel Flux", "Echo-Layer", None),
    ("Operator-Rift-101", "Operator Rift", "Void-Sector", None),
    ("Marshal-Onyx-250", "Marshal Onyx", "Dimension-6", None),
    ("Director-Prism-77", "Director Prism", "Shard-Prime", None),
    ("Guardian-Talon-9", "Guardian Talon", "Null-Space", None),
    ("Commander-Apex-1", "Commander Apex", "Dimension-3", None),
    ("Doppel-Bait-900", "Doppel Bait", "Dimension-9", "Nothing to see here."),
    ("hostile-markup-1", HOSTILE[1], HOSTILE[0], f"{HOSTILE[2]} {HOSTILE[3]}"),
)


# Where the core reads the clock: updates (registry) and registrations (registration).
CLOCKS = ("registry_tui.core.registry.utc_now", "registry_tui.core.registration.utc_now")


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write the app makes (Doppel-9's edit, a save) is stamped with the same moment."""
    for clock in CLOCKS:
        monkeypatch.setattr(clock, lambda: CLOCK)


@pytest.fixture(scope="module")
async def heroes(registry: Registry) -> dict[str, UserRecord]:
    users = {}
    with pytest.MonkeyPatch.context() as patch:
        for clock in CLOCKS:
            patch.setattr(clock, lambda: CLOCK)
        for index, (name, display, dimension, bio) in enumerate(HEROES):
            user = await register_user(
                registry,
                username=name,
                display_name=display,
                dimension=dimension,
                email=f"{name.replace('-', '.')}@registry.galaxy",
                user_id=uuid.UUID(int=0x2187_0000 + index),
            )
            if bio is not None:
                done = await registry.update_profile(user.user_id, bio=bio, expected_version=1)
                assert isinstance(done, Updated), done
            users[name] = user
    return users


@pytest.fixture
def snap(
    snap_compare: Callable[..., bool],
    tui_settings: Settings,
    connection: Connection,
    heroes: dict[str, UserRecord],
) -> Iterator[Callable[..., bool]]:
    def compare(
        run_before: Callable[[Pilot[int]], Awaitable[None]],
        *,
        size: tuple[int, int] = SIZE,
        settings: Settings | None = None,
        **options: object,
    ) -> bool:
        app = RegistryApp(settings or tui_settings, **options)  # type: ignore[arg-type]

        async def prepare(pilot: Pilot[int]) -> None:
            await run_before(pilot)
            app.clear_notifications()
            for widget in app.screen.query("Input, TextArea"):
                widget.cursor_blink = False  # type: ignore[attr-defined]
            await pilot.pause()

        return snap_compare(app, terminal_size=size, run_before=prepare)

    yield compare
    restore_reads(connection)


async def on_users(pilot: Pilot[int]) -> None:
    await users_loaded(pilot)


async def on_profile(pilot: Pilot[int], username: str = "Agent-Cipher-007") -> ProfileScreen:
    app = pilot.app
    screen = await users_loaded(pilot)
    assert screen.table.select_user(username)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen))
    profile = app.screen
    await wait_for(pilot, lambda: profile.base is not None)  # type: ignore[attr-defined]
    return profile  # type: ignore[return-value]


def test_users(snap: Callable[..., bool]) -> None:
    assert snap(on_users)


def test_users_at_80x24(snap: Callable[..., bool]) -> None:
    assert snap(on_users, size=(80, 24))


def test_users_without_colour(snap: Callable[..., bool], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap(on_users)


def test_profile(snap: Callable[..., bool]) -> None:
    assert snap(on_profile)


def test_version_conflict(snap: Callable[..., bool]) -> None:
    async def conflict(pilot: Pilot[int]) -> None:
        profile = await on_profile(pilot, "doppel-bait-900")
        await pilot.press("f9")
        await wait_for(pilot, lambda: "Doppel-9" in str(profile.query_one("#doppel-note").render()))
        pilot.app.clear_notifications()  # its toast would stay on this screen, under the dialog
        profile.query_one("#bio", TextArea).load_text("The real one wrote this.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictScreen))

    assert snap(conflict)


def test_register_username_taken(snap: Callable[..., bool]) -> None:
    async def taken(pilot: Pilot[int]) -> None:
        await users_loaded(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RegisterScreen))
        await fill(pilot, "Agent-Cipher-007", "#field-username")
        await fill(pilot, "clone@doppel.galaxy", "#field-email")
        await fill(pilot, "Agent Cipher", "#field-display_name")
        await fill(pilot, "Dimension-9", "#field-dimension")
        pilot.app.screen.query_one("#field-username", Input).focus()
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: pilot.app.screen.query_one("#register-outcome").has_class("-shown")
        )

    assert snap(taken)


def test_delete_confirmation(snap: Callable[..., bool]) -> None:
    async def confirm(pilot: Pilot[int]) -> None:
        screen = await users_loaded(pilot)
        assert screen.table.select_user("Captain-Nova-042")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))

    assert snap(confirm)


def test_help(snap: Callable[..., bool]) -> None:
    async def help_screen(pilot: Pilot[int]) -> None:
        await users_loaded(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    assert snap(help_screen)


def test_race_placeholder(snap: Callable[..., bool]) -> None:
    async def race(pilot: Pilot[int]) -> None:
        await users_loaded(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RaceScreen))

    assert snap(race)


def test_database_down(snap: Callable[..., bool], tui_settings: Settings) -> None:
    async def down(pilot: Pilot[int]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, ConnectionScreen)
        await wait_for(pilot, lambda: screen.last_failure is not None)

    nowhere = tui_settings.with_overrides(
        hosts=("127.0.0.1",), port=1, connect_timeout=1, keyspace="registry"
    )
    # One attempt, then a wait longer than the test: the frame cannot change under us.
    assert snap(down, settings=nowhere, retry_delays=(3600,))


def test_users_at_120x36(snap: Callable[..., bool]) -> None:
    async def home(pilot: Pilot[int]) -> None:
        await users_loaded(pilot)
        assert isinstance(pilot.app.screen, UsersScreen)

    assert snap(home, size=(120, 36))
