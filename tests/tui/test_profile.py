"""The profile editor against the real node: edit and save under IF version = n, Doppel-9's
edit from a second connection, and the version-conflict dialog with each of its choices."""

from __future__ import annotations

import pytest
from textual.widgets import Select, Static, TextArea

from registry_tui.core.outcomes import ProfileRecord, Updated, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.rows import WriteStep
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.screens.confirm import ConfirmScreen
from registry_tui.tui.screens.conflict import ConflictScreen
from registry_tui.tui.screens.profile import ProfileScreen, doppel_bio
from registry_tui.tui.screens.users import UsersScreen
from tests.conftest import unique
from tests.row_faults import AppliedThenLost
from tests.tui.conftest import RunApp
from tests.tui.helpers import fill, notifications, screen_text, users_loaded, wait_for
from tests.tui.seeding import register_user

pytestmark = pytest.mark.db


async def profile_of(registry: Registry, user: UserRecord) -> ProfileRecord:
    profile = await registry.get_profile(user.user_id)
    assert isinstance(profile, ProfileRecord), profile
    return profile


async def open_profile(pilot, user: UserRecord) -> ProfileScreen:
    """Open the user's profile from the table (filtered to the user's own dimension)."""
    app = pilot.app
    screen = await users_loaded(pilot)
    await pilot.press("f")
    await pilot.pause()
    # The filter asks in a field (a picker over the known dimensions, or a one-line prompt).
    field = "#pick-input" if app.screen.query("#pick-input") else "#prompt-input"
    await fill(pilot, user.dimension, field)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.table.user(user.username) is not None, what="the row")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ProfileScreen), what="the editor")
    profile = app.screen
    await wait_for(pilot, lambda: profile.base is not None, what="the profile")
    return profile  # type: ignore[return-value]


def outcome_line(app: RegistryApp) -> str:
    return str(app.screen.query_one("#save-outcome", Static).render())


async def edit(pilot, profile: ProfileScreen, bio: str, status: str | None = None) -> None:
    profile.query_one("#bio", TextArea).load_text(bio)
    if status is not None:
        profile.query_one("#status", Select).value = status
    await pilot.pause()


async def test_the_editor_shows_registration_and_versioned_profile(
    run_app: RunApp, registry: Registry
) -> None:
    user = await register_user(registry, display_name="Captain Photon")
    async with run_app() as (app, pilot):
        profile = await open_profile(pilot, user)
        text = screen_text(app)
        for shown in ("Captain Photon", user.email, user.dimension, str(user.user_id)):
            assert shown in text, shown
        assert "version 1" in text and "status active" in text
        assert profile.base is not None and profile.base.version == 1


async def test_save_is_a_conditional_update_and_says_the_new_version(
    run_app: RunApp, registry: Registry
) -> None:
    user = await register_user(registry)
    async with run_app() as (app, pilot):
        profile = await open_profile(pilot, user)
        await edit(pilot, profile, "Counter-clone specialist", "inactive")
        assert "unsaved edits" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Applied" in outcome_line(app), what="the save")
        assert "UPDATE … IF version = 1 → version 2" in outcome_line(app)
        assert any("version 2" in n for n in notifications(app))
        assert profile.base is not None and profile.base.version == 2
        assert "unsaved edits" not in screen_text(app)

        stored = await profile_of(registry, user)
        assert (stored.version, stored.bio, stored.status) == (
            2,
            "Counter-clone specialist",
            "inactive",
        )


async def provoke_conflict(pilot, registry: Registry, user: UserRecord, mine: str):
    """Doppel-9 edits from another connection; then we save our edit made on version 1."""
    app = pilot.app
    profile = await open_profile(pilot, user)
    await pilot.press("f9")
    await wait_for(pilot, lambda: "Doppel-9 rewrote" in screen_text(app), what="Doppel-9")
    theirs = await profile_of(registry, user)
    assert theirs.version == 2 and theirs.bio == doppel_bio(user.username)
    # A second, separate connection made that edit.
    database = app.database
    assert database.doppel_connection is not None
    assert database.doppel_connection is not database.connection

    await edit(pilot, profile, mine)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen), what="the conflict")
    return profile, app.screen


async def test_conflict_shows_started_typed_and_current_field_by_field(
    run_app: RunApp, registry: Registry
) -> None:
    user = await register_user(registry)
    async with run_app() as (app, pilot):
        _, dialog = await provoke_conflict(pilot, registry, user, "my careful edit")
        grid = [str(cell.render()) for cell in dialog.query("#conflict-grid Static")]
        rows = [grid[i : i + 4] for i in range(0, len(grid), 4)]
        assert rows[0] == ["", "You started from", "You typed", "Database now"]
        assert rows[1] == ["version", "1", "—", "2"]
        assert rows[2] == ["status", "active", "active", "suspended"]
        assert rows[3][0] == "bio" and rows[3][2] == "my careful edit"
        assert rows[3][1] == "(empty)" and rows[3][3] == doppel_bio(user.username)
        assert "IF version = 1 was refused" in screen_text(app)
        assert "(read at SERIAL)" in screen_text(app)


async def test_conflict_take_theirs_reloads_the_database_version(
    run_app: RunApp, registry: Registry
) -> None:
    user = await register_user(registry)
    async with run_app() as (app, pilot):
        profile, _ = await provoke_conflict(pilot, registry, user, "mine, to be dropped")
        await pilot.press("t")
        await wait_for(pilot, lambda: app.screen is profile)
        assert profile.query_one("#bio", TextArea).text == doppel_bio(user.username)
        assert profile.query_one("#status", Select).value == "suspended"
        assert profile.base is not None and profile.base.version == 2
        assert "Took the database's version 2" in outcome_line(app)

        await edit(pilot, profile, "rebased on theirs")  # the next save is against version 2
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Applied" in outcome_line(app))
        assert "IF version = 2 → version 3" in outcome_line(app)

    stored = await profile_of(registry, user)
    assert (stored.version, stored.bio) == (3, "rebased on theirs")


