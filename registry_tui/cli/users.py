"""`registry users ...`: register, list, get and delete, each one registry operation.

Typer command callbacks; `cli.app` registers them. Each refuses bad input with the core's own
parser before it connects.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from registry_tui.cli import output, render
from registry_tui.cli.common import JsonOption, exit_with, finish, with_registry
from registry_tui.cli.confirm import DELETE_DECLINED, IdentityDiffers, can_ask, confirm_delete
from registry_tui.core.documents import answer, registration_doc
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.outcomes import Invalid, NotFound, Page, UserRecord
from registry_tui.core.validation import (
    ValidationError,
    normalize_username,
    parse_user_id,
    parse_user_listing,
    validate_registration,
)
from registry_tui.user_columns import SORT_FIELDS, sort_key

if TYPE_CHECKING:
    from registry_tui.core.registry import Registry
    from registry_tui.proof.paxos import PaxosTrace

ROWS_PER_TABLE = 200  # `--all` prints the table in chunks so a long listing starts at once
SORT_MAX = 10_000  # rows `--sort --all` holds to sort: the database cannot sort a listing


def register(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="3-32 of a-z 0-9 - _ . (case-insensitive)."),
    email: str = typer.Option(..., "--email", help="An address that can be claimed once."),
    display_name: str = typer.Option(..., "--display-name", help="1-64 printable characters."),
    dimension: str = typer.Option(..., "--dimension", help="1-64 printable characters."),
    user_id: str | None = typer.Option(
        None,
        "--user-id",
        help="Continue a registration whose outcome was unknown (exit 4): the user_id it "
        "printed. Its e-mail claim is already its own; it never makes a second identity.",
    ),
    as_json: bool = JsonOption,
    trace: bool = typer.Option(
        False,
        "--trace",
        help="Send the registration's statements with tracing on and show each one's Paxos "
        "rounds: who promised and accepted, how long, how many round trips (JSON: 'trace').",
    ),
) -> None:
    """Register a user: INSERT ... IF NOT EXISTS on the username and on the e-mail."""

    def request() -> uuid.UUID | None:
        validate_registration(username, email, display_name, dimension)
        return parse_user_id(user_id) if user_id is not None else None

    traced: list[tuple[str, PaxosTrace]] = []

    async def registering(r: Registry) -> object:
        if not trace:
            return await r.register(username, email, display_name, dimension, user_id=request())
        from registry_tui.cli import traces  # the driver and the race package: only when asked
        from registry_tui.core.trace import tracing

        with tracing() as sent:
            outcome = await r.register(username, email, display_name, dimension, user_id=request())
        traced.extend(await traces.read_all(r.connection.session, sent))
        return outcome

    outcome = with_registry(ctx, as_json, registering, request=request)
    if not trace or isinstance(outcome, Invalid):
        finish(ctx, outcome, as_json, render.render_outcome)
    from registry_tui.cli import traces

    result = answer(outcome)
    if as_json:
        document = result.document
        if isinstance(document, dict):
            document = {**document, "trace": traces.traces_document(traced)}
        output.emit_json(document)
    else:
        render.render_outcome(outcome)
        traces.show_timelines(traced)
    exit_with(result.exit_code)


def list_users(
    ctx: typer.Context,
    dimension: str | None = typer.Option(None, "--dimension", help="Only this dimension."),
    limit: int = typer.Option(100, "--limit", help="Users per page (1-5000)."),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue where a page ended."),
    all_pages: bool = typer.Option(False, "--all", help="Stream every page."),
    sort: str | None = typer.Option(
        None,
        "--sort",
        help=f"Sort the rows read by {', '.join(SORT_FIELDS)} (-FIELD: descending). The "
        "database pages in token order: this sorts one page, or with --all at most "
        f"{SORT_MAX:,} rows.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """List registrations one page at a time (never a silent truncation)."""
    width = output.stdout().width

    def request() -> object:
        if sort is not None:
            parse_sort(sort)
        return parse_user_listing(dimension, limit)

    arrays: list[output.JsonArray] = []  # with --json: the one array, once opened

    def shown(users: list[UserRecord]) -> None:
        if as_json:
            if not arrays:
                arrays.append(output.JsonArray())
            arrays[0].extend(registration_doc(u) for u in users)
        elif users:
            output.show(render.users_table(width, users))

    async def listing(registry: Registry) -> tuple[int, str | None, Invalid | None]:
        order = parse_sort(sort) if sort is not None else None
        count, next_cursor = 0, cursor
        chunk: list[UserRecord] = []  # rows not shown yet (one chunk in memory at a time)
        while True:
            page = await registry.list_users(dimension, limit, next_cursor)
            if isinstance(page, Invalid):
                return count, None, page
            assert isinstance(page, Page)
            count += len(page.users)
            chunk.extend(page.users)
            next_cursor = page.cursor
            if order is not None and all_pages and len(chunk) > SORT_MAX:
                raise ValidationError(
                    "sort",
                    f"more than {SORT_MAX:,} users to sort; the database cannot sort, so "
                    "--sort with --all sorts at most that many (narrow with --dimension, "
                    "or sort page by page without --all)",
                )
            if order is None and (as_json or len(chunk) >= ROWS_PER_TABLE):
                shown(chunk)  # as it arrives: a long listing starts at once
                chunk = []
            if not all_pages or next_cursor is None:
                break
        if order is not None:
            field, descending = order
            chunk.sort(key=sort_key(field), reverse=descending)
        shown(chunk)
        for array in arrays:
            array.close()
        return count, next_cursor, None

    count, next_cursor, invalid = with_registry(ctx, as_json, listing, request=request)
    if invalid is not None:
        finish(ctx, invalid, as_json, render.render_outcome)
    if sort is not None:
        what = "every user listed" if not next_cursor else "this page only"
        output.diagnose(
            f"sorted by {sort}: {what} (the database returns rows in token order, not sorted)",
            style="dim",
        )
    if next_cursor:
        output.diagnose(
            f"{count:,} {'user' if count == 1 else 'users'} shown; more remain: "
            f"add --cursor {next_cursor} (or --all)",
        )
    elif not as_json:
        output.diagnose(f"{count:,} {'user' if count == 1 else 'users'}", style="dim")
    exit_with(ExitCode.OK)


def parse_sort(sort: str | None) -> tuple[str, bool]:
    """`--sort FIELD` or `--sort -FIELD` (descending): the UserRecord field and the way."""
    text = (sort or "").strip()
    name = text.removeprefix("-").lower().replace("_", "-")
    name = {"e-mail": "email", "registered-at": "registered"}.get(name, name)
    if name not in SORT_FIELDS:
        raise ValidationError(
            "sort", f"sort by one of: {', '.join(SORT_FIELDS)} (-FIELD: descending)"
        )
    return SORT_FIELDS[name], text.startswith("-")


def get(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    profile: bool = typer.Option(
        False,
        "--profile",
        help="Also show the user's profile (bio, status, version): no UUID to copy. With "
        "--json, the profile's document (as `profiles get USER_ID`).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Show one registration (a point read)."""

    async def reading(registry: Registry) -> tuple[object, object | None]:
        user = await registry.get_user(username)
        if not profile or not isinstance(user, UserRecord):
            return user, None
        return user, await registry.get_profile(user.user_id)

    user, found = with_registry(ctx, as_json, reading, request=lambda: normalize_username(username))
    if found is None:
        finish(ctx, user, as_json, render.render_outcome)

    def both(outcome: object) -> None:
        render.render_outcome(user)
        output.show(Text("profile", style="bold"))
        render.render_outcome(outcome)

    finish(ctx, found, as_json, both)


