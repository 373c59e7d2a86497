"""The users listing as a chain of pages, of which only those near the view hold rows.

No Textual here. Cassandra pages forward only, with a paging state and no offset: the first
page is read without a cursor and every answer carries the cursor of the next. Every page
passed keeps its cursor (the registry's signed cursor, not the rows), so a page evicted from
memory can be read again when the view comes back to it. Row numbers are counted from the page
sizes seen so far; the total is known only once the last page has been read.

A page read again may have changed (rows registered or deleted elsewhere meanwhile). Its new
"next" cursor then differs from the one the following page was read with: that page's cursor is
replaced and its rows dropped, so the chain stays gap-free and is repaired lazily, one page at a
time, as the view reaches it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from registry_tui.core.outcomes import UserRecord


@dataclass
class PageSlot:
    cursor: str | None  # what reads this page (None: the first page)
    count: int  # rows it had when last read: what the row numbers after it are counted from
    rows: list[UserRecord] | None = None  # None: not held (evicted, or its cursor was replaced)
    read_at: datetime | None = None  # when the rows held were read
    reread: bool = False  # held rows shown, but a fresh read was asked for (refresh)


@dataclass(frozen=True)
class PageWant:
    """One read to make: page `index` (== len(pages) for a page never read) with `cursor`."""

    index: int
    cursor: str | None


@dataclass(frozen=True)
class Accepted:
    """What applying an answer did, so the view can keep the same rows in front of the eye."""

    index: int
    shift: int  # rows added (+) or gone (-) in page `index`: row numbers after it moved so much


@dataclass
class UserPages:
    page_size: int
    pages: list[PageSlot] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # row number of each page's first row
    next_cursor: str | None = None  # the cursor of the page after the last one read
    exhausted: bool = False  # the last page has been read: `known` is the total
    held: set[int] = field(default_factory=set)  # indexes of the pages holding rows
    # Rows shown where the view put them (a registration just made), by username: the page
    # index holding each. Rows come in token order, so such a row's own place may be on a page
    # not read yet; reading either page again puts it back where the database has it.
    inserted: dict[str, int] = field(default_factory=dict)

    @classmethod
    def fixed(cls, users: list[UserRecord], page_size: int, read_at: datetime) -> UserPages:
        """A listing read whole already (a sorted, bounded read): every page held, none to
        read; nothing is evicted from it (the owner does not ask)."""
        pages = cls(page_size, exhausted=True)
        for start in range(0, max(len(users), 1), page_size):
            rows = users[start : start + page_size]
            pages.starts.append(start)
            pages.pages.append(PageSlot(None, len(rows), list(rows), read_at))
            pages.held.add(len(pages.pages) - 1)
        return pages

    # ---------------------------------------------------------------- what is known

    @property
    def known(self) -> int:
        """Rows counted so far (every row, once the listing is exhausted)."""
        if not self.pages:
            return 0
        return self.starts[-1] + self.pages[-1].count

    @property
    def held_rows(self) -> int:
        return sum(len(self.pages[i].rows or ()) for i in self.held)

    def page_of(self, row: int) -> int:
        """The page holding row number `row` (0 <= row < known)."""
        return bisect_right(self.starts, row) - 1

    def user_at(self, row: int) -> UserRecord | None:
        if not 0 <= row < self.known:
            return None
        index = self.page_of(row)
        rows = self.pages[index].rows
        return rows[row - self.starts[index]] if rows is not None else None

    def row_of(self, username: str) -> int | None:
        """Row number of a held username, in any case (None when it is not on a held page):
        the exact name first, then the one whose key it is (names are unique by key)."""
        wanted = username.casefold()
        found = None
        for index in sorted(self.held):
            for offset, user in enumerate(self.pages[index].rows or ()):
                if user.username == username:
                    return self.starts[index] + offset
                if found is None and user.username.casefold() == wanted:
                    found = self.starts[index] + offset
        return found

    def held_users(self) -> list[UserRecord]:
        return [user for i in sorted(self.held) for user in self.pages[i].rows or ()]

    def read_times(self, first: int, last: int) -> list[datetime]:
        """When the held rows numbered first..last were read."""
        if self.known == 0:
            return []
        times = []
        for index in range(
            self.page_of(max(first, 0)), self.page_of(min(last, self.known - 1)) + 1
        ):
            page = self.pages[index]
            if page.rows is not None and page.read_at is not None:
                times.append(page.read_at)
        return times

    # ---------------------------------------------------------------- what to read next

    def pages_between(self, first: int, last: int) -> range:
        """Indexes of the pages with a row in first..last, with the empty pages among them
        (a filtered listing can answer an empty page that still has a next one); a range
        reaching either end of the known rows takes the empty pages at that end too."""
        count = len(self.pages)
        if self.known == 0:
            return range(count)
        first, last = max(first, 0), min(last, self.known - 1)
        if last < first:
            return range(0)
        low = 0 if first == 0 else min(bisect_right(self.starts, first - 1), self.page_of(first))
        high = count - 1 if last == self.known - 1 else self.page_of(last)
        return range(low, high + 1)

    def wanted(self, top: int, bottom: int, margin: int) -> PageWant | None:
        """The most useful read for a view showing rows top..bottom: pages in view first
        (missing, then asked to be read again), then those within `margin` rows of it, then
        the next page never read when the view is within `margin` rows of the known end."""
        if not self.pages:
            return PageWant(0, None)
        view = self.pages_between(top, bottom)
        for index in view:
            if self.pages[index].rows is None:
                return PageWant(index, self.pages[index].cursor)
        for index in view:
            if self.pages[index].reread:
                return PageWant(index, self.pages[index].cursor)
        for index in self.pages_between(top - margin, bottom + margin):
            if self.pages[index].rows is None:
                return PageWant(index, self.pages[index].cursor)
        if not self.exhausted and bottom + margin >= self.known - 1:
            return PageWant(len(self.pages), self.next_cursor)
        for index in sorted(self.held):
            if self.pages[index].reread:
                return PageWant(index, self.pages[index].cursor)
        return None

    def is_current(self, want: PageWant) -> bool:
        """Whether an answer to `want` still fits the chain (it may have moved meanwhile)."""
        if want.index == len(self.pages):
            return not self.exhausted and want.cursor == self.next_cursor
        return want.index < len(self.pages) and self.pages[want.index].cursor == want.cursor

    # ---------------------------------------------------------------- changes

    def accept(
        self, want: PageWant, users: list[UserRecord], next_cursor: str | None, read_at: datetime
    ) -> Accepted:
        """Apply the answer to a read that `is_current`."""
        self._forget_inserted(want.index, users)
        if want.index == len(self.pages):
            self.starts.append(self.known)
            self.pages.append(PageSlot(want.cursor, len(users), list(users), read_at))
            self.held.add(want.index)
            self.next_cursor, self.exhausted = next_cursor, next_cursor is None
            return Accepted(want.index, 0)
        page = self.pages[want.index]
        shift = len(users) - page.count
        page.rows, page.count, page.read_at, page.reread = list(users), len(users), read_at, False
        self.held.add(want.index)
        if shift:
            self._recount(want.index + 1)
        following = want.index + 1
        if next_cursor is None:
            # The listing ends here now: the pages after this one are gone.
            del self.pages[following:], self.starts[following:]
            self.held = {i for i in self.held if i < following}
            self.next_cursor, self.exhausted = None, True
            return Accepted(want.index, shift)
        if following == len(self.pages):
            self.next_cursor, self.exhausted = next_cursor, False
        elif self.pages[following].cursor != next_cursor:
            # The boundary moved: the next page must be read again from the new boundary.
            self.pages[following].cursor = next_cursor
            self.pages[following].rows = None
            self.held.discard(following)
        return Accepted(want.index, shift)

    def insert(self, row: int, user: UserRecord) -> int | None:
        """Show `user` at row number `row`, on a held page (None when there is none there);
        returns its row number."""
        if not self.pages:
            return None
        row = max(0, min(row, self.known))
        index = self.page_of(row)
        page = self.pages[index]
        if page.rows is None:
            return None
        page.rows.insert(row - self.starts[index], user)
        page.count += 1
        self._recount(index + 1)
        self.inserted[user.username] = index
        return row

    def _forget_inserted(self, index: int, users: list[UserRecord]) -> None:
        """A page was read: the rows shown out of place on it go (its new rows are the
        database's), and a row shown out of place elsewhere that this page holds goes there."""
        names = {user.username for user in users}
        for username, where in list(self.inserted.items()):
            if where == index:
                del self.inserted[username]
            elif username in names:
                del self.inserted[username]
                page = self.pages[where] if where < len(self.pages) else None
                if page is not None and page.rows is not None:
                    kept = [row for row in page.rows if row.username != username]
                    if len(kept) != len(page.rows):
                        page.rows, page.count = kept, page.count - 1
                        self._recount(where + 1)

    def _recount(self, start: int) -> None:
        for index in range(max(start, 1), len(self.pages)):
            self.starts[index] = self.starts[index - 1] + self.pages[index - 1].count

    def drop(self, username: str) -> int | None:
        """Forget a deleted user; returns its former row number (None when not held)."""
        row = self.row_of(username)
        if row is None:
            return None
        index = self.page_of(row)
        page = self.pages[index]
        assert page.rows is not None
        del page.rows[row - self.starts[index]]
        page.count -= 1
        self._recount(index + 1)
        return row

    def evict_outside(self, first: int, last: int) -> None:
        """Drop the rows of every page without a row in first..last (their cursors stay)."""
        keep = set(self.pages_between(first, last))
        for index in self.held - keep:
            self.pages[index].rows = None
            self.pages[index].reread = False
        self.held &= keep

    def ask_reread(self, first: int, last: int) -> None:
        """Refresh: read the pages of rows first..last again, showing their rows meanwhile;
        held pages elsewhere are dropped (read again when the view reaches them)."""
        self.evict_outside(first, last)
        for index in self.pages_between(first, last):
            self.pages[index].reread = self.pages[index].rows is not None

    @property
    def rereading(self) -> bool:
        return any(self.pages[i].reread for i in self.held)
