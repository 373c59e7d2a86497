"""Home: the registry as a table, paged from the database as the view nears the end.

Only loaded pages are held (a registry of a million opens as fast as one of forty); the status
line always says how many rows are loaded and whether more are available."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

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
from registry_tui.tui.widgets.users_table import UsersTable

PAGE_SIZE = 100
# The table stops loading here (the stock DataTable slows down past ~10k rows); the status
# line says so and points at the filter and the jump, which reach any row with one query.
MAX_ROWS = 10_000


@dataclass(frozen=True)
class PageRequest:
    generation: int  # bumped by every reset: answers to an older listing are dropped
    dimension: str | None
    cursor: str | None
    select: str | None = None  # put the cursor on this username once it is loaded


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
            tooltip="Reload the table from the first page",
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
        self.next_cursor: str | None = None
        self.exhausted = False  # the last page arrived: everything is loaded
        self.loading = False
        self.problem: str | None = None  # why the last load failed (printable), for the status

    def compose(self) -> ComposeResult:
        yield Banner("Users")
        yield UsersTable(id="users")
        yield Static(id="users-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

    @property
    def table(self) -> UsersTable:
        return self.query_one(UsersTable)

    # ---------------------------------------------------------------- paging

    def reload(self, select: str | None = None) -> None:
        """Start the listing again from its first page (after a filter change, refresh…)."""
        self.generation += 1
        self.table.reset()
        self.next_cursor = None
        self.exhausted = False
        self.problem = None
        self._request(PageRequest(self.generation, self.dimension, None, select))

    def load_more(self) -> None:
        if self.loading or self.exhausted or self.problem is not None:
            return
        if self.table.loaded >= MAX_ROWS:
            return
        self._request(PageRequest(self.generation, self.dimension, self.next_cursor))

    def _request(self, request: PageRequest) -> None:
        self.loading = True
        self._show_status()
        self._fetch_page(request)

    @work(group="users-page", exclusive=True, exit_on_error=False)
    async def _fetch_page(self, request: PageRequest) -> None:
        outcome = await guarded(
            self.database.registry.list_users(request.dimension, PAGE_SIZE, request.cursor)
        )
        self.post_message(self.PageArrived(request, outcome))

    @on(PageArrived)
    def _page_arrived(self, message: PageArrived) -> None:
        if message.request.generation != self.generation:
            return  # an answer to a listing that was since reset
        self.loading = False
        outcome = message.outcome
        if isinstance(outcome, Failure):
            self.report_failure(outcome, "load users")
            self.problem = f"Could not load: {printable(outcome.message)} (r: retry)"
        elif isinstance(outcome, Invalid):
            self.problem = f"{outcome.field}: {printable(outcome.message)} (r: reload)"
        else:
            self.table.add_users(outcome.users)
            self.next_cursor = outcome.cursor
            self.exhausted = outcome.cursor is None
            if message.request.select:
                self.table.select_user(message.request.select)
        self._show_status()
        # A page can be short (a filtered listing may even return an empty page with more to
        # come): keep loading while the view is still near the end.
        if self.table.rows_below_view() <= UsersTable.NEAR_END:
            self.load_more()

    @on(DataTable.RowHighlighted)
    @on(UsersTable.NearEnd)
    def _near_end(self) -> None:
        if self.table.rows_below_view() <= UsersTable.NEAR_END:
            self.load_more()

    def _show_status(self) -> None:
        loaded = self.table.loaded
        status = Text()
        if self.dimension is not None:
            status.append("dimension = ", MUTED)
            status.append_text(safe_text(self.dimension, HERO))
            status.append("  (esc: all)  ·  ", MUTED)
        status.append(f"{loaded:,} loaded", "bold")
        if self.problem is not None:
            status.append(f"  ·  {self.problem}", DOPPEL)
        elif self.loading:
            status.append("  ·  loading more…", MUTED)
        elif self.exhausted:
            done = "that is everyone" if loaded else "nobody here yet (n: register)"
            status.append(f"  ·  {done}", MUTED)
        elif loaded >= MAX_ROWS:
            status.append(" (the table's limit)", "bold")
            status.append("  ·  more available: filter (f) or jump (/)", MUTED)
        else:
            status.append("  ·  more available (scroll down)", MUTED)
        self.query_one("#users-status", Static).update(status)

    # ---------------------------------------------------------------- actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete":
            return self.table.user_at_cursor() is not None
        if action == "clear_filter":
            return self.dimension is not None
        return True

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open_profile()

    def action_open_profile(self) -> None:
        user = self.table.user_at_cursor()
        if user is not None:
            self.app.push_screen(ProfileScreen(self.database, user))

    def action_refresh(self) -> None:
        user = self.table.user_at_cursor()
        self.reload(select=user.username if user else None)

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
        # Rows come in token order, so the new one may sit on any page: list again from the
        # top and put the cursor on it if it is on the pages loaded.
        self.reload(select=user.username)

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
        self.refresh_bindings()
        self.reload()

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
        outcome = await guarded(self.database.registry.delete_user(user.username))
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
            self.table.drop_user(user.username)
            self.notify(f"@{user.username} was already gone.", severity="warning", markup=False)
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
        self.refresh_bindings()


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
