"""Home: the registry as a table that holds only the pages near the view.

Cassandra pages forward only (a paging state, no offset): the table keeps the cursor of every
page passed, reads a page again by its cursor when the view comes back to it, and drops the
rows of pages far from the view, so scrolling through half a million users takes no more
memory than the first screen. The status line says which rows are in view and how many are
counted so far; the total is known once the last page is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from registry_tui.core.outcomes import (
    CleanupFinished,
    Deleted,
    DeleteOutcome,
    Invalid,
    NotFound,
    Page,
    Unknown,
    UserRecord,
)
from registry_tui.core.session import Database
from registry_tui.safe_text import printable, safe_text
from registry_tui.tui.calls import Failure, guarded
from registry_tui.tui.screens.base import ReportsFailures
from registry_tui.tui.screens.confirm import ConfirmScreen
from registry_tui.tui.screens.profile import ProfileScreen
from registry_tui.tui.screens.prompt import Choice, Picked, PickScreen, matching
from registry_tui.tui.screens.register import RegisterScreen
from registry_tui.tui.text import DOPPEL, HERO, MUTED, when
from registry_tui.tui.widgets.banner import Banner
from registry_tui.tui.widgets.user_pages import PageWant
from registry_tui.tui.widgets.users_table import UsersTable
from registry_tui.user_columns import SORT_FIELDS, sort_key

PAGE_SIZE = 100
# A sort reads at most this many rows (in pages of SORT_PAGE) and sorts them here: the
# database returns a listing in token order and cannot sort it.
SORT_BOUND = 2_000
SORT_PAGE = 500


@dataclass(frozen=True)
class PageRequest:
    generation: int  # bumped by every new listing: answers to an older one are dropped
    dimension: str | None
    want: PageWant


class UsersScreen(ReportsFailures, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "n",
            "register",
            "Register",
            id="users.register",
            tooltip="Register a new identity (INSERT … IF NOT EXISTS)",
        ),
        Binding(
            "d,delete",
            "delete",
            "Delete",
            id="users.delete",
            tooltip="Delete the selected identity (asks first)",
        ),
        Binding(
            "f",
            "filter",
            "Filter",
            id="users.filter",
            tooltip="Show one dimension only (any case; the dimensions read so far to pick from)",
        ),
        Binding(
            "slash",
            "jump",
            "Find",
            id="users.jump",
            key_display="/",
            tooltip="Find a name among the rows read, as you type; or open an exact username",
        ),
        Binding(
            "s",
            "sort",
            "Sort",
            id="users.sort",
            show=False,  # the footer at 80 columns has no room: F1 and the palette list it
            tooltip="Sort by a column (or click its header): a bounded read, sorted here",
        ),
        Binding(
            "c",
            "copy",
            "Copy",
            id="users.copy",
            show=False,
            tooltip="Copy the selected row's username, e-mail or user id",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="users.refresh",
            tooltip="Read the rows in view again (kept as stale if it fails)",
        ),
        Binding(
            "escape",
            "clear_filter",
            "All dimensions",
            id="users.clear_filter",
            show=False,
            tooltip="Clear the dimension filter",
        ),
    ]

    class PageArrived(Message):
        def __init__(self, request: PageRequest, outcome: Page | Invalid | Failure) -> None:
            super().__init__()
            self.request = request
            self.outcome = outcome

    class JumpAnswered(Message):
        def __init__(self, username: str, outcome: UserRecord | NotFound | Invalid | Failure):
            super().__init__()
            self.username = username
            self.outcome = outcome

    class SortRead(Message):
        def __init__(
            self, request: PageRequest, outcome: tuple[list[UserRecord], bool] | Invalid | Failure
        ) -> None:
            super().__init__()
            self.request = request
            self.outcome = outcome  # the rows read and whether that is all of them

    class Rechecked(Message):
        def __init__(self, user: UserRecord, outcome: UserRecord | NotFound | Invalid | Failure):
            super().__init__()
            self.user = user
            self.outcome = outcome

    class DeleteAnswered(Message):
        def __init__(self, user: UserRecord, outcome: DeleteOutcome | Failure) -> None:
            super().__init__()
            self.user = user
            self.outcome = outcome

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database
        self.dimension: str | None = None
        self.generation = 0
        # A page read is on its way. Not `loading`: that is Textual's reactive, which covers the
        # whole screen with a spinner, disables it, and mounts a new indicator per page.
        self.reading = False
        # Why the last read failed (printable). Reading waits for `r` meanwhile: an outage is
        # not hammered by every scroll.
        self.problem: str | None = None
        self.select_after: str | None = None  # put the cursor on this username once held
        self._offered: tuple[bool | None, ...] | None = None  # what the footer's keys last offered
        self.announce_refresh = False  # `r` was pressed: say so once its reads are done
        self.sort_note = ""  # how the rows are sorted and which rows that is ("": token order)
        self.sort: tuple[str, bool] | None = None  # (UserRecord field, descending)
        # Every dimension on the pages read so far, what the filter offers and matches
        # against: the database filters by a dimension's exact value (an index), never by a
        # case-folded one, and a scan of the table to find the others is not made.
        self.dimensions_seen: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Banner("Users")
        yield UsersTable(PAGE_SIZE, id="users")
        yield Static(id="users-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

    def on_resize(self) -> None:
        self._show_status()  # what fits on the status line changed

    @property
    def table(self) -> UsersTable:
        return self.query_one(UsersTable)

    @property
    def exhausted(self) -> bool:
        """The last page has been read: every row is counted."""
        return self.table.exhausted

    # ---------------------------------------------------------------- paging

    def reload(self) -> None:
        """A new listing (another filter): nothing counted, read from the first page."""
        self.generation += 1
        self.reading = False
        self.problem = None
        self.select_after = None
        self.table.reset(PAGE_SIZE)
        self._offered = None  # the footer may have been drawn over an empty table meanwhile
        if self.sort is not None:
            self._start_sorted_read()
            return
        self.sort_note = ""
        self._read_next()

    def refresh_rows(self, select: str | None = None) -> None:
        """Read the pages in view again. Their rows stay on screen until the new ones arrive;
        if the read fails they stay, marked stale with the time they were read."""
        if self.sort is not None:  # a sorted listing is one bounded read: read it again
            self.select_after = select
            self._start_sorted_read()
            return
        self.problem = None
        self.select_after = select
        self.table.ask_reread()
        self._read_next()

    def _read_next(self) -> None:
        """Start the read the table wants most, if none is on its way."""
        if not self.reading and self.problem is None:
            want = self.table.wanted()
            if want is not None:
                self.reading = True
                self._fetch_page(PageRequest(self.generation, self.dimension, want))
        self._show_status()

    @work(group="users-page", exclusive=True, exit_on_error=False)
    async def _fetch_page(self, request: PageRequest) -> None:
        outcome = await guarded(
            self.database.registry.list_users(request.dimension, PAGE_SIZE, request.want.cursor)
        )
        self.post_message(self.PageArrived(request, outcome))

    @on(PageArrived)
    def _page_arrived(self, message: PageArrived) -> None:
        if message.request.generation != self.generation:
            return  # an answer to a listing that was since replaced
        self.reading = False
        outcome, table = message.outcome, self.table
        if isinstance(outcome, Failure):
            self.announce_refresh = False  # the failure says what happened instead
            self.report_failure(outcome, "load users")
            self.problem = f"Could not load: {printable(outcome.message)} (r: retry)"
            table.set_stale(table.loaded > 0)
        elif isinstance(outcome, Invalid):
            self.problem = f"{outcome.field}: {printable(outcome.message)} (r: reload)"
        else:
            self.dimensions_seen.update(user.dimension for user in outcome.users)
            table.accept(message.request.want, outcome.users, outcome.cursor)
            self._update_keys()  # a row under the cursor now (or none): delete follows
            if self.select_after is not None and table.select_user(self.select_after):
                self.select_after = None
            if not table.pages.rereading:
                self.select_after = None
                if table.stale:
                    table.set_stale(False)  # every row in view was just read again
                if self.announce_refresh:
                    self.announce_refresh = False
                    top, bottom = table.view_rows()
                    self.notify(
                        f"Refreshed: rows {top + 1:,}–{bottom + 1:,} read again at "
                        f"{datetime.now(timezone.utc):%H:%M:%S} UTC.",
                        title="Refreshed",
                        markup=False,
                    )
        self._read_next()

    @on(UsersTable.ViewChanged)
    def _view_changed(self) -> None:
        self.table.evict()
        self._read_next()

    def _show_status(self) -> None:
        table = self.table
        loaded, (top, bottom) = table.loaded, table.view_rows()
        # (text, rank): on a line too narrow for all, the parts of the lowest rank go first,
        # so a narrow terminal still sees the counts, a problem and the hidden columns.
        parts: list[tuple[Text, int] | tuple[Text, int, Text]] = []
        if self.dimension is not None:
            part = Text("dimension = ", MUTED)
            part.append_text(safe_text(self.dimension, HERO))
            part.append("  (esc: all)", MUTED)
            parts.append((part, 6))
        counts = Text()
        if loaded and not (table.exhausted and top == 0 and bottom == loaded - 1):
            counts.append(f"rows {top + 1:,}–{bottom + 1:,} of ", "bold")
        more = "" if table.exhausted or not loaded else "+"
        counts.append(f"{loaded:,}{more} loaded", "bold")
        if more:
            counts.append(" so far", "bold")
        parts.append((counts, 9))
        if self.sort_note:  # the header marks the column; short, it keeps which rows
            short = self.sort_note
            if short.startswith("sorted by"):
                short = "sorted: " + short.split(": ", 1)[-1].split(" (")[0]
            parts.append((Text(self.sort_note, HERO), 8, Text(short, HERO)))
        if table.stale:
            times = sorted({moment.strftime("%H:%M:%S") for moment in stamps(table)})
            read = f"{times[0]}–{times[-1]}" if len(times) > 1 else "".join(times)
            parts.append((Text(f"stale: read at {read} UTC" if read else "stale", DOPPEL), 8))
        if self.problem is not None:
            # Kept above all; short, what failed and the key (the notification has the rest).
            what, _, hint = self.problem.partition(": ")
            short = f"{what} ({hint.rsplit(' (', 1)[-1]}" if hint.endswith(")") else what
            parts.append((Text(self.problem, DOPPEL), 10, Text(short, DOPPEL)))
        elif self.reading:
            reading = "reading again…" if table.pages.rereading else "loading more…"
            parts.append((Text(reading, MUTED), 1))
        elif table.exhausted:
            done = "that is everyone" if loaded else "nobody here yet (n: register)"
            parts.append((Text(done, MUTED), 2 if loaded else 6))
        else:
            parts.append((Text("more available (scroll down)", MUTED), 1))
        hidden = table.hidden_columns()
        if hidden:
            names = ", ".join(label.split(" (")[0] for label in hidden)
            parts.append(
                (
                    Text(f"too narrow for: {', '.join(hidden)} (⏎ shows all)", MUTED),
                    7,
                    Text(f"hidden: {names}", MUTED),
                )
            )
        self.query_one("#users-status", Static).update(fit_status(parts, self.size.width - 2))

    # ---------------------------------------------------------------- actions

    # The actions whose availability changes: check_action decides them.
    CONDITIONAL_ACTIONS = ("delete", "copy", "clear_filter")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("delete", "copy"):
            return self.table.user_at_cursor() is not None
        if action == "clear_filter":
            return self.dimension is not None
        return True

    @on(UsersTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_keys()

    def _update_keys(self) -> None:
        """Refresh the footer's keys only when what they offer changes: every refresh makes
        the footer build its keys anew (measured: a refresh per page of the scroll grew the
        process by ~0.6 MiB a page), and most cursor moves change nothing."""
        offered = tuple(self.check_action(action, ()) for action in self.CONDITIONAL_ACTIONS)
        if offered != self._offered:
            self._offered = offered
            self.refresh_bindings()

    @on(UsersTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open_profile()

    def action_open_profile(self) -> None:
        user = self.table.user_at_cursor()
        if user is not None:
            self.app.push_screen(
                ProfileScreen(self.database, user), callback=lambda _: self._check_still_there(user)
            )

    def _check_still_there(self, user: UserRecord) -> None:
        """Back from a profile: if the identity is gone (deleted meanwhile, as the profile may
        have found), its row goes too. One point read."""
        self._recheck(user)

    @work(group="users-recheck", exit_on_error=False)
    async def _recheck(self, user: UserRecord) -> None:
        outcome = await guarded(self.database.registry.get_user(user.username))
        self.post_message(self.Rechecked(user, outcome))

    @on(Rechecked)
    def _rechecked(self, message: Rechecked) -> None:
        outcome, user = message.outcome, message.user
        gone = isinstance(outcome, NotFound) or (
            isinstance(outcome, UserRecord) and outcome.user_id != user.user_id
        )
        if gone and self.table.user(user.username) is not None:
            self.table.drop_user(user.username)
            self.notify(
                f"@{user.username} no longer exists as this identity: its row was removed.",
                title="Gone",
                severity="warning",
                markup=False,
            )
            self._show_status()
            self._update_keys()

    def action_refresh(self) -> None:
        self.announce_refresh = True
        self.refresh_rows()

    def action_register(self) -> None:
        self.app.push_screen(RegisterScreen(self.database), callback=self._registered)

    def _registered(self, user: UserRecord | None) -> None:
        if user is None:
            return
        table = self.table
        if self.dimension is not None and user.dimension != self.dimension:
            where = f"not shown: this list is dimension {printable(self.dimension)} only"
        elif table.select_user(user.username):
            where = "selected in the list"
        elif table.insert_user(user):
            # Rows come in token order and its place may be on a page not read: it is shown
            # at the cursor until a page holding it is read again.
            where = "shown at the cursor until the list is read again (r)"
        else:
            where = ""
            self.refresh_rows(select=user.username)
        tail = f" {where[:1].upper()}{where[1:]}." if where else ""
        self.notify(
            f"@{user.username} ({printable(user.display_name)}) registered: IF NOT EXISTS "
            f"applied. One of a kind, in every dimension.{tail}",
            title="Registered",
            markup=False,
        )
        self._update_keys()
        self._show_status()

    # ---------------------------------------------------------------- filter and find

    def action_filter(self) -> None:
        known = sorted(self.dimensions_seen | ({self.dimension} if self.dimension else set()))
        self.app.push_screen(
            PickScreen(
                "Filter by dimension",
                f"The {len(known):,} dimensions on the pages read so far, any case, as you "
                "type. The database filters by a dimension's exact value: what you type is "
                "matched in any case against these (empty: all dimensions).",
                [Choice(dimension, dimension) for dimension in known],
                value=self.dimension or "",
                placeholder="dimension-6",
            ),
            callback=self._filter_picked,
        )

    def _filter_picked(self, picked: Picked | None) -> None:
        if picked is None:
            return
        if picked.chosen or not picked.value:
            self._filter_chosen(picked.value)
            return
        value, note = resolve_dimension(picked.value, self.dimensions_seen)
        if note:
            self.notify(note, title="Filter", markup=False)
        self._filter_chosen(value)

    def _filter_chosen(self, value: str | None) -> None:
        if value is None:
            return
        self.dimension = value or None
        self.reload()
        self._update_keys()

    def action_clear_filter(self) -> None:
        if self.dimension is not None:
            self._filter_chosen("")

    def action_jump(self) -> None:
        held = self.table.users()
        self.app.push_screen(
            PickScreen(
                "Find a name",
                f"Usernames and display names of the {len(held):,} rows held, any case, as "
                "you type (the database cannot search inside names without reading every "
                "row). ⏎ in the field opens that exact username: one point read.",
                [Choice(f"{u.username}  ·  {u.display_name}", u.username) for u in held],
                placeholder="agent-cipher-007",
            ),
            callback=self._find_picked,
        )

    def _find_picked(self, picked: Picked | None) -> None:
        if picked is None or not picked.value:
            return
        if picked.chosen:
            self.table.select_user(picked.value)
        else:
            self._jump(picked.value)

    def _jump_chosen(self, username: str | None) -> None:
        if username:
            self._jump(username)

    # ---------------------------------------------------------------- copy

    def action_copy(self) -> None:
        user = self.table.user_at_cursor()
        if user is None:
            return
        choices = [
            Choice(f"username  {user.username}", user.username),
            Choice(f"e-mail    {user.email}", user.email),
            Choice(f"user id   {user.user_id}", str(user.user_id)),
        ]
        self.app.push_screen(
            PickScreen(
                "Copy",
                f"Copy a field of @{printable(user.username)} to the clipboard.",
                choices,
                keys="↓ ⏎: copy  ·  esc: cancel",
            ),
            callback=partial(self._copy_picked, user, choices),
        )

    def _copy_picked(self, user: UserRecord, choices: list[Choice], picked: Picked | None) -> None:
        if picked is None:
            return
        value = picked.value
        if not picked.chosen:  # enter in the field: the first choice it narrowed to
            found = matching(choices, value)
            if not found:
                return
            value = found[0].value
        what = next(c.label.split()[0] for c in choices if c.value == value)
        self.app.copy_to_clipboard(value)
        self.notify(
            f"Copied the {what} of @{user.username}: {printable(value)}",
            title="Copied",
            markup=False,
        )

    # ---------------------------------------------------------------- sort

    def action_sort(self) -> None:
        choices = [Choice("database order (token order: as pages come)", "")]
        for label, field in SORT_FIELDS.items():
            choices.append(Choice(f"{label} ▲", field))
            choices.append(Choice(f"{label} ▼", f"-{field}"))
        self.app.push_screen(
            PickScreen(
                "Sort by",
                f"The database pages in token order and cannot sort. A sort reads at most "
                f"{SORT_BOUND:,} rows (of this dimension, if filtered) and sorts them here; "
                "the status line says whether that was all of them.",
                choices,
                keys="type to narrow  ·  ↓ ⏎: sort  ·  esc: cancel",
            ),
            callback=self._sort_picked,
        )

    def _sort_picked(self, picked: Picked | None) -> None:
        if picked is None:
            return
        value = picked.value
        if not picked.chosen:
            found = matching([Choice(label, field) for label, field in SORT_FIELDS.items()], value)
            if not found:
                return
            value = found[0].value
        self.sort_by(value.lstrip("-") or None, value.startswith("-"))

    @on(UsersTable.HeaderClicked)
    def _header_clicked(self, message: UsersTable.HeaderClicked) -> None:
        field = self.table.column_at(message.x)
        if field is None:
            return
        descending = self.sort is not None and self.sort == (field, False)
        self.sort_by(field, descending)

    def sort_by(self, field: str | None, descending: bool = False) -> None:
        """Sort by `field` (None: back to the database's order, paged)."""
        self.sort = (field, descending) if field else None
        self.reload()

    def _start_sorted_read(self) -> None:
        self.generation += 1
        self.reading, self.problem = True, None
        self.sort_note = f"sorting: reading up to {SORT_BOUND:,} rows…"
        self._read_sorted(PageRequest(self.generation, self.dimension, PageWant(0, None)))
        self._show_status()

    @work(group="users-page", exclusive=True, exit_on_error=False)
    async def _read_sorted(self, request: PageRequest) -> None:
        async def bounded() -> tuple[list[UserRecord], bool] | Invalid:
            users: list[UserRecord] = []
            cursor: str | None = None
            while len(users) < SORT_BOUND:
                size = min(SORT_PAGE, SORT_BOUND - len(users))
                page = await self.database.registry.list_users(request.dimension, size, cursor)
                if isinstance(page, Invalid):
                    return page
                users.extend(page.users)
                cursor = page.cursor
                if cursor is None:
                    return users, True
            return users, False

        self.post_message(self.SortRead(request, await guarded(bounded())))

    @on(SortRead)
    def _sort_read(self, message: SortRead) -> None:
        if message.request.generation != self.generation or self.sort is None:
            return
        self.reading = False
        outcome, (field, descending) = message.outcome, self.sort
        if isinstance(outcome, Failure):
            self.report_failure(outcome, "read the rows to sort")
            self.problem = f"Could not sort: {printable(outcome.message)} (r: retry)"
        elif isinstance(outcome, Invalid):
            self.problem = f"{outcome.field}: {printable(outcome.message)} (r: reload)"
        else:
            users, whole = outcome
            users.sort(key=sort_key(field), reverse=descending)
            self.dimensions_seen.update(user.dimension for user in users)
            self.table.show_fixed(users, (field, descending))
            label = next(name for name, f in SORT_FIELDS.items() if f == field)
            way = "▼" if descending else "▲"
            which = (
                f"all {len(users):,} rows"
                if whole
                else f"the first {len(users):,} rows read (more exist, not sorted in)"
            )
            self.sort_note = f"sorted by {label} {way}: {which}"
            if self.select_after is not None:
                self.table.select_user(self.select_after)
                self.select_after = None
            if self.announce_refresh:
                self.announce_refresh = False
                self.notify(f"Refreshed: {which} read again and sorted.", markup=False)
            self._update_keys()
        self._show_status()

    @work(group="users-jump", exclusive=True, exit_on_error=False)
    async def _jump(self, username: str) -> None:
        outcome = await guarded(self.database.registry.get_user(username))
        self.post_message(self.JumpAnswered(username, outcome))

    @on(JumpAnswered)
    def _jump_answered(self, message: JumpAnswered) -> None:
        outcome = message.outcome
        if isinstance(outcome, UserRecord):
            self.table.select_user(outcome.username)
            self.app.push_screen(ProfileScreen(self.database, outcome))
        elif isinstance(outcome, NotFound):
            self.notify(
                f"No identity named @{printable(outcome.key)} in this registry.",
                title="Not found",
                severity="warning",
                markup=False,
            )
        elif isinstance(outcome, Invalid):
            self.notify(
                f"{outcome.field}: {printable(outcome.message)}",
                title="Not a username",
                severity="warning",
                markup=False,
            )
        else:
            self.report_failure(outcome, "read that username")

    # ---------------------------------------------------------------- delete

    def action_delete(self) -> None:
        user = self.table.user_at_cursor()
        if user is None:
            return
        self.app.push_screen(
            ConfirmScreen(
                "Delete this identity?",
                delete_summary(user),
                yes="Delete",
            ),
            callback=partial(self._delete_if, user),
        )

    def _delete_if(self, user: UserRecord, confirmed: bool | None) -> None:
        if confirmed:
            self._delete(user)

    @work(group="users-delete", exit_on_error=False)
    async def _delete(self, user: UserRecord) -> None:
        outcome = await guarded(
            self.database.registry.delete_user(user.username, user_id=user.user_id)
        )
        self.post_message(self.DeleteAnswered(user, outcome))

    @on(DeleteAnswered)
    def _delete_answered(self, message: DeleteAnswered) -> None:
        outcome, user = message.outcome, message.user
        if isinstance(outcome, Deleted):
            self.table.drop_user(user.username)
            text = (
                f"@{user.username} ({printable(user.display_name)}) deleted: registration, "
                f"profile and e-mail claim ({printable(user.email)}). The username and the "
                "address are free again."
            )
            if outcome.leftovers:
                text += f" Not confirmed: {', '.join(outcome.leftovers)}."
            self.notify(text, title="Deleted", markup=False)
        elif isinstance(outcome, CleanupFinished):
            self.table.drop_user(user.username)
            text = (
                f"@{user.username} was already deleted; its profile, left by that delete's "
                "cut-off clean-up, is removed now."
            )
            if outcome.leftovers:
                text += f" Not confirmed: {', '.join(outcome.leftovers)}."
            self.notify(text, title="Deleted", markup=False)
        elif isinstance(outcome, NotFound):
            # Gone, or the name is another identity's now: nothing was deleted either way.
            self.notify(
                f"Nothing deleted: @{user.username} is no longer this identity's (gone, or "
                "registered again by someone else). The rows in view were read again.",
                severity="warning",
                markup=False,
            )
            self.refresh_rows()
        elif isinstance(outcome, Unknown) and outcome.gone:
            self.table.drop_user(user.username)
            self.notify(
                f"@{user.username} is gone, with its profile and e-mail claim; whether this "
                "delete or a concurrent one removed it cannot be told (the database did not "
                "answer in time).",
                title="Outcome unknown",
                severity="warning",
                markup=False,
            )
            self.refresh_rows()
        elif isinstance(outcome, Unknown):
            self.notify(
                f"Delete of @{user.username}: outcome unknown ({printable(outcome.reason)}). "
                "Refresh to see what holds.",
                severity="error",
                markup=False,
            )
        elif isinstance(outcome, Invalid):
            self.notify(printable(outcome.message), severity="error", markup=False)
        else:
            self.report_failure(outcome, f"delete @{user.username}")
        self._show_status()
        self._update_keys()


def resolve_dimension(typed: str, known: set[str]) -> tuple[str, str]:
    """The stored dimension that `typed` names in any case, among those `known` (read so far),
    and a note when that needs saying. The database filters by the exact value only."""
    same = sorted(d for d in known if d.casefold() == typed.casefold())
    if typed in same or not same:
        return typed, ""  # as typed: a dimension not read yet may still be stored so
    others = same[1:]
    note = f"Filtering by {same[0]!r} (the stored value)."
    if others:
        note += f" Also stored: {', '.join(repr(d) for d in others)} (f to pick another)."
    return same[0], note


def fit_status(parts: list[tuple[Text, int] | tuple[Text, int, Text]], width: int) -> Text:
    """The parts, in order, joined by " · ". When they are wider than `width`, first every
    part's short form (up to "  (", a hint) stands in, lowest rank first; then the parts of the
    lowest rank are left out until the rest fit (the highest rank stays in any case)."""
    kept = [(part[0], part[1], part[2] if len(part) > 2 else short_form(part[0])) for part in parts]

    def line() -> Text:
        return Text("  ·  ", MUTED).join(text for text, _, _ in kept)

    for rank in sorted({part[1] for part in parts}):
        if line().cell_len <= width:
            return line()
        kept = [(short if r == rank else t, r, short) for t, r, short in kept]
    while len(kept) > 1 and line().cell_len > width > 0:
        lowest = min(rank for _, rank, _ in kept)
        del kept[next(i for i in reversed(range(len(kept))) if kept[i][1] == lowest)]
    return line()


def short_form(text: Text) -> Text:
    """A status part without its trailing hint in parentheses."""
    cut = text.plain.rfind(" (")
    if cut <= 0 or not text.plain.endswith(")"):
        return text
    short = text[:cut]
    short.rstrip()
    return short


def stamps(table: UsersTable) -> list[datetime]:
    """When the rows in view were read, in UTC."""
    return [moment.astimezone(timezone.utc) for moment in table.read_times()]


def delete_summary(user: UserRecord) -> Text:
    """What a delete removes, in the person's terms."""
    return Text.assemble(
        ("This removes, for good:\n", MUTED),
        "  • the registration of ",
        safe_text(f"@{user.username}", HERO),
        " (",
        safe_text(user.display_name, "bold"),
        ", ",
        safe_text(user.dimension),
        f", registered {when(user.registered_at)})\n",
        "  • its profile: bio, status and version\n",
        "  • the e-mail claim on ",
        safe_text(user.email, "bold"),
        "\n",
        ("The username and the e-mail address become free to register again.", MUTED),
    )
