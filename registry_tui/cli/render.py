"""How the CLI shows registry outcomes and records: rich tables and one-line verdicts on
stdout, stored text always through `safe_text`. The --json documents are `core.documents`."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from registry_tui.cli import output
from registry_tui.core.outcomes import (
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
from registry_tui.safe_text import safe_text


def _user_table(user: UserRecord, title: str = "") -> Table:
    table = Table(show_header=False, title=title or None, title_justify="left", box=None)
    table.add_column(style="bold")
    table.add_column()
    for label, value in (
        ("username", user.username),
        ("display name", user.display_name),
        ("dimension", user.dimension),
        ("e-mail", user.email),
        ("registered at", user.registered_at.isoformat(timespec="seconds")),
        ("user id", user.user_id),
    ):
        table.add_row(label, safe_text(value))
    return table


def _profile_table(profile: ProfileRecord) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    updated = profile.updated_at.isoformat(timespec="seconds") if profile.updated_at else "-"
    for label, value in (
        ("user id", profile.user_id),
        ("username", profile.username),
        ("version", profile.version),
        ("status", profile.status),
        ("bio", profile.bio or ""),
        ("updated at", updated),
    ):
        table.add_row(label, safe_text(value, keep_newlines=True))
    return table


def render_outcome(outcome: object) -> None:
    if isinstance(outcome, Registered):
        output.show(
            Text.assemble(("✔ registered ", "bold green"), safe_text(outcome.user.username))
        )
        output.show(_user_table(outcome.user))
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
        output.show(_user_table(outcome.existing))
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
                + " (run the delete again)"
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
    elif isinstance(outcome, UserRecord):
        output.show(_user_table(outcome))
    elif isinstance(outcome, ProfileRecord):
        output.show(_profile_table(outcome))
    elif isinstance(outcome, Invalid):
        pass  # finish() reports it on stderr


def users_table() -> Table:
    table = Table(title=None)
    for column in ("username", "display name", "dimension", "e-mail", "registered at"):
        table.add_column(column, overflow="fold")
    return table


def add_user_row(table: Table, user: UserRecord) -> None:
    table.add_row(
        safe_text(user.username, "yellow"),
        safe_text(user.display_name),
        safe_text(user.dimension),
        safe_text(user.email),
        user.registered_at.strftime("%Y-%m-%d %H:%M:%S"),
    )
