"""`registry`: every registry operation headless, with the demo's JSON documents.

Every command is registered here; their bodies live beside this module (users, profiles, seed,
race, serve) and share `common`. Imports stay light (typer, rich, our pure modules): the driver
and coodie load only when a command talks to the database, and Textual only inside the `tui`
command, so `registry --help` is quick.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer._click import exceptions as click_errors

from registry_tui.cli import output, profiles, users
from registry_tui.cli.adopt import adopt_command
from registry_tui.cli.check import check_command
from registry_tui.cli.common import (
    command_settings,
    exit_with,
    run_command,
    settings_from_flags,
    stop,
)
from registry_tui.cli.race import race_command
from registry_tui.cli.seed import seed_command
from registry_tui.cli.serve import serve_command
from registry_tui.core.config import Settings
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.failures import invalid_input
from registry_tui.core.validation import ValidationError

HELP = """The LWT user registry: usernames and e-mails that exist once, profiles under optimistic
locking, and Doppel-9's clones racing for names. Bare `registry` opens the terminal app.

Exit codes: 0 done; 1 refused by the database (taken, conflict, not found); 2 invalid input or
usage; 3 database unreachable or refusing us; 4 outcome unknown."""

app = typer.Typer(help=HELP, add_completion=True, rich_markup_mode=None, no_args_is_help=False)
users_app = typer.Typer(help="Register, list, get and delete users.", no_args_is_help=True)
profiles_app = typer.Typer(
    help="Read and update profiles (optimistic locking).", no_args_is_help=True
)


def _print_version(value: bool) -> None:
    if value:
        from registry_tui import __version__

        output.emit_text(f"registry {__version__}")
        raise typer.Exit(int(ExitCode.OK))


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
    serial: str | None = typer.Option(
        None,
        "--serial",
        help="global: one owner per name in the whole cluster (SERIAL, the default); local: "
        "one per data centre (LOCAL_SERIAL, faster) (env SCYLLA_SERIAL).",
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help="A named connection profile from ~/.config/registry-tui/config.toml "
        "(env REGISTRY_PROFILE).",
    ),
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print the version and exit.",
    ),
) -> None:
    try:
        ctx.obj = settings_from_flags(hosts, port, keyspace, serial, profile)
    except ValidationError as exc:
        # Named as the environment and the settings name it: the value may not come from a flag.
        stop(False, invalid_input(exc.field, exc.message))
    _note_environment_overrides(ctx.obj)
    if ctx.invoked_subcommand is None:
        if not _has_terminal():  # bare `registry` from a script or a pipe: the help
            output.stderr().print(ctx.get_help(), markup=False, highlight=False)
            output.fail(f"usage: {NO_TERMINAL} (see above)")
            exit_with(ExitCode.INVALID)
        exit_with(ExitCode(run_command(ctx, False, lambda: _open_tui(ctx.obj))))


def _note_environment_overrides(settings: Settings) -> None:
    """A profile's value the environment overrides is not used: say so, on stderr."""
    if not settings.profile:
        return
    from registry_tui.core.profiles import load_profile, overridden_by_env

    overridden = overridden_by_env(load_profile(settings.profile))
    if overridden:
        output.diagnose(
            f"note: the environment overrides profile {settings.profile}'s " + ", ".join(overridden)
        )


def tui_command(ctx: typer.Context) -> None:
    """Open the terminal app (the same as bare `registry`)."""
    if not _has_terminal():
        output.fail(f"usage: {NO_TERMINAL} (see `registry --help`)")
        exit_with(ExitCode.INVALID)
    exit_with(ExitCode(run_command(ctx, False, lambda: _open_tui(command_settings(ctx)))))


def _open_tui(settings: Settings) -> int:
    from registry_tui.tui.app import run_tui  # Textual loads only here

    return run_tui(settings)


