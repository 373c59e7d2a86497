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
from registry_tui.tui.screens.prompt import PromptScreen
from registry_tui.tui.screens.register import RegisterScreen
from registry_tui.tui.text import DOPPEL, HERO, MUTED, when
from registry_tui.tui.widgets.banner import Banner
from registry_tui.tui.widgets.user_pages import PageWant
from registry_tui.tui.widgets.users_table import UsersTable

PAGE_SIZE = 100


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
        Binding("f", "filter", "Filter", id="users.filter", tooltip="Show one dimension only"),
        Binding(
            "slash",
            "jump",
            "Jump",
            id="users.jump",
            key_display="/",
            tooltip="Open a username directly (one point read)",
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

    def compose(self) -> ComposeResult:
        yield Banner("Users")
        yield UsersTable(PAGE_SIZE, id="users")
        yield Static(id="users-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

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
        self._read_next()

    def refresh_rows(self, select: str | None = None) -> None:
        """Read the pages in view again. Their rows stay on screen until the new ones arrive;
        if the read fails they stay, marked stale with the time they were read."""
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
            self.report_failure(outcome, "load users")
            self.problem = f"Could not load: {printable(outcome.message)} (r: retry)"
            table.set_stale(table.loaded > 0)
        elif isinstance(outcome, Invalid):
            self.problem = f"{outcome.field}: {printable(outcome.message)} (r: reload)"
        else:
            table.accept(message.request.want, outcome.users, outcome.cursor)
            self._update_keys()  # a row under the cursor now (or none): delete follows
            if self.select_after is not None and table.select_user(self.select_after):
                self.select_after = None
            if not table.pages.rereading:
                self.select_after = None
                if table.stale:
                    table.set_stale(False)  # every row in view was just read again
        self._read_next()

    @on(UsersTable.ViewChanged)
    def _view_changed(self) -> None:
        self.table.evict()
        self._read_next()

    def _show_status(self) -> None:
        table = self.table
        loaded, (top, bottom) = table.loaded, table.view_rows()
        status = Text()
        if self.dimension is not None:
            status.append("dimension = ", MUTED)
            status.append_text(safe_text(self.dimension, HERO))
            status.append("  (esc: all)  ·  ", MUTED)
        if loaded and not (table.exhausted and top == 0 and bottom == loaded - 1):
            status.append(f"rows {top + 1:,}–{bottom + 1:,} of ", "bold")
        more = "" if table.exhausted or not loaded else "+"
        status.append(f"{loaded:,}{more} loaded", "bold")
        if more:
            status.append(" so far", "bold")
        if table.stale:
            times = sorted({moment.strftime("%H:%M:%S") for moment in stamps(table)})
            read = f"{times[0]}–{times[-1]}" if len(times) > 1 else "".join(times)
            status.append(f"  ·  stale: read at {read} UTC" if read else "  ·  stale", DOPPEL)
        if self.problem is not None:
            status.append(f"  ·  {self.problem}", DOPPEL)
        elif self.reading:
            status.append(
                "  ·  reading again…" if table.pages.rereading else "  ·  loading more…", MUTED
            )
        elif table.exhausted:
            done = "that is everyone" if loaded else "nobody here yet (n: register)"
            status.append(f"  ·  {done}", MUTED)
        else:
            status.append("  ·  more available (scroll down)", MUTED)
        hidden = table.hidden_columns()
        if hidden:  # last: on a narrow screen this is what the edge cuts
            status.append(f"  ·  too narrow for: {', '.join(hidden)} (⏎ shows all)", MUTED)
        self.query_one("#users-status", Static).update(status)

    # ---------------------------------------------------------------- actions

    # The actions whose availability changes: check_action decides them.
    CONDITIONAL_ACTIONS = ("delete", "clear_filter")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete":
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
            self.app.push_screen(ProfileScreen(self.database, user))

    def action_refresh(self) -> None:
        self.refresh_rows()

    def action_register(self) -> None:
        self.app.push_screen(RegisterScreen(self.database), callback=self._registered)

    def _registered(self, user: UserRecord | None) -> None:
        if user is None:
            return
        self.notify(
            f"@{user.username} ({printable(user.display_name)}) registered: IF NOT EXISTS "
            "applied. One of a kind, in every dimension.",
            title="Registered",
            markup=False,
        )
        # Rows come in token order, so the new one may sit on any page: read the pages in
        # view again and put the cursor on it if it is on one of them.
        self.refresh_rows(select=user.username)

    # ---------------------------------------------------------------- filter and jump

    def action_filter(self) -> None:
        seen = {user.dimension for user in self.table.users()}
        self.app.push_screen(
            PromptScreen(
                "Filter by dimension",
                "Show only the identities of one dimension (empty: all dimensions).",
                value=self.dimension or "",
                placeholder="Dimension-6",
                suggestions=seen,
            ),
            callback=self._filter_chosen,
        )

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
        self.app.push_screen(
            PromptScreen(
                "Jump to a username",
                "Reads one registration by its key and opens it.",
                placeholder="agent-cipher-007",
            ),
            callback=self._jump_chosen,
        )

    def _jump_chosen(self, username: str | None) -> None:
        if username:
            self._jump(username)

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
