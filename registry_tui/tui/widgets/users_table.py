"""The registry as a table of loaded pages: rows keyed by username, cells literal text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from registry_tui.core.outcomes import UserRecord
from registry_tui.tui.text import cell, when_short

COLUMNS = (
    ("username", "username"),
    ("display", "display name"),
    ("dimension", "dimension"),
    ("email", "e-mail"),
    ("registered", "registered (UTC)"),
)


class UsersTable(DataTable[object]):
    """Holds only the rows loaded so far and says when the view nears the end of them."""

    # Enter opens the profile (via RowSelected); named here so the footer and palette show it.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Profile",
            id="users.open",
            tooltip="Open the selected identity's profile editor",
        ),
        # Rows matter more than columns here: home/end go to the first/last loaded row.
        Binding("home", "scroll_top", "First row", id="users.first", show=False),
        Binding(
            "end",
            "scroll_bottom",
            "Last loaded row",
            id="users.last",
            show=False,
            tooltip="Go to the last loaded row (loads the next page)",
        ),
    ]

    # Ask for the next page while this many loaded rows are still below the view.
    NEAR_END = 20

    class NearEnd(Message):
        """The cursor or the scrolled view is close to the last loaded row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._users: dict[str, UserRecord] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    @property
    def loaded(self) -> int:
        return len(self._users)

    def user_at_cursor(self) -> UserRecord | None:
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self._users.get(key) if key is not None else None

    def user(self, username: str) -> UserRecord | None:
        return self._users.get(username)

    def users(self) -> list[UserRecord]:
        """The loaded rows' registrations, in table order."""
        return list(self._users.values())

    def reset(self) -> None:
        self._users.clear()
        self.clear()

    def add_users(self, users: Iterable[UserRecord]) -> int:
        """Append rows; a username already shown is skipped (a row key is unique)."""
        rows = []
        for user in users:
            if user.username in self._users:
                continue
            self._users[user.username] = user
            rows.append(user)
        for user in rows:
            self.add_row(
                cell(user.username, 32, "bold"),
                cell(user.display_name, 24),
                cell(user.dimension, 20),
                cell(user.email, 32),
                cell(when_short(user.registered_at)),
                key=user.username,
            )
        return len(rows)

    def drop_user(self, username: str) -> None:
        if self._users.pop(username, None) is not None:
            self.remove_row(username)

    def select_user(self, username: str) -> bool:
        if username not in self._users:
            return False
        self.move_cursor(row=self.get_row_index(username), animate=False)
        return True

    def rows_below_view(self) -> int:
        """Loaded rows below the cursor or the bottom of the view, whichever is further down."""
        bottom = int(self.scroll_y) + self.scrollable_content_region.height
        return self.row_count - 1 - max(self.cursor_row, bottom)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Scrolling with the wheel or scrollbar does not move the cursor: check here too.
        if new_value > old_value and self.rows_below_view() <= self.NEAR_END:
            self.post_message(self.NearEnd())
