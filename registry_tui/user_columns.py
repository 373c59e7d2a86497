"""Which of a registration's fields a table of users keeps when the terminal is too narrow for
all of them. The CLI's tables and the terminal app's users table follow this one order (as gh
and kubectl do): the last fields go first, the ones kept end in "…", and a name is never cut."""

from __future__ import annotations

# UserRecord's fields, most important first, each with the width below which it is not worth
# showing (None: shown whole or not at all; the username is never cut).
USER_FIELDS: tuple[tuple[str, int | None], ...] = (
    ("username", None),
    ("email", 24),
    ("display_name", 14),
    ("dimension", 12),
    ("registered_at", None),
)
