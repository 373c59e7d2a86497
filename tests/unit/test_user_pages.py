"""The page chain behind the users table, without a database: row numbers, what to read
next, eviction, and the repair of the chain when a page read again has changed.

(The same code against the real node, through the app: tests/tui/test_users_window.py.)"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from registry_tui.core.outcomes import UserRecord
from registry_tui.tui.widgets.user_pages import PageWant, UserPages

NOW = datetime(2187, 6, 6, tzinfo=timezone.utc)


def users(*names: str) -> list[UserRecord]:
    return [
        UserRecord(name, f"{name}@x.galaxy", name.title(), "Dimension-6", NOW, uuid.uuid4())
        for name in names
    ]


def names(pages: UserPages, first: int, last: int) -> list[str | None]:
    return [(u.username if (u := pages.user_at(row)) else None) for row in range(first, last + 1)]


def read(pages: UserPages, want: PageWant | None, rows: list[str], cursor: str | None) -> None:
    assert want is not None and pages.is_current(want)
    pages.accept(want, users(*rows), cursor, NOW)


def test_pages_are_counted_and_read_in_order() -> None:
    pages = UserPages(page_size=3)
    assert pages.wanted(0, 10, 2) == PageWant(0, None)
    read(pages, pages.wanted(0, 10, 2), ["a", "b", "c"], "c1")
    assert pages.known == 3 and not pages.exhausted
    # The view reaches the known end: the next page, with the cursor the first one gave.
    assert pages.wanted(0, 2, 0) == PageWant(1, "c1")
    read(pages, PageWant(1, "c1"), ["d", "e", "f"], "c2")
    read(pages, PageWant(2, "c2"), ["g"], None)
    assert pages.known == 7 and pages.exhausted
    assert names(pages, 0, 6) == list("abcdefg")
    assert pages.wanted(0, 6, 5) is None
    assert pages.row_of("e") == 4 and pages.row_of("zz") is None


def test_far_pages_are_dropped_and_read_again_by_their_cursor() -> None:
    pages = UserPages(page_size=2)
    cursor: str | None = None
    for index in range(5):
        nxt = f"c{index + 1}" if index < 4 else None
        read(pages, PageWant(index, cursor), [f"u{2 * index}", f"u{2 * index + 1}"], nxt)
        cursor = nxt
    pages.evict_outside(8, 9)  # the view is on the last page
    assert pages.held == {4} and pages.held_rows == 2
    assert pages.known == 10  # still counted: the row numbers hold
    assert names(pages, 0, 1) == [None, None]
    # Back at the top: page 0 again, without a cursor; page 1 is read with the one kept.
    assert pages.wanted(0, 1, 0) == PageWant(0, None)
    read(pages, PageWant(0, None), ["u0", "u1"], "c1")
    assert pages.wanted(0, 1, 1) == PageWant(1, "c1")


def test_a_page_read_again_that_changed_repairs_the_chain() -> None:
    pages = UserPages(page_size=2)
    read(pages, PageWant(0, None), ["a", "b"], "after-b")
    read(pages, PageWant(1, "after-b"), ["c", "d"], "after-d")
    read(pages, PageWant(2, "after-d"), ["e"], None)
    # "b" was deleted elsewhere: page 0 now ends at "c", and page 1 must start after "c".
    pages.ask_reread(0, 1)
    assert pages.pages[0].reread and names(pages, 0, 1) == ["a", "b"]  # shown meanwhile
    want = pages.wanted(0, 1, 0)
    assert want == PageWant(0, None)
    read(pages, want, ["a", "c"], "after-c")
    assert pages.pages[1].cursor == "after-c" and pages.pages[1].rows is None
    assert pages.wanted(0, 3, 0) == PageWant(1, "after-c")
    # An answer to the old boundary no longer fits.
    assert not pages.is_current(PageWant(1, "after-b"))
    read(pages, PageWant(1, "after-c"), ["d", "e"], None)  # the listing ends here now
    assert pages.exhausted and pages.known == 4 and len(pages.pages) == 2
    assert names(pages, 0, 3) == ["a", "c", "d", "e"]


def test_a_page_that_grew_moves_the_row_numbers_after_it() -> None:
    pages = UserPages(page_size=2)
    read(pages, PageWant(0, None), ["a", "b"], "after-b")
    read(pages, PageWant(1, "after-b"), ["c"], None)
    pages.ask_reread(0, 2)  # a filtered listing's page can come back longer or shorter
    accepted = pages.accept(PageWant(0, None), users("a", "a2", "b"), "after-b", NOW)
    assert accepted.shift == 1 and pages.starts == [0, 3]
    assert names(pages, 0, 3) == ["a", "a2", "b", "c"]
    assert not pages.pages[0].reread and pages.pages[1].reread  # next in line


def test_empty_pages_of_a_filtered_listing_are_passed() -> None:
    pages = UserPages(page_size=2)
    read(pages, PageWant(0, None), [], "e1")  # a secondary index can answer an empty page
    assert pages.known == 0 and pages.wanted(0, 0, 0) == PageWant(1, "e1")
    read(pages, PageWant(1, "e1"), ["a"], "e2")
    read(pages, PageWant(2, "e2"), [], None)
    assert pages.exhausted and names(pages, 0, 0) == ["a"]
    assert list(pages.pages_between(0, 0)) == [0, 1, 2]


def test_a_deleted_user_leaves_no_gap() -> None:
    pages = UserPages(page_size=2)
    read(pages, PageWant(0, None), ["a", "b"], "after-b")
    read(pages, PageWant(1, "after-b"), ["c", "d"], None)
    assert pages.drop("b") == 1 and pages.drop("b") is None
    assert pages.known == 3 and names(pages, 0, 2) == ["a", "c", "d"]
