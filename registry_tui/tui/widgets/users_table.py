"""The registry as a table that renders only the lines in view (as log viewers do).

The rows come from `UserPages`: a chain of pages of which only those near the view hold rows.
The scroll extent is every row counted so far, so the scrollbar reaches any page already
passed (read again by its cursor); the screen reads the pages this table says it wants.
It looks like the stock DataTable it replaced (same styles, zebra stripes, row cursor), which
held every loaded row as widgets' data and slowed down past ~10,000 rows."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import ClassVar

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip

from registry_tui.core.outcomes import UserRecord
from registry_tui.tui.text import cell, when_short
from registry_tui.tui.widgets.user_pages import Accepted, PageWant, UserPages
from registry_tui.user_columns import USER_FIELDS
from registry_tui.user_columns import fit_columns as fit_fields

COLUMNS = (  # (UserRecord's field, header), left to right
    ("username", "username"),
    ("display_name", "display name"),
    ("dimension", "dimension"),
    ("email", "e-mail"),
    ("registered_at", "registered (UTC)"),
)
CELL_PADDING = 1
# The columns' order of importance on a narrow view (USER_FIELDS), as (column index, the width
# below which the column is not worth showing; None: shown whole or not at all).
PRIORITY = tuple(
    ([field for field, _ in COLUMNS].index(field), floor) for field, floor in USER_FIELDS
)
PLACEHOLDER = "⋯"
SORT_MARK = " ▲"  # after the header of the column the rows are sorted by (▼: descending)


def fit_columns(widths: list[int], view: int) -> list[int]:
    """The width each column's text gets in a view `view` cells wide (0: not shown), given
    the width each needs whole; the order in which columns go on a narrow view is the CLI's
    (USER_FIELDS). The ones kept end in "…"; a row's profile (enter) shows every field."""
    fields = [field for field, _ in COLUMNS]
    fitted = fit_fields(dict(zip(fields, widths, strict=True)), view, 2 * CELL_PADDING)
    return [fitted[field] for field in fields]


def user_cells(user: UserRecord) -> list[Text]:
    """A row's cells: literal text, one line, clipped."""
    return [
        cell(user.username, 32, "bold"),
        cell(user.display_name, 32),
        cell(user.dimension, 24),
        cell(user.email, 48),
        cell(when_short(user.registered_at)),
    ]


