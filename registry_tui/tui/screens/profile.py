"""One identity: its registration, and its profile under optimistic locking.

Saving is `UPDATE … IF version = n` where n is the version the editor started from. When the
database refuses, the conflict dialog shows the three versions and the person decides. F9 lets
Doppel-9 edit this profile right now, from a second connection, to provoke exactly that."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, Select, Static, TextArea

from registry_tui.core.outcomes import (
    Invalid,
    NotFound,
    ProfileRecord,
    Unknown,
    Updated,
    UpdateOutcome,
    UserRecord,
    VersionConflict,
)
from registry_tui.core.session import Database
from registry_tui.core.validation import BIO_MAX, STATUSES
from registry_tui.safe_text import printable, safe_text
from registry_tui.tui.calls import Failure, guarded
from registry_tui.tui.screens.base import ReportsFailures
from registry_tui.tui.screens.confirm import ConfirmScreen
from registry_tui.tui.screens.conflict import ConflictChoice, ConflictScreen, Draft
from registry_tui.tui.text import DOPPEL, HERO, MUTED, OK, identity, profile_summary
from registry_tui.tui.widgets.banner import Banner


def bio_label(bio: str) -> Text:
    """The bio label with its length against the limit the database enforces (over it: in red,
    by how much, since a save would be refused)."""
    used = len(unicodedata.normalize("NFC", bio.replace("\r\n", "\n")))
    if used > BIO_MAX:
        return Text.assemble(
            "Bio  ", (f"{used}/{BIO_MAX}: {used - BIO_MAX} over the limit", DOPPEL)
        )
    return Text.assemble("Bio  ", (f"{used}/{BIO_MAX}", MUTED))


def doppel_bio(username: str) -> str:
    return f"I am the real @{username}. The original is the clone. — Doppel-9"


@dataclass(frozen=True)
class Loaded:
    user: UserRecord | NotFound | Invalid | Failure
    profile: ProfileRecord | NotFound | Invalid | Failure | None


class ProfileScreen(ReportsFailures, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="profile.save",
            tooltip="UPDATE … IF version = n (the version you started from)",
        ),
        Binding(
            "f9",
            "doppel",
            "Doppel-9 edits",
            id="profile.doppel",
            tooltip="Doppel-9 rewrites this profile now, from another connection",
        ),
        Binding(
            "ctrl+r",
            "reload",
            "Reload",
            id="profile.reload",
            tooltip="Read the profile again (asks first when you have unsaved edits)",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="profile.back",
            tooltip="Back to the users table (asks first when you have unsaved edits)",
        ),
    ]

    class LoadDone(Message):
        def __init__(self, loaded: Loaded) -> None:
            super().__init__()
            self.loaded = loaded

    class SaveDone(Message):
        def __init__(self, draft: Draft, outcome: UpdateOutcome | Failure) -> None:
            super().__init__()
            self.draft = draft
            self.outcome = outcome

    class DoppelDone(Message):
        def __init__(self, outcome: UpdateOutcome | Failure) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self, database: Database, user: UserRecord) -> None:
        super().__init__()
        self.database = database
        self.user = user
        self.base: ProfileRecord | None = None  # the version the editor started from
        self.saving = False
        self.doppel_striking = False

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Banner("Profile")
        with Vertical(id="profile-body"):
            yield Static(id="registration", classes="card")
            yield Static(id="profile-summary")
            yield Static(id="doppel-note")
            yield Label(bio_label(""), id="bio-label", classes="field-label")
            yield TextArea(id="bio", soft_wrap=True, show_line_numbers=False, disabled=True)
            with Horizontal(id="profile-actions"):
                yield Label("Status", classes="field-label", markup=False)
                yield Select(
                    [(s, s) for s in STATUSES],
                    allow_blank=False,
                    value=STATUSES[0],
                    id="status",
                    compact=True,
                    disabled=True,
                )
                yield Button("Save (ctrl+s)", id="save", variant="warning", compact=True)
                yield Static(id="dirty")
            yield Static(id="save-outcome")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_registration(self.user)
        self._outcome(Text("Loading…", MUTED))
        self._load()

    # ---------------------------------------------------------------- load

    @work(group="profile-load", exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        registry = self.database.registry
        user = await guarded(registry.get_user(self.user.username))
        profile: ProfileRecord | NotFound | Invalid | Failure | None = None
        if isinstance(user, UserRecord):
            profile = await guarded(registry.get_profile(user.user_id))
        self.post_message(self.LoadDone(Loaded(user, profile)))

    @on(LoadDone)
    def _loaded(self, message: LoadDone) -> None:
        user, profile = message.loaded.user, message.loaded.profile
        if isinstance(user, Failure):
            self.report_failure(user, "load this identity")
            self._outcome(Text(f"Not loaded: {printable(user.message)} (ctrl+r: retry)"), "-error")
            return
        if not isinstance(user, UserRecord):
            self._outcome(Text("This identity no longer exists (deleted elsewhere).", DOPPEL))
            self._set_editable(False)
            return
        self.user = user
        self._show_registration(user)
        if isinstance(profile, ProfileRecord):
            self._start_from(profile)
            self._outcome(Text.assemble(("Loaded version ", MUTED), (str(profile.version), "bold")))
        elif isinstance(profile, Failure):
            self.report_failure(profile, "load the profile")
            self._outcome(Text(f"Profile not loaded: {printable(profile.message)}"), "-error")
        else:
            self._outcome(Text("This identity has no profile row.", DOPPEL))
            self._set_editable(False)

    def _show_registration(self, user: UserRecord) -> None:
        card = self.query_one("#registration", Static)
        card.border_title = safe_text(user.display_name)
        card.border_subtitle = safe_text(user.dimension)
        card.update(identity(user))

    def _start_from(self, profile: ProfileRecord) -> None:
        """Put `profile` in the editor and make it the version the next save expects."""
        self.base = profile
        self.query_one("#profile-summary", Static).update(profile_summary(profile))
        self.query_one("#doppel-note", Static).update("")
        bio = self.query_one("#bio", TextArea)
        bio.load_text(profile.bio or "")
        bio.move_cursor(bio.document.end)  # continue writing where the text ends
        select: Select[str] = self.query_one("#status", Select)
        if profile.status not in STATUSES:  # written by some other client: show it, literally
            select.set_options(
                [(safe_text(profile.status), profile.status)] + [(s, s) for s in STATUSES]
            )
        select.value = profile.status
        self._set_editable(True)
        self._show_dirty()

    def _set_editable(self, editable: bool) -> None:
        self.query_one("#bio", TextArea).disabled = not editable
        self.query_one("#status", Select).disabled = not editable
        self.query_one("#save", Button).disabled = not editable
        if editable:
            self.query_one("#bio", TextArea).focus()
        self.refresh_bindings()

    # ---------------------------------------------------------------- editing

    def draft(self) -> Draft | None:
        if self.base is None:
            return None
        status = self.query_one("#status", Select).value
        return Draft(
            bio=self.query_one("#bio", TextArea).text,
            status=status if isinstance(status, str) else self.base.status,
            base=self.base,
        )

    @property
    def dirty(self) -> bool:
        draft = self.draft()
        return draft is not None and (
            draft.bio != (draft.base.bio or "") or draft.status != draft.base.status
        )

    @on(TextArea.Changed)
    @on(Select.Changed)
    def _show_dirty(self) -> None:
        self.query_one("#dirty", Static).update(
            Text("● unsaved edits", HERO) if self.dirty else Text("")
        )
        self.query_one("#bio-label", Label).update(bio_label(self.query_one("#bio", TextArea).text))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self.base is not None and not self.saving
        if action == "doppel":
            return self.base is not None and not self.doppel_striking
        return True

    # ---------------------------------------------------------------- save

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        draft = self.draft()
        if draft is None or self.saving:
            return
        self._save(draft, draft.base.version)

    def _save(self, draft: Draft, expected_version: int) -> None:
        self.saving = True
        self.refresh_bindings()
        self._outcome(Text(f"Saving… UPDATE … IF version = {expected_version}", MUTED))
        self._run_save(draft, expected_version)

    @work(group="profile-save", exit_on_error=False)
    async def _run_save(self, draft: Draft, expected_version: int) -> None:
        outcome = await guarded(
            self.database.registry.update_profile(
                draft.base.user_id,
                bio=draft.bio,
                status=draft.status,
                expected_version=expected_version,
            )
        )
        self.post_message(self.SaveDone(draft, outcome))

    @on(SaveDone)
    def _saved(self, message: SaveDone) -> None:
        self.saving = False
        self.refresh_bindings()
        outcome, draft = message.outcome, message.draft
        if isinstance(outcome, Updated):
            before = outcome.profile.version - 1
            self._start_from(outcome.profile)
            text = f"Applied: UPDATE … IF version = {before} → version {outcome.profile.version}"
            if outcome.resolved_after_timeout:
                text += " (confirmed by a SERIAL read after a timeout)"
            self._outcome(Text(f"✔ {text}", OK))
            self.notify(text, title="Saved", markup=False, timeout=3)
        elif isinstance(outcome, VersionConflict):
            self._outcome(
                Text(
                    f"✖ Refused: the database holds version {outcome.current.version}, "
                    f"not {outcome.expected_version}.",
                    DOPPEL,
                )
            )
            self.app.push_screen(
                ConflictScreen(draft, outcome.current, outcome.expected_version),
                callback=lambda choice: self._resolve(choice, draft, outcome.current),
            )
        elif isinstance(outcome, NotFound):
            self._outcome(Text("✖ Not saved: this profile is gone (deleted elsewhere).", DOPPEL))
            self._set_editable(False)
        elif isinstance(outcome, Invalid):
            problem = f"{outcome.field} {printable(outcome.message)}"
            self._outcome(Text(f"✖ Not saved: {problem}"), "-error")
        elif isinstance(outcome, Unknown) and isinstance(outcome.current, ProfileRecord):
            # The row as it is now, and the same choices as a conflict: reload, retry, keep.
            current = outcome.current
            self._outcome(
                Text(
                    f"? Outcome unknown: no answer in time, and version {current.version} now "
                    "does not show whether your save applied.",
                    DOPPEL,
                )
            )
            self.app.push_screen(
                ConflictScreen(draft, current, draft.base.version, unknown=True),
                callback=lambda choice: self._resolve(choice, draft, current),
            )
        elif isinstance(outcome, Unknown) and outcome.current_read:
            self._outcome(
                Text(
                    "? Outcome unknown: no answer in time, and this profile is gone now "
                    "(deleted, perhaps after your save applied). Your text is still here.",
                    DOPPEL,
                )
            )
            self._set_editable(False)
        elif isinstance(outcome, Unknown):
            self._outcome(
                Text(f"? Outcome unknown: {printable(outcome.reason)}. Reload (ctrl+r) to see."),
                "-error",
            )
        else:
            self.report_failure(outcome, "save")
            self._outcome(Text(f"✖ Not saved: {printable(outcome.message)}"), "-error")

    def _resolve(self, choice: ConflictChoice | None, draft: Draft, current: ProfileRecord) -> None:
        if choice is ConflictChoice.TAKE_THEIRS:
            self._start_from(current)
            self._outcome(
                Text(f"↺ Took the database's version {current.version}; your edits are gone.")
            )
        elif choice is ConflictChoice.OVERWRITE:
            # Retry the same text against their version: a new conditional write, not a blind one.
            self.base = current
            self.query_one("#profile-summary", Static).update(profile_summary(current))
            self._save(Draft(draft.bio, draft.status, current), current.version)
        else:
            self._outcome(
                Text(
                    f"✎ Not saved. The database holds version {current.version}; "
                    "saving again will meet the same conflict.",
                    MUTED,
                )
            )
            self.query_one("#bio", TextArea).focus()

    # ---------------------------------------------------------------- Doppel-9

    def action_doppel(self) -> None:
        if self.base is None or self.doppel_striking:
            return
        self.doppel_striking = True
        self.refresh_bindings()
        self._run_doppel(self.base.user_id, self.user.username)

    @work(group="doppel", exit_on_error=False)
    async def _run_doppel(self, user_id: uuid.UUID, username: str) -> None:
        async def strike() -> UpdateOutcome:
            doppel = await self.database.doppel()
            # No expected version: the core reads it at SERIAL, then writes IF version = it.
            return await doppel.update_profile(
                user_id, bio=doppel_bio(username), status="suspended"
            )

        self.post_message(self.DoppelDone(await guarded(strike())))

    @on(DoppelDone)
    def _doppel_done(self, message: DoppelDone) -> None:
        self.doppel_striking = False
        self.refresh_bindings()
        outcome = message.outcome
        if isinstance(outcome, Updated):
            version = outcome.profile.version
            self.query_one("#doppel-note", Static).update(
                Text.assemble(
                    ("Doppel-9 ", DOPPEL),
                    f"rewrote this profile from another connection: the database now holds "
                    f"version {version}. Your next save will meet a conflict.",
                )
            )
        elif isinstance(outcome, Failure):
            self.report_failure(outcome, "let Doppel-9 strike")
        elif isinstance(outcome, NotFound):
            self.notify("Doppel-9 found no profile to rewrite.", severity="warning", markup=False)
        else:
            # A conflict here means someone else saved between Doppel-9's read and write.
            self.notify(
                "Doppel-9's edit was refused: the profile changed under it. Try again.",
                severity="warning",
                markup=False,
            )

    # ---------------------------------------------------------------- leaving

    def action_reload(self) -> None:
        if not self.dirty:
            self._reload()
            return
        self._ask_discard("Reload what the database holds and lose them?", self._reload_if)

    def _reload(self) -> None:
        self._outcome(Text("Loading…", MUTED))
        self._load()

    def _reload_if(self, reload: bool | None) -> None:
        if reload:
            self._reload()

    def action_back(self) -> None:
        if not self.dirty:
            self.dismiss()
            return
        self._ask_discard("Leave and lose them?", self._leave_if)

    def _ask_discard(self, question: str, then: Callable[[bool | None], None]) -> None:
        self.app.push_screen(
            ConfirmScreen(
                "Discard your edits?",
                Text(f"Your edits to this profile were not saved. {question}"),
                yes="Discard",
                no="Keep editing",
            ),
            callback=then,
        )

    def _leave_if(self, leave: bool | None) -> None:
        if leave:
            self.dismiss()

    def _outcome(self, text: Text, classes: str = "") -> None:
        outcome = self.query_one("#save-outcome", Static)
        outcome.update(text)
        outcome.set_class(classes == "-error", "-error")
