"""What every `registry` command shares: its settings, and how an error or an outcome ends it.

A command refuses bad input with the core's own parsers before it connects, runs one
operation through `run_command` (or `with_registry`), and ends with `finish`. Every error the
body raises ends the command here, with the wording and exit code of `core.failures`.
Light on purpose: the driver and coodie load only when a command connects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from registry_tui.cli import output
from registry_tui.core.config import Settings, settings_from_env
from registry_tui.core.documents import answer
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.failures import Failure, failure_of, invalid_input
from registry_tui.core.outcomes import Invalid

if TYPE_CHECKING:
    from registry_tui.core.registry import Registry
    from registry_tui.core.store import Connection

T = TypeVar("T")

JsonOption = typer.Option(False, "--json", help="Print the demo REST API's JSON document.")


def exit_with(code: ExitCode) -> NoReturn:
    raise typer.Exit(int(code))


def settings_from_flags(
    hosts: str | None = None,
    port: int | None = None,
    keyspace: str | None = None,
    serial: str | None = None,
    profile: str | None = None,
) -> Settings:
    """The settings: flags over the environment over the chosen connection profile (--profile
    or REGISTRY_PROFILE) over the defaults."""
    from registry_tui.core.profiles import profile_env

    return settings_from_env(profile_env(profile)).with_overrides(
        hosts=hosts, port=port, keyspace=keyspace, serial=serial
    )


def command_settings(ctx: typer.Context) -> Settings:
    """The settings the root callback put in the context; from the environment when a command
    runs on an app of its own (tests mount single commands that way)."""
    return ctx.obj if isinstance(ctx.obj, Settings) else settings_from_flags()


def flag_label(ctx: typer.Context) -> Callable[[str], str]:
    """Names a field as the person typed it: `--display-name` for a field the command takes as
    an option, the field itself otherwise (an argument, an environment variable)."""
    flags = {
        param.name: max(param.opts, key=len)
        for param in ctx.command.params
        if param.param_type_name == "option" and param.name
    }
    return lambda field: flags.get(field, field)


def stop(as_json: bool, failure: Failure) -> NoReturn:
    """End the command: the document on stdout (with --json), one line on stderr."""
    if as_json and failure.document is not None:
        output.emit_json(failure.document)
    output.fail(failure.message)
    exit_with(failure.exit_code)


def refuse_invalid(ctx: typer.Context, as_json: bool, field: str, message: str) -> NoReturn:
    stop(as_json, invalid_input(field, message, flag_label(ctx)))


def run_command(
    ctx: typer.Context, as_json: bool, body: Callable[[], T], *, interrupted: str = ""
) -> T:
    """Run a command's body; any error it raises ends the command with its one wording and
    exit code. `interrupted` says what stays done when the person presses Ctrl-C."""
    try:
        return body()
    except (Exception, KeyboardInterrupt) as exc:
        failure = failure_of(exc, flag_label(ctx))
        if failure is None:
            raise  # a bug: let it show
        if interrupted and isinstance(exc, KeyboardInterrupt):
            failure = replace(failure, message=f"{failure.message}; {interrupted}")
    stop(as_json, failure)


def with_connection(
    ctx: typer.Context,
    as_json: bool,
    operation: Callable[[Connection], Awaitable[T]],
    *,
    request: Callable[[], object] | None = None,
    interrupted: str = "",
) -> T:
    """Connect, run one operation, close. `request` is the core's parser for the operation's
    input: it runs first, so bad input is refused without a database (or the driver)."""

    async def connected(settings: Settings) -> T:
        from registry_tui.core.store import open_connection

        connection = await open_connection(settings)
        for warning in connection.warnings():
            output.diagnose(f"warning: {warning}")
        try:
            return await operation(connection)
        finally:
            connection.close()

    def body() -> T:
        if request is not None:
            request()
        import asyncio  # loaded by commands that connect, not by --help

        return asyncio.run(connected(command_settings(ctx)))

    return run_command(ctx, as_json, body, interrupted=interrupted)


def with_registry(
    ctx: typer.Context,
    as_json: bool,
    operation: Callable[[Registry], Awaitable[T]],
    *,
    request: Callable[[], object] | None = None,
) -> T:
    """`with_connection` for one registry operation."""

    async def on_registry(connection: Connection) -> T:
        from registry_tui.core.registry import Registry

        return await operation(Registry(connection))

    return with_connection(ctx, as_json, on_registry, request=request)


def finish(
    ctx: typer.Context, outcome: object, as_json: bool, render: Callable[[Any], None]
) -> NoReturn:
    """End the command with an outcome: its document or its rendering, and its exit code."""
    if isinstance(outcome, Invalid):  # the core refused what the fast checks could not see
        refuse_invalid(ctx, as_json, outcome.field, outcome.message)
    result = answer(outcome)
    if as_json:
        output.emit_json(result.document)
    else:
        render(outcome)
    exit_with(result.exit_code)
