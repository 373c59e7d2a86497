"""`registry users ...`: register, list, get and delete, each one registry operation.

Typer command callbacks; `cli.app` registers them. Each refuses bad input with the core's own
parser before it connects.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import typer

from registry_tui.cli import output, render
from registry_tui.cli.common import JsonOption, exit_with, finish, with_registry
from registry_tui.core.documents import registration_doc
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.outcomes import Invalid, Page
from registry_tui.core.validation import (
    normalize_username,
    parse_user_id,
    parse_user_listing,
    validate_registration,
)

if TYPE_CHECKING:
    from registry_tui.core.registry import Registry

ROWS_PER_TABLE = 200  # `--all` prints the table in chunks so a long listing starts at once


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
) -> None:
    """Register a user: INSERT ... IF NOT EXISTS on the username and on the e-mail."""

    def request() -> uuid.UUID | None:
        validate_registration(username, email, display_name, dimension)
        return parse_user_id(user_id) if user_id is not None else None

    outcome = with_registry(
        ctx,
        as_json,
        lambda r: r.register(username, email, display_name, dimension, user_id=request()),
        request=request,
    )
    finish(ctx, outcome, as_json, render.render_outcome)


def list_users(
    ctx: typer.Context,
    dimension: str | None = typer.Option(None, "--dimension", help="Only this dimension."),
    limit: int = typer.Option(100, "--limit", help="Users per page (1-5000)."),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue where a page ended."),
    all_pages: bool = typer.Option(False, "--all", help="Stream every page."),
    as_json: bool = JsonOption,
) -> None:
    """List registrations one page at a time (never a silent truncation)."""

    async def listing(registry: Registry) -> tuple[int, str | None, Invalid | None]:
        count, next_cursor = 0, cursor
        table = render.users_table(output.stdout().width) if not as_json else None
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
                    render.add_user_row(table, user)
                if all_pages and page.cursor is not None and table.row_count >= ROWS_PER_TABLE:
                    output.show(table)
                    table = render.users_table(output.stdout().width)
            next_cursor = page.cursor
            if not all_pages or next_cursor is None:
                break
        if array is not None:
            array.close()
        if table is not None:
            output.show(table)
        return count, next_cursor, None

    count, next_cursor, invalid = with_registry(
        ctx, as_json, listing, request=lambda: parse_user_listing(dimension, limit)
    )
    if invalid is not None:
        finish(ctx, invalid, as_json, render.render_outcome)
    if next_cursor:
        output.diagnose(
            f"{count} users shown; more remain: add --cursor {next_cursor} (or --all)",
        )
    elif not as_json:
        output.diagnose(f"{count} users", style="dim")
    exit_with(ExitCode.OK)


def get(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    as_json: bool = JsonOption,
) -> None:
    """Show one registration (a point read)."""
    outcome = with_registry(
        ctx, as_json, lambda r: r.get_user(username), request=lambda: normalize_username(username)
    )
    finish(ctx, outcome, as_json, render.render_outcome)


def delete(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    user_id: str | None = typer.Option(
        None,
        "--user-id",
        help="Only this identity: a name held by anyone else is left alone. Also removes a "
        "case variant `registry adopt` listed as a conflict (its row at the name as typed).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Delete a user by identity (IF user_id = ...), with its profile and e-mail claim."""

    def request() -> uuid.UUID | None:
        normalize_username(username)
        return parse_user_id(user_id) if user_id is not None else None

    outcome = with_registry(
        ctx,
        as_json,
        lambda r: r.delete_user(username, user_id=request()),
        request=request,
    )
    finish(ctx, outcome, as_json, render.render_outcome)
