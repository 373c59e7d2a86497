"""Which of a registration's fields a table of users keeps when the terminal is too narrow for
all of them. The CLI's tables and the terminal app's users table follow this one order (as gh
and kubectl do): the last fields go first, the ones kept end in "…", and a name is never cut."""

from __future__ import annotations

from collections.abc import Callable

from registry_tui.core.outcomes import UserRecord

# UserRecord's fields, most important first, each with the width below which it is not worth
# showing (None: shown whole or not at all; the username is never cut).
USER_FIELDS: tuple[tuple[str, int | None], ...] = (
    ("username", None),
    ("email", 24),
    ("display_name", 14),
    ("dimension", 12),
    ("registered_at", None),
)


def fit_columns(widths: dict[str, int], view: int, pad: int) -> dict[str, int]:
    """The width each field's column gets in a view `view` cells wide (0: not shown), given
    the width each needs whole (its longest cell or header) and the cells each shown column
    takes besides its text (padding, a border). Columns are sized by content: short ones
    show whole, and only when all do not fit are the last of USER_FIELDS dropped and the long
    ones cut alike."""
    if sum(widths.values()) + pad * len(widths) <= view:
        return dict(widths)
    floors = dict.fromkeys(widths, 0)
    used = 0
    for field, floor in USER_FIELDS:
        if field not in widths:
            continue
        least = widths[field] if floor is None else min(floor, widths[field])
        if field != "username" and used + least + pad > view:
            break  # the rest (less important) go too: no gaps in the order of importance
        floors[field] = least
        used += least + pad
    # What is left is shared so that short cells show whole and the long ones are cut alike:
    # every shown column gets its whole width up to a common cap, the highest that fits.
    room = view - used + sum(floors.values())
    shown = [field for field, least in floors.items() if least]

    def total(cap: int) -> int:
        return sum(max(floors[f], min(widths[f], cap)) for f in shown)

    cap = 0
    while cap < max(widths.values()) and total(cap + 1) <= room:
        cap += 1
    fitted = {f: max(floors[f], min(widths[f], cap)) if floors[f] else 0 for f in widths}
    spare = room - total(cap)
    for field, _floor in USER_FIELDS:  # the last few cells, to the most important still cut
        if spare > 0 and floors.get(field) and fitted[field] < widths[field]:
            fitted[field] += 1
            spare -= 1
    return fitted


# What a listing can be sorted by, as people type it, and the UserRecord field. The database
# cannot sort a listing: it pages in token order (the partition key's hash). So a sort is of
# the rows read, and every front end says which rows those are.
SORT_FIELDS: dict[str, str] = {
    "username": "username",
    "display-name": "display_name",
    "dimension": "dimension",
    "email": "email",
    "registered": "registered_at",
}


def sort_key(field: str) -> Callable[[UserRecord], tuple[object, ...]]:
    """A key that sorts registrations by `field` (a UserRecord field): text in any case, ties
    by username so the order is the same every time."""
    if field == "registered_at":
        return lambda user: (user.registered_at, user.username)
    return lambda user: (str(getattr(user, field)).casefold(), user.username)