def delete(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    user_id: str | None = typer.Option(
        None,
        "--user-id",
        help="Only this identity: a name held by anyone else is left alone. Also removes a "
        "case variant `registry adopt` listed as a conflict (its row at the name as typed).",
    ),
    yes: bool = typer.Option(
        False,
        "--yes",
        "-y",
        help="Delete without asking. Required when there is no terminal to ask on.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Delete a user by identity (IF user_id = ...), with its profile and e-mail claim.
    Asks first on a terminal (--yes: don't ask)."""
    ask = not yes

    def request() -> uuid.UUID | None:
        normalize_username(username)
        uid = parse_user_id(user_id) if user_id is not None else None
        if ask and not can_ask():
            raise ValidationError(
                "yes", "no terminal to ask on: add --yes to delete without asking"
            )
        return uid

    async def deleting(registry: Registry) -> object:
        uid = request()
        if ask:
            current = await registry.get_user(username)
            if isinstance(current, NotFound) and uid is not None:
                pass  # gone: the delete by identity may finish a cut-off clean-up, unasked
            elif not isinstance(current, UserRecord):
                return current  # not found, or a name the core refuses: nothing to ask
            elif uid is not None and current.user_id != uid and username == current.username:
                return IdentityDiffers(current, uid, NotFound("user", username))
            elif not confirm_delete(current, uid):
                return DELETE_DECLINED
        outcome = await registry.delete_user(username, user_id=uid)
        if isinstance(outcome, NotFound) and uid is not None:
            # Say why: the name may well exist, held by another identity than the one given.
            holder = await registry.get_user(username)
            if isinstance(holder, UserRecord) and holder.user_id != uid:
                return IdentityDiffers(holder, uid, outcome)
        return outcome

    outcome = with_registry(ctx, as_json, deleting, request=request)
    if outcome is DELETE_DECLINED:
        output.diagnose("nothing deleted (not confirmed)")
        exit_with(ExitCode.REFUSED)
    if isinstance(outcome, IdentityDiffers):
        held = outcome.holder
        output.diagnose(
            f"not deleted: {held.username} is held by identity {held.user_id}, not "
            f"{outcome.asked} (--user-id); nothing was changed",
            style="bold red",
        )
        if as_json:
            finish(ctx, outcome.outcome, as_json, render.render_outcome)
        exit_with(ExitCode.REFUSED)
    finish(ctx, outcome, as_json, render.render_outcome)
