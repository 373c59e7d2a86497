"""`registry profiles ...`: read a profile, and update it under optimistic locking.

Typer command callbacks; `cli.app` registers them. Each refuses bad input with the core's own
parser before it connects.
"""

from __future__ import annotations

import typer

from registry_tui.cli import render
from registry_tui.cli.common import JsonOption, finish, stop, with_registry
from registry_tui.core.failures import invalid_input
from registry_tui.core.validation import parse_profile_update, parse_user_id


def get(
    ctx: typer.Context,
    user_id: str = typer.Argument(..., metavar="USER_ID", help="The user's UUID."),
    as_json: bool = JsonOption,
) -> None:
    """Show one profile with its version."""
    outcome = with_registry(
        ctx, as_json, lambda r: r.get_profile(user_id), request=lambda: parse_user_id(user_id)
    )
    finish(ctx, outcome, as_json, render.render_outcome)


def update(
    ctx: typer.Context,
    user_id: str = typer.Argument(..., metavar="USER_ID", help="The user's UUID."),
    bio: str | None = typer.Option(
        None, "--bio", metavar="TEXT", help="At most 500 printable characters."
    ),
    status: str | None = typer.Option(
        None, "--status", metavar="STATUS", help="active, inactive or suspended."
    ),
    expected_version: str | None = typer.Option(
        None,
        "--expected-version",
        metavar="N",
        help="Write only if the profile is still at version N (else: read it first).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Update a profile's bio and/or status: UPDATE ... IF version = N, setting version N+1."""
    if bio is None and status is None:  # say what is missing, before any other check
        missing = "nothing to change: give --bio TEXT, --status STATUS, or both"
        stop(as_json, invalid_input("update", missing))
    outcome = with_registry(
        ctx,
        as_json,
        lambda r: r.update_profile(user_id, bio, status, expected_version),
        request=lambda: parse_profile_update(user_id, bio, status, expected_version),
    )
    finish(ctx, outcome, as_json, render.render_outcome)
