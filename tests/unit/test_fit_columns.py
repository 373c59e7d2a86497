"""The users table on a view narrower than its rows: which columns stay and how wide (pure
layout; the table itself is tested with Pilot in tests/tui/test_users.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from registry_tui.tui.widgets.users_table import CELL_PADDING, COLUMNS, PRIORITY, fit_columns

PAD = 2 * CELL_PADDING
SEEDED = [20, 15, 17, 48, 16]  # username, display name, dimension, e-mail, registered


def width_of(fitted: list[int]) -> int:
    return sum(width + PAD for width in fitted if width)


def test_a_view_wide_enough_shows_every_column_whole() -> None:
    assert fit_columns(SEEDED, width_of(SEEDED)) == SEEDED
    assert fit_columns(SEEDED, 200) == SEEDED


def test_at_80_columns_the_date_goes_and_the_address_ends_in_its_share() -> None:
    fitted = fit_columns(SEEDED, 80)
    assert fitted == [20, 14, 14, 24, 0]
    assert width_of(fitted) == 80


def test_one_column_short_cuts_the_longest_cell_only() -> None:
    fitted = fit_columns(SEEDED, width_of(SEEDED) - 6)
    assert fitted == [20, 15, 17, 42, 16]


def test_a_very_narrow_view_keeps_the_whole_name_and_scrolls() -> None:
    assert fit_columns(SEEDED, 40) == [20, 0, 0, 0, 0]
    assert fit_columns([32, 15, 17, 48, 16], 20) == [32, 0, 0, 0, 0]


widths = st.lists(st.integers(min_value=1, max_value=64), min_size=5, max_size=5)


@given(widths, st.integers(min_value=0, max_value=300))
def test_fitted_columns_keep_their_promises(natural: list[int], view: int) -> None:
    fitted = fit_columns(natural, view)
    assert fitted[0] == natural[0]  # the name is never cut
    if natural[0] + PAD <= view:
        assert width_of(fitted) <= view  # no sideways scrolling once the name fits
    for index, floor in PRIORITY:
        if fitted[index]:
            least = natural[index] if floor is None else min(floor, natural[index])
            assert least <= fitted[index] <= natural[index]
    # A column goes only with every less important one after it.
    shown = [bool(fitted[index]) for index, _ in PRIORITY]
    assert shown == sorted(shown, reverse=True)
    if natural[0] + PAD > view:
        return
    # No room is wasted: a cell is cut only when the view is full, and a column goes only when
    # even its least width would not fit in what is left.
    if any(0 < fitted[i] < natural[i] for i in range(len(natural))):
        assert width_of(fitted) == view
    hidden = [index for index, _ in PRIORITY if not fitted[index]]
    if hidden:
        floor = dict(PRIORITY)[hidden[0]]
        least = natural[hidden[0]] if floor is None else min(floor, natural[hidden[0]])
        assert width_of(fitted) + least + PAD > view


def test_priority_names_every_column_once() -> None:
    assert sorted(index for index, _ in PRIORITY) == list(range(len(COLUMNS)))