# Every command, in the order `registry --help` lists them, each with a short help that fits
# the command list whole (click cuts a docstring at its first "." or at the width).
app.command("tui", short_help="Open the terminal app (as bare `registry` does).")(tui_command)
app.command("seed", short_help="The demo's story: heroes, Doppel-9's clones, profiles.")(
    seed_command
)
app.command("race", short_help="Race heroes against Doppel-9's clones, then audit.")(race_command)
app.command("serve", short_help="Serve the REST API (JSON; OpenAPI docs at /docs).")(serve_command)
app.command("adopt", short_help="Bring a coodie demo or v1 keyspace to schema v2.")(adopt_command)
app.command("check", short_help="Check a recorded history for linearizability.")(check_command)
app.add_typer(users_app, name="users")
users_app.command("register", short_help="Register a user (username and e-mail, once each).")(
    users.register
)
users_app.command("list", short_help="List registrations, one page at a time.")(users.list_users)
users_app.command("get", short_help="Show one registration (a point read).")(users.get)
users_app.command("delete", short_help="Delete a user by identity, with its profile.")(users.delete)
app.add_typer(profiles_app, name="profiles")
profiles_app.command("get", short_help="Show one profile with its version.")(profiles.get)
profiles_app.command("update", short_help="Update a profile if still at the version given.")(
    profiles.update
)


def _usage_failure(exc: click_errors.ClickException, argv: list[str]) -> str:
    """A typer/click refusal in this CLI's own words: one line, the flag as typed."""
    if (
        isinstance(exc, click_errors.BadParameter)
        and not isinstance(exc, click_errors.MissingParameter)
        and exc.param is not None
    ):
        param = exc.param
        flag = max(param.opts, key=len) if param.param_type_name == "option" else param.name
        given = _value_given(param, argv)
        shown = f", not {given!r}" if given is not None else ""
        message = exc.message.removeprefix("Value error, ").rstrip(".")
        if "valid integer" in message:
            message = f"must be a whole number{shown}"
        elif "valid number" in message:
            message = f"must be a number{shown}"
        elif message.startswith("Input should be "):  # pydantic's bounds, in our words
            bound = message.removeprefix("Input should be ")
            bound = bound.replace("greater than or equal to", "at least")
            bound = bound.replace("less than or equal to", "at most")
            message = f"must be {bound}{shown}"
        return f"invalid {flag}: {message}"
    ctx = getattr(exc, "ctx", None)  # a UsageError knows its command
    command = ctx.command_path if ctx is not None else "registry"
    message = exc.format_message().rstrip(".")
    return f"usage: {message[:1].lower()}{message[1:]} (see `{command} --help`)"


def _value_given(param: Any, argv: list[str]) -> str | None:
    """What was typed after the option (click keeps only the error)."""
    if param.param_type_name != "option":
        return None
    for index, word in enumerate(argv):
        for opt in param.opts:
            if word == opt and index + 1 < len(argv):
                return argv[index + 1]
            if word.startswith(f"{opt}="):
                return word[len(opt) + 1 :]
    return None


def _has_terminal() -> bool:
    """The full-screen app needs a terminal on stdin and stdout; without one it would wait
    on a terminal that is not there."""
    return sys.stdin.isatty() and sys.stdout.isatty()


NO_TERMINAL = "the terminal app needs a terminal (stdin and stdout); give a command"


def main() -> None:
    from registry_tui.core.logs import quiet_driver_logs

    quiet_driver_logs()
    argv = sys.argv[1:]
    try:
        code = app(prog_name="registry", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # a group named alone: its help, as `--help` shows it
        code = int(ExitCode.INVALID)
    except click_errors.ClickException as exc:
        output.fail(_usage_failure(exc, argv))
        code = int(ExitCode.INVALID)
    except typer.Abort:
        code = int(ExitCode.INTERRUPTED)
    sys.exit(code if isinstance(code, int) else int(ExitCode.OK))


if __name__ == "__main__":
    main()