class RowCursorView(ScrollView, can_focus=True):
    """A header line over rows numbered 0..row_count-1 and a row cursor, keys as DataTable's
    (these navigation keys are the widget's own, like an input's editing keys)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]

    class RowHighlighted(Message):
        """The cursor moved to another row."""

    class RowSelected(Message):
        """Enter (or a click) on the row under the cursor."""

    class ViewChanged(Message):
        """The rows in view changed (scrolled, resized, or the cursor moved)."""

    class HeaderClicked(Message):
        """A click on the header line, at content column `x` (scrolled)."""

        def __init__(self, x: int) -> None:
            super().__init__()
            self.x = x

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cursor_row = 0

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    @property
    def rows_in_view(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)  # minus the header line

    def view_rows(self) -> tuple[int, int]:
        """The first and last row numbers in view (last < first when there are none)."""
        top = int(self.scroll_y)
        return top, min(top + self.rows_in_view, self.row_count) - 1

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        row = max(0, min(row, self.row_count - 1))
        changed = row != self.cursor_row
        self.cursor_row = row
        if scroll:
            top = int(self.scroll_y)
            if row < top:
                self.scroll_to(y=row, animate=False, immediate=True)
            elif row >= top + self.rows_in_view:
                self.scroll_to(y=row - self.rows_in_view + 1, animate=False, immediate=True)
        self.refresh()
        if changed:
            self.post_message(self.RowHighlighted())
        self.post_message(self.ViewChanged())

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_y - self.rows_in_view, animate=False, immediate=True)
        self.move_cursor(self.cursor_row - self.rows_in_view, scroll=False)

    def action_page_down(self) -> None:
        self.scroll_to(y=self.scroll_y + self.rows_in_view, animate=False, immediate=True)
        self.move_cursor(self.cursor_row + self.rows_in_view, scroll=False)
        self.move_cursor(self.cursor_row)  # at the end the view stops short of a whole page

    def action_select_cursor(self) -> None:
        if self.row_count:
            self.post_message(self.RowSelected())

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y == 0:
            self.post_message(self.HeaderClicked(int(self.scroll_x) + offset.x))
            event.stop()
            return
        if offset is None or offset.y < 1:
            return
        row = int(self.scroll_y) + offset.y - 1
        if row < self.row_count:
            self.move_cursor(row)
            self.post_message(self.RowSelected())
        event.stop()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # The wheel and the scrollbar move the view without the cursor: the screen is told.
        if round(old_value) != round(new_value):
            self.post_message(self.ViewChanged())

    def on_resize(self) -> None:
        self.post_message(self.ViewChanged())

    def watch_show_horizontal_scrollbar(self) -> None:
        # A horizontal scrollbar takes a line from the view (or gives it back) without a
        # resize: the rows in view change all the same.
        self.post_message(self.ViewChanged())


class UsersTable(RowCursorView):
    """The users listing: a header, then one line per counted row; rows of pages not held
    show a placeholder until the screen has read them."""

    DEFAULT_CSS = """
    UsersTable {
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;  /* the columns fit a width that a scrollbar does not change */
        &:focus {
            background-tint: $foreground 5%;
            & > .users-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .users-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .users-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .users-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .users-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .users-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .users-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .users-table--placeholder {
            color: $text-muted;
        }
        & > .users-table--stale {
            color: $text-muted;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "users-table--header",
        "users-table--cursor",
        "users-table--even-row",
        "users-table--odd-row",
        "users-table--placeholder",
        "users-table--stale",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Profile",
            id="users.open",
            tooltip="Open the selected identity's profile editor",
        ),
        Binding(
            "home",
            "first_row",
            "First row",
            id="users.first",
            show=False,
            tooltip="Go to the first row of the list",
        ),
        Binding(
            "end",
            "last_row",
            "Last loaded row",
            id="users.last",
            show=False,
            tooltip="Go to the last loaded row (loads the next page)",
        ),
    ]

    # Rows beyond the view on either side that should be held (read ahead of the scroll).
    NEAR_END = 20
    # Pages kept either side of the view before their rows are dropped (cursors stay).
    KEEP_PAGES = 2
    _CACHE_LINES = 256

    def __init__(self, page_size: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pages = UserPages(page_size)
        self._widths = [len(label) for _, label in COLUMNS]
        self._fitted = list(self._widths)
        self.fixed = False  # a sorted, bounded read: all held, nothing to page or evict
        self.sorted_by: tuple[str, bool] | None = None  # (field, descending) the header marks
        self._lines: OrderedDict[tuple[object, ...], list[Segment]] = OrderedDict()

    # ---------------------------------------------------------------- what is shown

    @property
    def row_count(self) -> int:
        return self.pages.known

    @property
    def loaded(self) -> int:
        """Rows counted so far (each was read once; only those near the view are held)."""
        return self.pages.known

    @property
    def held(self) -> int:
        """Rows held in memory now."""
        return self.pages.held_rows

    @property
    def exhausted(self) -> bool:
        return self.pages.exhausted

    @property
    def stale(self) -> bool:
        return self.has_class("-stale")

    def user_at_cursor(self) -> UserRecord | None:
        return self.pages.user_at(self.cursor_row)

    def user(self, username: str) -> UserRecord | None:
        row = self.pages.row_of(username)
        return self.pages.user_at(row) if row is not None else None

    def users(self) -> list[UserRecord]:
        """The held rows' registrations, in table order."""
        return self.pages.held_users()

    def get_row_index(self, username: str) -> int:
        row = self.pages.row_of(username)
        if row is None:
            raise KeyError(username)
        return row

    def hidden_columns(self) -> list[str]:
        """The columns this view is too narrow to show (a row's profile shows them)."""
        return [label for (_, label), width in zip(COLUMNS, self._fitted, strict=True) if not width]

    def read_times(self) -> list[datetime]:
        """When the rows in view were read."""
        return self.pages.read_times(*self.view_rows())

    # ---------------------------------------------------------------- changes

    def reset(self, page_size: int | None = None) -> None:
        """A new listing: nothing counted, nothing held."""
        self.pages = UserPages(page_size or self.pages.page_size)
        self._widths = [len(label) for _, label in COLUMNS]
        self.fixed = False
        self.sorted_by = None
        self.cursor_row = 0
        self.set_stale(False)
        self._changed()
        self.scroll_to(x=0, y=0, animate=False, immediate=True)

    def wanted(self) -> PageWant | None:
        top, bottom = self.view_rows()
        return self.pages.wanted(top, max(bottom, top), self.NEAR_END)

    def accept(self, want: PageWant, users: list[UserRecord], cursor: str | None) -> bool:
        """Take a page the screen has read; False when the listing has moved on since."""
        if not self.pages.is_current(want):
            return False
        cursor_page = self.pages.page_of(self.cursor_row) if self.row_count else 0
        accepted: Accepted = self.pages.accept(want, users, cursor, datetime.now().astimezone())
        for user in users:
            for index, text in enumerate(user_cells(user)):
                self._widths[index] = max(self._widths[index], text.cell_len)
        if accepted.shift and cursor_page > accepted.index:
            # Rows came or went above the view: keep the same rows in front of the eye.
            self.cursor_row += accepted.shift
            self.scroll_to(y=self.scroll_y + accepted.shift, animate=False, immediate=True)
        self._changed()
        self.evict()
        return True

    def show_fixed(self, users: list[UserRecord], sorted_by: tuple[str, bool]) -> None:
        """Show `users` as they are (sorted by the screen): a listing with nothing to read."""
        selected = self.user_at_cursor()
        self.pages = UserPages.fixed(users, self.pages.page_size, datetime.now().astimezone())
        self.fixed, self.sorted_by = True, sorted_by
        for index, (field, label) in enumerate(COLUMNS):
            if field == sorted_by[0]:
                self._widths[index] = max(self._widths[index], len(label) + len(SORT_MARK))
        for user in users:
            for index, text in enumerate(user_cells(user)):
                self._widths[index] = max(self._widths[index], text.cell_len)
        self.cursor_row = 0
        self._changed()
        self.scroll_to(y=0, animate=False, immediate=True)
        if selected is not None:
            self.select_user(selected.username)

    def column_at(self, x: int) -> str | None:
        """The field of the column shown at content column `x` (None: beyond the last)."""
        left = 0
        for (field, _), width in zip(COLUMNS, self._fitted, strict=True):
            if width:
                left += width + 2 * CELL_PADDING
                if x < left:
                    return field
        return None

    def evict(self) -> None:
        if self.fixed:
            return  # a bounded read, held whole: a page dropped could not be read again
        top, bottom = self.view_rows()
        keep = self.KEEP_PAGES * self.pages.page_size
        self.pages.evict_outside(top - keep, max(bottom, top) + keep)

    def ask_reread(self) -> None:
        """Refresh: the pages in view are read again (their rows stay shown meanwhile)."""
        top, bottom = self.view_rows()
        self.pages.ask_reread(top, max(bottom, top))
        self.refresh()

    def drop_user(self, username: str) -> None:
        if self.pages.drop(username) is not None:
            self._changed()

    def insert_user(self, user: UserRecord) -> bool:
        """Show a registration just made at the cursor and put the cursor on it (its own place
        in token order may be on a page not read); False when no page is held there."""
        row = self.pages.insert(self.cursor_row, user)
        if row is None:
            return False
        for index, text in enumerate(user_cells(user)):
            self._widths[index] = max(self._widths[index], text.cell_len)
        self._changed()
        self.move_cursor(row)
        return True

    def select_user(self, username: str) -> bool:
        row = self.pages.row_of(username)
        if row is None:
            return False
        self.move_cursor(row)
        return True

    def set_stale(self, stale: bool) -> None:
        self.set_class(stale, "-stale")
        self._lines.clear()
        self.refresh()

    def _changed(self) -> None:
        self._lines.clear()
        self._fitted = fit_columns(self._widths, self.scrollable_content_region.width)
        shown = [width for width in self._fitted if width]
        more = 0 if self.pages.exhausted else 1  # a line that says more rows follow
        self.virtual_size = Size(
            sum(shown) + 2 * CELL_PADDING * len(shown), 1 + self.row_count + more
        )
        if self.row_count and self.cursor_row >= self.row_count:
            self.move_cursor(self.row_count - 1)
        self.refresh()

    def on_resize(self) -> None:
        self._changed()  # the columns fit the new width (the base class tells the screen)

    # ---------------------------------------------------------------- actions

    def action_first_row(self) -> None:
        self.move_cursor(0)

    def action_last_row(self) -> None:
        self.move_cursor(self.row_count - 1)

    # ---------------------------------------------------------------- rendering

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        segments = self._line(-1 if y == 0 else scroll_y + y - 1)
        return (
            Strip(segments)
            .crop(scroll_x, scroll_x + width)
            .adjust_cell_length(width, self.rich_style)
            .simplify()
        )

    def _mark(self, field: str) -> str:
        if self.sorted_by is None or self.sorted_by[0] != field:
            return ""
        return " ▼" if self.sorted_by[1] else " ▲"

    def _line(self, row: int) -> list[Segment]:
        """The whole line of row number `row` (-1: the header), uncropped."""
        user = self.pages.user_at(row) if row >= 0 else None
        cursor = row == self.cursor_row and row >= 0
        key = (row, user.username if user else None, cursor, self.has_focus, self.size.width)
        cached = self._lines.get(key)
        if cached is not None:
            self._lines.move_to_end(key)
            return cached
        segments = self._render_row(row, user, cursor)
        self._lines[key] = segments
        if len(self._lines) > self._CACHE_LINES:
            self._lines.popitem(last=False)
        return segments

    def _render_row(self, row: int, user: UserRecord | None, cursor: bool) -> list[Segment]:
        component = self.get_component_rich_style
        more = not self.pages.exhausted
        if row < 0:
            row_style = self.get_component_styles("users-table--header").rich_style
            cells = [Text(label + self._mark(field)) for field, label in COLUMNS]
        elif row >= self.row_count + more:
            return []  # below the table: the widget's own background
        else:
            parity = "users-table--odd-row" if row % 2 else "users-table--even-row"
            row_style = self.get_component_styles(parity).rich_style
            muted = component("users-table--placeholder")
            if user is not None:
                cells = user_cells(user)
                if self.stale:
                    row_style += component("users-table--stale")
            elif row < self.row_count:
                cells = [Text(PLACEHOLDER, muted)]  # a page not held: being read
            else:
                cells = [Text(PLACEHOLDER, muted), Text("more to read", muted)]
        cursor_style = component("users-table--cursor") if cursor else Style()
        # The cursor's colours win over a cell's own (as DataTable's "css" priority does).
        post = (
            Style.from_color(cursor_style.color, cursor_style.bgcolor) if cursor else Style.null()
        )
        console = self.app.console
        segments: list[Segment] = []
        table_width = 0
        for index, width in enumerate(self._fitted):
            if not width:
                continue  # too narrow a view for this column
            render_width = width + 2 * CELL_PADDING
            table_width += render_width
            text = cells[index] if index < len(cells) else Text()
            options = console.options.update_dimensions(render_width, 1).update(no_wrap=True)
            where = Style.from_meta({"row": row, "column": index})  # as DataTable marks cells
            lines = console.render_lines(
                Styled(
                    Padding(text, (0, CELL_PADDING)),
                    pre_style=row_style + where + cursor_style,
                    post_style=post,
                ),
                options,
            )
            segments.extend(lines[0])
        remaining = max(0, self.size.width - table_width)
        beyond = Style.from_meta({"row": row, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * remaining, row_style + cursor_style + beyond))
        return segments
