"""`registry serve`: the demo's REST API on the registry core.

FastAPI and uvicorn are an optional extra, imported only when the command runs, so the rest
of the CLI neither needs nor loads them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING

import typer

from registry_tui.cli import output
from registry_tui.cli.common import command_settings, exit_with, run_command, stop
from registry_tui.core.config import Settings
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.failures import Failure
from registry_tui.core.validation import ValidationError

if TYPE_CHECKING:
    import uvicorn

    from registry_tui.core.session import Database

API_EXTRA_HINT = "pip install 'registry-tui[api]'"
# What the `api` extra brings (with their own dependencies).
API_EXTRA_MODULES = frozenset({"fastapi", "uvicorn", "starlette"})


def _check_settings(settings: Settings) -> None:
    """Refuse bad settings before serving, with one line rather than a start-up traceback.

    The rules are the store's own (what `open_connection` would refuse at start-up).
    """
    from registry_tui.core.store import ssl_context
    from registry_tui.core.validation import validate_keyspace

    validate_keyspace(settings.keyspace)
    ssl_context(settings)


TOKEN_MIN = 16


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_door(host: str, token: str | None) -> None:
    """Beyond loopback the API needs a token; a token must be long enough to guess hard."""
    if token is not None and len(token) < TOKEN_MIN:
        raise ValidationError("token", f"must be at least {TOKEN_MIN} characters")
    if token is None and not is_loopback(host):
        raise ValidationError(
            "token",
            f"serving on {host} (beyond this machine) needs a token: --token or "
            "REGISTRY_API_TOKEN; every request must then send Authorization: Bearer <token>",
        )


def serve_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on (1-65535)."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="REGISTRY_API_TOKEN",
        show_envvar=True,
        help="Require `Authorization: Bearer TOKEN` on every request (needed beyond loopback).",
    ),
) -> None:
    """Serve the demo's REST API (JSON endpoints; OpenAPI docs at /docs)."""
    run_command(ctx, False, lambda: _serve(ctx, host, port, token or None))


def _serve(ctx: typer.Context, host: str, port: int, token: str | None) -> None:
    import asyncio

    try:
        import uvicorn

        from registry_tui.api.app import create_app
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in API_EXTRA_MODULES:
            raise  # a broken installation of something else: let it show
        needs = f"`registry serve` needs {missing}: {API_EXTRA_HINT}"
        stop(False, Failure(ExitCode.INVALID, needs))
    if not 1 <= port <= 65535:
        raise ValidationError("port", "must be between 1 and 65535")
    check_door(host, token)
    settings = command_settings(ctx)
    _check_settings(settings)

    app = create_app(settings, token=token)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",  # the lifespan opens the database connection: it must run
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    cannot_serve = Failure(ExitCode.INVALID, f"could not serve on {host}:{port} (see above)")
    try:
        asyncio.run(
            _check_then_serve(
                server, app.state.database, lambda: _announce(host, port, settings, token)
            )
        )
    except SystemExit as exc:  # uvicorn exits this way when it cannot listen
        output.fail(cannot_serve.message)
        exit_with(ExitCode.INVALID if exc.code else ExitCode.OK)
    except KeyboardInterrupt:  # how a server is stopped: not a failure, nothing to say
        exit_with(ExitCode.INTERRUPTED)
    if not server.started:
        stop(False, cannot_serve)


async def _check_then_serve(
    server: uvicorn.Server, database: Database, announce: Callable[[], None]
) -> None:
    """Connect before listening, on the loop that then serves: a setting only the cluster can
    refuse (a local DC it does not have) stops the command with one line (exit 2) instead of
    a start-up traceback. A database that does not answer yet is not a reason to refuse: the
    API then answers 503 until it does."""
    from registry_tui.core.errors import DatabaseUnavailable

    with suppress(DatabaseUnavailable):  # the lifespan says so in the log, once
        await database.connect()
    announce()
    await server.serve()


def _announce(host: str, port: int, settings: Settings, token: str | None) -> None:
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
    output.diagnose(
        f"serving the registry API on http://{shown}:{port} (docs: /docs), "
        f"database {settings.describe()}"
        + ("; every request needs the bearer token" if token else ""),
        style="dim",
    )