async def test_conflict_overwrite_retries_against_their_version(
    run_app: RunApp, registry: Registry
) -> None:
    user = await register_user(registry)
    async with run_app() as (app, pilot):
        profile, _ = await provoke_conflict(pilot, registry, user, "mine wins")
        await pilot.press("o")
        await wait_for(pilot, lambda: "Applied" in outcome_line(app), what="the retry")
        assert "IF version = 2 → version 3" in outcome_line(app)
        assert profile.query_one("#bio", TextArea).text == "mine wins"

    stored = await profile_of(registry, user)
    assert (stored.version, stored.bio, stored.status) == (3, "mine wins", "active")


async def test_conflict_keep_editing_saves_nothing(run_app: RunApp, registry: Registry) -> None:
    user = await register_user(registry)
    async with run_app() as (app, pilot):
        profile, _ = await provoke_conflict(pilot, registry, user, "still typing")
        await pilot.press("k")
        await wait_for(pilot, lambda: app.screen is profile)
        assert profile.query_one("#bio", TextArea).text == "still typing"
        assert "Not saved" in outcome_line(app)
        stored = await profile_of(registry, user)
        assert stored.version == 2 and stored.bio == doppel_bio(user.username)

        await pilot.press("ctrl+s")  # still based on version 1: the same conflict again
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen))
        await pilot.press("escape")  # escape is "keep editing" too
        await wait_for(pilot, lambda: app.screen is profile)

    assert (await profile_of(registry, user)).version == 2


async def test_leaving_with_unsaved_edits_asks_first(run_app: RunApp, registry: Registry) -> None:
    user = await register_user(registry)
    async with run_app() as (app, pilot):
        profile = await open_profile(pilot, user)
        await edit(pilot, profile, "half-written")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is profile)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, UsersScreen))

    assert (await profile_of(registry, user)).version == 1


async def test_a_profile_deleted_elsewhere_is_reported_not_saved(
    run_app: RunApp, registry: Registry
) -> None:
    user = await register_user(registry, dimension=unique("dim"))
    async with run_app() as (app, pilot):
        profile = await open_profile(pilot, user)
        await registry.delete_user(user.username)
        await edit(pilot, profile, "too late")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "profile is gone" in outcome_line(app))
        assert profile.query_one("#bio", TextArea).disabled


async def test_a_save_whose_outcome_is_unknown_says_so_and_offers_reload_and_retry(
    run_app: RunApp, registry: Registry
) -> None:
    """The save is applied, another client saves over it, and only then is the answer lost:
    version 3 now proves nothing about ours. The editor must say unknown, never refused, show
    the row as it is now, and let the person reload or retry."""
    user = await register_user(registry)

    async def another_writer() -> None:
        out = await registry.update_profile(user.user_id, bio="theirs", expected_version=2)
        assert isinstance(out, Updated), out

    async with run_app() as (app, pilot):
        profile = await open_profile(pilot, user)
        app_registry = profile.database.registry
        lost = AppliedThenLost(app_registry.connection, WriteStep.UPDATE_PROFILE, another_writer)
        app_registry.store = lost
        await edit(pilot, profile, "mine, answer lost")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen), what="the prompt")
        assert lost.sent and lost.sent[0].applied
        text = screen_text(app)
        assert "Outcome unknown" in text and "refused" not in text
        assert "got no answer in time" in text and "version 3" in text
        assert "Retry with mine (o)" in text and "Reload: take what it holds (t)" in text
        await pilot.press("o")  # retry: a new conditional write against version 3
        await wait_for(pilot, lambda: "Applied" in outcome_line(app), what="the retry")
        assert "IF version = 3 → version 4" in outcome_line(app)
    stored = await profile_of(registry, user)
    assert (stored.version, stored.bio) == (4, "mine, answer lost")


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_reload_with_unsaved_edits_asks_first(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    """ctrl+r asks as escape does: "no" keeps the text, "yes" shows what the database holds."""
    user = await register_user(registry)
    async with run_app(size=size) as (app, pilot):
        profile = await open_profile(pilot, user)
        await edit(pilot, profile, "half-written")
        theirs = await registry.update_profile(user.user_id, bio="saved elsewhere")
        assert isinstance(theirs, Updated), theirs
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "Discard your edits?" in screen_text(app) and "Reload" in screen_text(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is profile)
        await pilot.pause(0.3)
        assert profile.query_one("#bio", TextArea).text == "half-written"
        assert profile.base is not None and profile.base.version == 1

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is profile)
        await wait_for(
            pilot,
            lambda: profile.base is not None and profile.base.version == 2,
            what="the reload",
        )
        assert profile.query_one("#bio", TextArea).text == "saved elsewhere"
        assert not profile.dirty

        await pilot.press("ctrl+r")  # nothing unsaved: no question
        await pilot.pause(0.3)
        assert app.screen is profile


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_the_bio_counts_its_characters_against_the_limit(
    run_app: RunApp, registry: Registry, size: tuple[int, int]
) -> None:
    user = await register_user(registry)
    async with run_app(size=size) as (app, pilot):
        profile = await open_profile(pilot, user)
        assert "Bio  0/500" in screen_text(app)
        await pilot.press(*"hey")  # typed into the focused bio, live
        assert "Bio  3/500" in screen_text(app)
        await edit(pilot, profile, "x" * 501)
        assert "Bio  501/500: 1 over the limit" in screen_text(app)
