"""`registry`: every registry operation headless, with the demo's JSON documents.

Imports here stay light (typer, rich, our pure modules); the driver and coodie load only when a
command talks to the database, and Textual only for the TUI, so `registry --help` is quick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from registry_tui.cli import output
from registry_tui.core.config import Settings, settings_from_env
from registry_tui.core.documents import answer, invalid_doc, registration_doc, unavailable_doc
from registry_tui.core.exit_codes import ExitCode
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
from registry_tui.core.validation import (
    ValidationError,
    normalize_bio,
    normalize_label,
    normalize_status,
    normalize_username,
    parse_expected_version,
    parse_page_size,
    parse_user_id,
    validate_registration,
)
from registry_tui.safe_text import safe_text

if TYPE_CHECKING:
    from registry_tui.core.registry import Registry

T = TypeVar("T")

HELP = """The LWT user registry: usernames and e-mails that exist once, profiles under optimistic
locking, and Doppel-9's clones racing for names. Bare `registry` opens the terminal app.

Exit codes: 0 done; 1 refused by the database (taken, conflict, not found); 2 invalid input or
usage; 3 database unreachable or refusing us; 4 outcome unknown."""

app = typer.Typer(help=HELP, add_completion=False, rich_markup_mode=None, no_args_is_help=False)
users_app = typer.Typer(help="Register, list, get and delete users.", no_args_is_help=True)
profiles_app = typer.Typer(
    help="Read and update profiles (optimistic locking).", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(profiles_app, name="profiles")

JsonOption = typer.Option(False, "--json", help="Print the demo REST API's JSON document.")


# ----------------------------------------------------------------------------------------------
# Plumbing


def _exit(code: ExitCode) -> NoReturn:
    raise typer.Exit(int(code))


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    if not isinstance(settings, Settings):  # invoked without the root callback (tests)
        settings = settings_from_env()
    return settings


def refuse_invalid(exc: ValidationError, as_json: bool) -> NoReturn:
    invalid = Invalid(exc.field, exc.message)
    if as_json:
        output.emit_json(invalid_doc(invalid))
    output.fail(f"invalid {exc.field}: {exc.message}")
    _exit(ExitCode.INVALID)


def with_registry(
    ctx: typer.Context, as_json: bool, operation: Callable[[Registry], Awaitable[T]]
) -> T:
    """Connect, run one operation, close. Database trouble ends the command with exit 3."""
    from registry_tui.core.errors import DatabaseUnavailable
    from registry_tui.core.registry import Registry
    from registry_tui.core.store import open_connection

    settings = _settings(ctx)

    async def run() -> T:
        connection = await open_connection(settings)
        try:
            return await operation(Registry(connection))
        finally:
            connection.close()

    try:
        return asyncio.run(run())
    except DatabaseUnavailable as exc:
        if as_json:
            output.emit_json(unavailable_doc(exc.message))
        output.fail(exc.message)
        if "authentication" not in exc.message:
            output.diagnose("is a database running? `make db-up` starts one", style="dim")
        _exit(ExitCode.UNAVAILABLE)
    except ValidationError as exc:
        refuse_invalid(exc, as_json)
    except KeyboardInterrupt:
        output.fail("interrupted")
        _exit(ExitCode.INTERRUPTED)


def finish(outcome: object, as_json: bool, render: Callable[[Any], None]) -> NoReturn:
    result = answer(outcome)
    if as_json:
        output.emit_json(result.document)
    else:
        render(outcome)
    if isinstance(outcome, Invalid):
        output.fail(f"invalid {outcome.field}: {outcome.message}")
    _exit(result.exit_code)


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


# ----------------------------------------------------------------------------------------------
# Root


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    hosts: str | None = typer.Option(
        None, "--hosts", help="Comma-separated contact points (env SCYLLA_HOSTS)."
    ),
    port: int | None = typer.Option(None, "--port", help="CQL port (env SCYLLA_PORT)."),
    keyspace: str | None = typer.Option(
        None, "--keyspace", help="Keyspace, created when missing (env SCYLLA_KEYSPACE)."
    ),
) -> None:
    try:
        ctx.obj = settings_from_env().with_overrides(hosts=hosts, port=port, keyspace=keyspace)
    except ValidationError as exc:
        output.fail(f"invalid {exc.field}: {exc.message}")
        _exit(ExitCode.INVALID)
    if ctx.invoked_subcommand is None:
        _exit(ExitCode(_open_tui(ctx.obj)))


def _open_tui(settings: Settings) -> int:
    from registry_tui.tui.app import run_tui  # Textual loads only here

    return run_tui(settings)


@app.command("tui")
def tui_command(ctx: typer.Context) -> None:
    """Open the terminal app (the same as bare `registry`)."""
    _exit(ExitCode(_open_tui(_settings(ctx))))


# ----------------------------------------------------------------------------------------------
# users


@users_app.command("register")
def users_register(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="3-32 of a-z 0-9 - _ . (case-insensitive)."),
    email: str = typer.Option(..., "--email", help="An address that can be claimed once."),
    display_name: str = typer.Option(..., "--display-name", help="1-64 printable characters."),
    dimension: str = typer.Option(..., "--dimension", help="1-64 printable characters."),
    as_json: bool = JsonOption,
) -> None:
    """Register a user: INSERT ... IF NOT EXISTS on the username and on the e-mail."""
    try:
        validate_registration(username, email, display_name, dimension)
    except ValidationError as exc:
        refuse_invalid(exc, as_json)
    outcome = with_registry(
        ctx, as_json, lambda r: r.register(username, email, display_name, dimension)
    )
    finish(outcome, as_json, render_outcome)


@users_app.command("list")
def users_list(
    ctx: typer.Context,
    dimension: str | None = typer.Option(None, "--dimension", help="Only this dimension."),
    limit: int = typer.Option(100, "--limit", help="Users per page (1-5000)."),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue where a page ended."),
    all_pages: bool = typer.Option(False, "--all", help="Stream every page."),
    as_json: bool = JsonOption,
) -> None:
    """List registrations one page at a time (never a silent truncation)."""
    from registry_tui.core.outcomes import Page

    try:
        parse_page_size(limit)
        if dimension is not None:
            normalize_label("dimension", dimension)
    except ValidationError as exc:
        refuse_invalid(exc, as_json)

    async def listing(registry: Registry) -> tuple[int, str | None, Invalid | None]:
        count, next_cursor = 0, cursor
        table = _users_table() if not as_json else None
        array: output.JsonArray | None = None
        while True:
            page = await registry.list_users(dimension, limit, next_cursor)
            if isinstance(page, Invalid):
                return count, None, page
            assert isinstance(page, Page)
            count += len(page.users)
            if as_json:  # one page in memory at a time, written as it arrives
                array = array or output.JsonArray()
                array.extend(registration_doc(u) for u in page.users)
            else:
                assert table is not None
                for user in page.users:
                    _add_user_row(table, user)
                if all_pages and page.cursor is not None and table.row_count >= 200:
                    output.show(table)
                    table = _users_table()
            next_cursor = page.cursor
            if not all_pages or next_cursor is None:
                break
        if array is not None:
            array.close()
        if table is not None:
            output.show(table)
        return count, next_cursor, None

    count, next_cursor, invalid = with_registry(ctx, as_json, listing)
    if invalid is not None:
        finish(invalid, as_json, render_outcome)
    if next_cursor:
        output.diagnose(
            f"{count} users shown; more remain: add --cursor {next_cursor} (or --all)",
        )
    elif not as_json:
        output.diagnose(f"{count} users", style="dim")
    _exit(ExitCode.OK)


def _users_table() -> Table:
    table = Table(title=None)
    for column in ("username", "display name", "dimension", "e-mail", "registered at"):
        table.add_column(column, overflow="fold")
    return table


def _add_user_row(table: Table, user: UserRecord) -> None:
    table.add_row(
        safe_text(user.username, "yellow"),
        safe_text(user.display_name),
        safe_text(user.dimension),
        safe_text(user.email),
        user.registered_at.strftime("%Y-%m-%d %H:%M:%S"),
    )


@users_app.command("get")
def users_get(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    as_json: bool = JsonOption,
) -> None:
    """Show one registration (a point read)."""
    try:
        normalize_username(username)
    except ValidationError as exc:
        refuse_invalid(exc, as_json)
    outcome = with_registry(ctx, as_json, lambda r: r.get_user(username))
    finish(outcome, as_json, render_outcome)


@users_app.command("delete")
def users_delete(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    as_json: bool = JsonOption,
) -> None:
    """Delete a user by identity (IF user_id = ...), with its profile and e-mail claim."""
    try:
        normalize_username(username)
    except ValidationError as exc:
        refuse_invalid(exc, as_json)
    outcome = with_registry(ctx, as_json, lambda r: r.delete_user(username))
    finish(outcome, as_json, render_outcome)


# ----------------------------------------------------------------------------------------------
# profiles


@profiles_app.command("get")
def profiles_get(
    ctx: typer.Context,
    user_id: str = typer.Argument(..., help="The user's UUID."),
    as_json: bool = JsonOption,
) -> None:
    """Show one profile with its version."""
    try:
        parse_user_id(user_id)
    except ValidationError as exc:
        refuse_invalid(exc, as_json)
    outcome = with_registry(ctx, as_json, lambda r: r.get_profile(user_id))
    finish(outcome, as_json, render_outcome)


@profiles_app.command("update")
def profiles_update(
    ctx: typer.Context,
    user_id: str = typer.Argument(..., help="The user's UUID."),
    bio: str | None = typer.Option(None, "--bio", help="At most 500 printable characters."),
    status: str | None = typer.Option(None, "--status", help="active, inactive or suspended."),
    expected_version: str | None = typer.Option(
        None,
        "--expected-version",
        help="Write only if the profile is still at this version (else: read it first).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """UPDATE ... IF version = n, setting version n+1."""
    try:
        parse_user_id(user_id)
        if bio is not None:
            normalize_bio(bio)
        if status is not None:
            normalize_status(status)
        if expected_version is not None:
            parse_expected_version(expected_version)
        if bio is None and status is None:
            raise ValidationError("bio", "nothing to update: give --bio, --status, or both")
    except ValidationError as exc:
        refuse_invalid(exc, as_json)
    outcome = with_registry(
        ctx, as_json, lambda r: r.update_profile(user_id, bio, status, expected_version)
    )
    finish(outcome, as_json, render_outcome)


# ----------------------------------------------------------------------------------------------
# seed


@app.command("seed")
def seed_command(
    ctx: typer.Context,
    count: int = typer.Option(40, "--count", help="Heroes to register (1-100000)."),
    concurrency: int = typer.Option(32, "--concurrency", help="Registrations in flight (1-512)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object."),
) -> None:
    """The demo's story: heroes register, Doppel-9's clones are blocked, profiles at v1."""
    from registry_tui.cli.seed import run_seed_command

    if not 1 <= count <= 100_000:
        refuse_invalid(ValidationError("count", "must be between 1 and 100000"), as_json)
    if not 1 <= concurrency <= 512:
        refuse_invalid(ValidationError("concurrency", "must be between 1 and 512"), as_json)
    report = with_registry(ctx, as_json, lambda r: run_seed_command(r, count, concurrency, as_json))
    _exit(ExitCode.OK if report.clones_slipped == 0 else ExitCode.REFUSED)


from registry_tui.cli.race import race_command  # noqa: E402  (light: imports typer only)
from registry_tui.cli.serve import serve_command  # noqa: E402

app.command("race")(race_command)
app.command("serve")(serve_command)


def main() -> None:
    from registry_tui.core.logs import quiet_driver_logs

    quiet_driver_logs()
    app(prog_name="registry")


if __name__ == "__main__":
    main()
