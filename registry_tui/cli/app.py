"""`registry`: every registry operation headless, with the demo's JSON documents.

Every command is registered here; their bodies live beside this module (users, profiles, seed,
race, serve) and share `common`. Imports stay light (typer, rich, our pure modules): the driver
and coodie load only when a command talks to the database, and Textual only inside the `tui`
command, so `registry --help` is quick.
"""

from __future__ import annotations

import typer

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
    exit_with(ExitCode(run_command(ctx, False, lambda: _open_tui(command_settings(ctx)))))


def _open_tui(settings: Settings) -> int:
    from registry_tui.tui.app import run_tui  # Textual loads only here

    return run_tui(settings)


# Every command, in the order `registry --help` lists them.
app.command("tui")(tui_command)
app.command("seed")(seed_command)
app.command("race")(race_command)
app.command("serve")(serve_command)
app.command("adopt")(adopt_command)
app.command("check")(check_command)
app.add_typer(users_app, name="users")
users_app.command("register")(users.register)
users_app.command("list")(users.list_users)
users_app.command("get")(users.get)
users_app.command("delete")(users.delete)
app.add_typer(profiles_app, name="profiles")
profiles_app.command("get")(profiles.get)
profiles_app.command("update")(profiles.update)


def main() -> None:
    from registry_tui.core.logs import quiet_driver_logs

    quiet_driver_logs()
    app(prog_name="registry")


if __name__ == "__main__":
    main()
