"""How the CLI shows registry outcomes and records: rich tables and one-line verdicts on
stdout, stored text always through `safe_text`. The --json documents are `core.documents`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from rich.table import Table
from rich.text import Text

from registry_tui.cli import output
from registry_tui.core.outcomes import (
    CleanupFinished,
    Deleted,
    EmailTaken,
    Invalid,
    NotFound,
    ProfileRecord,
    Registered,
    Unknown,
    Updated,
    UsernameTaken,
    UserRecord,
    VersionConflict,
)
from registry_tui.core.validation import USERNAME_MAX
from registry_tui.safe_text import safe_text
from registry_tui.user_columns import USER_FIELDS, fit_columns

# One form for every time the CLI shows people (list, get, profiles): UTC, to the second.
# --json carries ISO 8601 instead, for programs.
REGISTERED_LABEL = "registered (UTC)"


def moment(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def user_table(user: UserRecord, title: str = "") -> Table:
    table = Table(show_header=False, title=title or None, title_justify="left", box=None)
    table.add_column(style="bold")
    table.add_column()
    for label, value in (
        ("username", user.username),
        ("display name", user.display_name),
        ("dimension", user.dimension),
        ("e-mail", user.email),
        (REGISTERED_LABEL, moment(user.registered_at)),
        ("user id", user.user_id),
    ):
        table.add_row(label, safe_text(value))
    return table


def _profile_table(profile: ProfileRecord) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    updated = moment(profile.updated_at) if profile.updated_at else "-"
    for label, value in (
        ("user id", profile.user_id),
        ("username", profile.username),
        ("version", profile.version),
        ("status", profile.status),
        ("bio", profile.bio or ""),
        ("updated (UTC)", updated),
    ):
        table.add_row(label, safe_text(value, keep_newlines=True))
    return table


def render_outcome(outcome: object) -> None:
    if isinstance(outcome, Registered):
        output.show(
            Text.assemble(("✔ registered ", "bold green"), safe_text(outcome.user.username))
        )
        output.show(user_table(outcome.user))
        if outcome.incomplete:
            output.show(
                Text(
                    f"  not confirmed yet: {', '.join(outcome.incomplete)}. The database did "
                    "not answer in time; the name and the address are held for this user, "
                    "and the next registration that meets either finishes it.",
                    style="yellow",
                )
            )
    elif isinstance(outcome, UsernameTaken):
        output.show(
            Text.assemble(
                ("✘ username taken: ", "bold red"),
                safe_text(outcome.existing.username),
                " already belongs to",
            )
        )
        output.show(user_table(outcome.existing))
    elif isinstance(outcome, EmailTaken):
        owner = outcome.owner
        output.show(
            Text.assemble(
                ("✘ e-mail taken: ", "bold red"),
                safe_text(owner.email),
                " is claimed by ",
                safe_text(owner.username, "bold"),
                f" ({owner.user_id}, {owner.state})",
            )
        )
    elif isinstance(outcome, Deleted):
        output.show(
            Text.assemble(
                ("✔ deleted ", "bold green"),
                safe_text(outcome.user.username),
                ": registration, profile and e-mail claim",
            )
        )
        if outcome.leftovers:
            output.diagnose(
                "could not confirm the removal of: "
                + ", ".join(outcome.leftovers)
                + " (to finish it: registry users delete "
                + safe_text(outcome.user.username).plain
                + f" --user-id {outcome.user.user_id} --yes)"
            )
    elif isinstance(outcome, CleanupFinished):
        output.show(
            Text.assemble(
                ("✔ finished ", "bold green"),
                "an earlier delete of ",
                safe_text(outcome.username),
                f" ({outcome.user_id}): its registration was already gone; "
                "its left-over profile is removed",
            )
        )
        if outcome.leftovers:
            output.diagnose(
                "could not confirm the removal of: "
                + ", ".join(outcome.leftovers)
                + " (run the same command again)"
            )
    elif isinstance(outcome, Updated):
        output.show(
            Text.assemble(("✔ applied", "bold green"), f": version {outcome.profile.version}")
        )
        output.show(_profile_table(outcome.profile))
    elif isinstance(outcome, VersionConflict):
        output.show(
            Text(
                f"✘ version conflict: you expected version {outcome.expected_version}, "
                f"the database holds version {outcome.current.version}",
                style="bold red",
            )
        )
        output.show(_profile_table(outcome.current))
    elif isinstance(outcome, NotFound):
        output.show(
            Text.assemble(("✘ not found: ", "bold red"), f"{outcome.what} ", safe_text(outcome.key))
        )
    elif isinstance(outcome, Unknown):
        output.show(
            Text.assemble(
                ("? outcome unknown: ", "bold yellow"),
                safe_text(f"{outcome.operation} {outcome.key}: {outcome.reason}"),
            )
        )
        if isinstance(outcome.current, UserRecord):
            output.show(Text("The database holds now:", style="dim"))
            output.show(user_table(outcome.current))
        elif isinstance(outcome.current, ProfileRecord):
            output.show(Text("The database holds now:", style="dim"))
            output.show(_profile_table(outcome.current))
        elif outcome.current_read:
            output.show(Text("The database holds no row there now.", style="dim"))
    elif isinstance(outcome, UserRecord):
        output.show(user_table(outcome))
    elif isinstance(outcome, ProfileRecord):
        output.show(_profile_table(outcome))
    elif isinstance(outcome, Invalid):
        pass  # finish() reports it on stderr


# The users table's cells by UserRecord field, as (header, the cell). Which of them stay on a
# narrow terminal, in which order, is USER_FIELDS (shared with the terminal app's table): the
# last ones go rather than any cell breaking a name or an address in two.
USER_CELLS: dict[str, tuple[str, Callable[[UserRecord], Text]]] = {
    "username": ("username", lambda u: safe_text(u.username, "yellow")),
    "email": ("e-mail", lambda u: safe_text(u.email)),
    "display_name": ("display name", lambda u: safe_text(u.display_name)),
    "dimension": ("dimension", lambda u: safe_text(u.dimension)),
    "registered_at": (REGISTERED_LABEL, lambda u: Text(moment(u.registered_at))),
}
REGISTERED_AT_WIDTH = len(moment(datetime(2000, 1, 1, tzinfo=timezone.utc)))
CELL_FRAME = 3  # a cell's padding either side and the border after it


def users_table(width: int, users: Sequence[UserRecord] = ()) -> Table:
    """A table of registrations for a terminal `width` columns wide, holding `users`: each
    column as wide as its longest cell (or header), the columns that fit, every cell on one
    line (cut with an ellipsis, never wrapped). Without users, the columns get the widths
    below which they are not worth showing (rows added with `add_user_row`)."""
    fields = [field for field, _ in USER_FIELDS]
    if users:
        cells = [[USER_CELLS[field][1](user) for field in fields] for user in users]
        needs = {
            field: max([len(USER_CELLS[field][0])] + [row[i].cell_len for row in cells])
            for i, field in enumerate(fields)
        }
        needs["username"] = min(needs["username"], USERNAME_MAX)
        fitted = fit_columns(needs, width - 1, CELL_FRAME)  # - the table's left border
        table = Table(title=None)
        shown = [field for field in fields if fitted[field]]
        for field in shown:
            table.add_column(
                USER_CELLS[field][0], overflow="ellipsis", width=fitted[field], no_wrap=True
            )
        for row in cells:
            for text in row:
                text.no_wrap, text.overflow = True, "ellipsis"
            table.add_row(*[row[fields.index(field)] for field in shown])
        return table
    table = Table(title=None)
    used = 4  # the table's outer borders
    for field, floor_or_none in USER_FIELDS:
        # A username (at most 32 characters) is never cut; the other cells give way first.
        if field == "username":
            floor = min(USERNAME_MAX, width // 2)
        else:
            floor = REGISTERED_AT_WIDTH if floor_or_none is None else floor_or_none
        header = USER_CELLS[field][0]
        if table.columns and used + floor + 3 > width:  # + the cell's padding and border
            break
        used += floor + 3
        table.add_column(header, overflow="ellipsis", min_width=floor)
    # Share what is left among the columns after the name, so that a long address is cut to
    # its share rather than pushing the table past the terminal's edge.
    spare = max(0, width - used)
    others = table.columns[1:]
    total_needs = sum(column.min_width or 0 for column in others) or 1
    for column in others:
        column.max_width = (column.min_width or 0) + spare * (column.min_width or 0) // total_needs
    table.columns[0].max_width = USERNAME_MAX
    return table


def add_user_row(table: Table, user: UserRecord) -> None:
    # The columns shown are the first of USER_FIELDS (users_table stops at the first that
    # does not fit).
    cells = [USER_CELLS[field][1](user) for field, _ in USER_FIELDS[: len(table.columns)]]
    for text in cells:  # one line per cell: cut, never wrapped
        text.no_wrap, text.overflow = True, "ellipsis"
    table.add_row(*cells)
