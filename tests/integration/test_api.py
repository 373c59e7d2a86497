"""The REST API as its users meet it: a live `registry serve` process on loopback, the demo
README's curl examples run verbatim, schemathesis hunting for a 5xx, and databases that are
not there."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from registry_tui.core.config import Settings
from registry_tui.core.documents import invalid_doc, unknown_doc
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import Invalid, NotFound, Unknown
from registry_tui.core.registry import Registry
from registry_tui.core.validation import (
    ValidationError,
    normalize_label,
    normalize_status,
    normalize_username,
    parse_expected_version,
    parse_page_size,
    parse_user_id,
    validate_registration,
)
from tests.conftest import REPO, unique

pytestmark = pytest.mark.db

BIN = Path(sys.executable).parent
DEMO_README = REPO.parent / "shared" / "seed" / "lwt-user-registry-README.md"
DEMO_ORIGIN = "http://127.0.0.1:8000"

# The demo README's "Example API Requests", character for character.
README_REGISTER = (
    'curl -X POST "http://127.0.0.1:8000/api/users?username=Agent-Cipher-007'
    '&email=cipher@registry.galaxy&display_name=Agent+Cipher&dimension=Dimension-6"'
)
README_LIST = 'curl "http://127.0.0.1:8000/api/users"'
README_LIST_DIMENSION = 'curl "http://127.0.0.1:8000/api/users?dimension=Dimension-6"'
README_UPDATE = (
    'curl -X PUT "http://127.0.0.1:8000/api/profiles/<user-id>'
    '?bio=Counter-clone+specialist&expected_version=1"'
)
README_DELETE = 'curl -X DELETE "http://127.0.0.1:8000/api/users/Agent-Cipher-007"'
README_EXAMPLES = [
    README_REGISTER,
    README_LIST,
    README_LIST_DIMENSION,
    README_UPDATE,
    README_DELETE,
]

# `registry serve` exactly as the lead will register it: settings from the root callback.
SERVE = """
import typer
from registry_tui.cli.serve import serve_command
from registry_tui.core.config import settings_from_env

app = typer.Typer()

@app.callback()
def root(ctx: typer.Context) -> None:
    ctx.obj = settings_from_env()

app.command("serve")(serve_command)
app(prog_name="registry")
"""


# ----------------------------------------------------------------------------------------------
# A live server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_server(env: dict[str, str], log: Path) -> Server:
    """Start `registry serve` on a free loopback port; return once it answers HTTP."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited ({process.returncode}):\n{server.output()}")
        try:
            # The schema needs no database: it answers even while the database is down.
            if httpx.get(f"{server.base}/openapi.json", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    pytest.fail(f"the server did not answer within 40 s:\n{server.output()}")


@pytest.fixture(scope="module")
def server(
    cli_env: dict[str, str], registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    # `registry` (the fixture) has created this module's keyspace and tables already.
    live = start_server(cli_env, tmp_path_factory.mktemp("api") / "server.log")
    yield live
    live.stop()
    assert "Traceback" not in live.output(), live.output()


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=30) as client:
        yield client


def curl(server: Server, example: str, **placeholders: str) -> tuple[int, Any]:
    """Run a README curl command as written, on our port, adding only `-s -w '%{http_code}'`."""
    command = example.replace(DEMO_ORIGIN, server.base)
    for name, value in placeholders.items():
        command = command.replace(f"<{name}>", value)
    argv = shlex.split(command)
    assert argv[0] == "curl"
    proc = subprocess.run(
        ["curl", "-s", "-w", "%{http_code}", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, status = proc.stdout[:-3], int(proc.stdout[-3:])
    return status, json.loads(body) if body else None


def register(http: httpx.Client, name: str, dimension: str = "Dimension-6", **given: str) -> Any:
    params = {
        "username": name,
        "email": f"{name}@registry.galaxy",
        "display_name": "Agent",
        "dimension": dimension,
    }
    return http.post("/api/users", params={**params, **given})


# ----------------------------------------------------------------------------------------------
# The demo README, verbatim


def test_readme_examples_verbatim(server: Server) -> None:
    status, doc = curl(server, README_REGISTER)
    # As the demo documents it: the name as typed (its lower-cased key is what is unique).
    assert (status, doc) == (201, {"applied": True, "username": "Agent-Cipher-007"})

    status, doc = curl(server, README_REGISTER)
    assert status == 409
    assert doc["detail"]["error"] == "username_taken"
    existing = doc["detail"]["existing"]
    assert existing["username"] == "Agent-Cipher-007"
    assert existing["email"] == "cipher@registry.galaxy"
    assert existing["display_name"] == "Agent Cipher"
    assert existing["dimension"] == "Dimension-6"
    user_id = existing["user_id"]

    status, everyone = curl(server, README_LIST)
    assert status == 200
    assert existing in everyone

    status, sixth = curl(server, README_LIST_DIMENSION)
    assert status == 200
    assert existing in sixth
    assert {user["dimension"] for user in sixth} == {"Dimension-6"}

    status, doc = curl(server, README_UPDATE, **{"user-id": user_id})
    assert (status, doc) == (200, {"applied": True, "user_id": user_id, "version": 2})

    status, doc = curl(server, README_UPDATE, **{"user-id": user_id})
    assert status == 409
    assert doc["detail"]["error"] == "version_conflict"
    assert doc["detail"]["existing"]["version"] == 2
    assert doc["detail"]["existing"]["bio"] == "Counter-clone specialist"
    assert doc["detail"]["existing"]["user_id"] == user_id

    assert curl(server, README_DELETE) == (204, None)
    assert curl(server, README_DELETE) == (404, {"detail": "User not found"})


@pytest.mark.skipif(not DEMO_README.exists(), reason=f"the demo README is not at {DEMO_README}")
def test_the_examples_are_the_readme_ones() -> None:
    commands = [
        line.strip()
        for line in DEMO_README.read_text().splitlines()
        if line.strip().startswith("curl ")
    ]
    assert commands == README_EXAMPLES


# ----------------------------------------------------------------------------------------------
# Each endpoint


def test_register_get_and_email_taken(http: httpx.Client) -> None:
    name = unique("agent")
    typed = name.upper()
    response = register(http, typed)
    assert (response.status_code, response.json()) == (201, {"applied": True, "username": typed})

    user = http.get(f"/api/users/{name}")  # any case finds it; it is shown as typed
    assert user.status_code == 200
    assert user.json()["username"] == typed
    assert user.json()["email"] == f"{typed}@registry.galaxy"

    again = register(http, name)  # another case of the same name: the same identity
    assert again.status_code == 409
    assert again.json()["detail"]["existing"]["username"] == typed

    thief = register(http, unique("thief"), email=f"{name}@REGISTRY.galaxy")
    assert thief.status_code == 409
    assert thief.json()["detail"]["error"] == "email_taken"
    assert thief.json()["detail"]["existing"]["username"] == typed
    assert thief.json()["detail"]["existing"]["email"] == f"{typed}@registry.galaxy"
    assert thief.json()["detail"]["existing"]["user_id"] == user.json()["user_id"]

    missing = http.get(f"/api/users/{unique('ghost')}")
    assert (missing.status_code, missing.json()) == (404, {"detail": "User not found"})


def test_profiles_get_update_conflict_and_missing(http: httpx.Client) -> None:
    name = unique("editor")
    register(http, name)
    uid = http.get(f"/api/users/{name}").json()["user_id"]

    profile = http.get(f"/api/profiles/{uid}")
    assert profile.status_code == 200
    assert (profile.json()["version"], profile.json()["username"]) == (1, name)

    # Without expected_version the current version is read, then written conditionally.
    updated = http.put(f"/api/profiles/{uid}", params={"status": "inactive"})
    assert (updated.status_code, updated.json()) == (
        200,
        {"applied": True, "user_id": uid, "version": 2},
    )
    stale = http.put(f"/api/profiles/{uid}", params={"bio": "late", "expected_version": "1"})
    assert stale.status_code == 409
    assert stale.json()["detail"]["existing"]["version"] == 2
    assert stale.json()["detail"]["existing"]["status"] == "inactive"

    missing = str(uuid.uuid4())
    assert http.get(f"/api/profiles/{missing}").json() == {"detail": "Profile not found"}
    gone = http.put(f"/api/profiles/{missing}", params={"bio": "x", "expected_version": "1"})
    assert (gone.status_code, gone.json()) == (404, {"detail": "Profile not found"})


def test_delete_is_204_without_a_body_then_404(http: httpx.Client) -> None:
    name = unique("leaver")
    assert register(http, name).status_code == 201
    uid = http.get(f"/api/users/{name}").json()["user_id"]
    deleted = http.delete(f"/api/users/{name}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert http.get(f"/api/profiles/{uid}").status_code == 404  # the profile went with it
    again = http.delete(f"/api/users/{name}")
    assert (again.status_code, again.json()) == (404, {"detail": "User not found"})
    assert register(http, name).status_code == 201  # name and e-mail are free again


def test_delete_with_a_user_id_deletes_only_that_identity(http: httpx.Client) -> None:
    name = unique("holder")
    assert register(http, name).status_code == 201
    uid = http.get(f"/api/users/{name}").json()["user_id"]
    other = http.delete(f"/api/users/{name}", params={"user_id": str(uuid.uuid4())})
    assert (other.status_code, other.json()) == (404, {"detail": "User not found"})
    assert http.get(f"/api/users/{name}").status_code == 200  # left alone
    bad = http.delete(f"/api/users/{name}", params={"user_id": "nope"})
    assert bad.status_code == 422 and "user_id" in bad.text
    assert http.get(f"/api/users/{name}").status_code == 200
    mine = http.delete(f"/api/users/{name}", params={"user_id": uid})
    assert mine.status_code == 204


def test_register_with_a_user_id_continues_that_attempt(http: httpx.Client) -> None:
    """What a 504 tells a client to do: send the same fields with the user_id it carried."""
    name, uid = unique("cont"), str(uuid.uuid4())
    first = register(http, name, user_id=uid)
    assert (first.status_code, first.json()) == (201, {"applied": True, "username": name})
    again = register(http, name, user_id=uid)  # as after an unknown outcome: still one row
    assert (again.status_code, again.json()) == (201, {"applied": True, "username": name})
    assert http.get(f"/api/users/{name}").json()["user_id"] == uid
    other = register(http, name, user_id=str(uuid.uuid4()))
    assert other.status_code == 409 and other.json()["detail"]["existing"]["user_id"] == uid
    bad_name = unique("bad")
    bad = register(http, bad_name, user_id="nope")
    assert bad.status_code == 422 and "user_id" in bad.text
    assert http.get(f"/api/users/{bad_name}").status_code == 404  # nothing written


NIL = "00000000-0000-4000-8000-000000000000"
A_USER = {"username": "okname", "email": "a@b.org", "display_name": "D", "dimension": "D"}
RUDE_NAME = "x'; DROP KEYSPACE registry; --"


@pytest.mark.parametrize(
    ("method", "path", "params", "core_check"),
    [
        ("POST", "/api/users", {**A_USER, "username": "x"},
         lambda: validate_registration("x", "a@b.org", "D", "D")),
        ("POST", "/api/users", {**A_USER, "email": "nope"},
         lambda: validate_registration("okname", "nope", "D", "D")),
        ("POST", "/api/users", {**A_USER, "display_name": "\x1b[31m"},
         lambda: validate_registration("okname", "a@b.org", "\x1b[31m", "D")),
        ("GET", f"/api/users/{RUDE_NAME}", {}, lambda: normalize_username(RUDE_NAME)),
        ("DELETE", "/api/users/ab", {}, lambda: normalize_username("ab")),
        ("GET", "/api/profiles/not-a-uuid", {}, lambda: parse_user_id("not-a-uuid")),
        ("PUT", f"/api/profiles/{NIL}", {"status": "zombie"}, lambda: normalize_status("zombie")),
        ("PUT", f"/api/profiles/{NIL}", {"bio": "x", "expected_version": "-1"},
         lambda: parse_expected_version("-1")),
        ("PUT", f"/api/profiles/{NIL}", {"bio": "x", "expected_version": "abc"},
         lambda: parse_expected_version("abc")),
        ("PUT", f"/api/profiles/{NIL}", {}, None),  # nothing to update: the core says so
        ("GET", "/api/users", {"limit": "0"}, lambda: parse_page_size("0")),
        ("GET", "/api/users", {"limit": "5001"}, lambda: parse_page_size("5001")),
        ("GET", "/api/users", {"limit": "lots"}, lambda: parse_page_size("lots")),
        ("GET", "/api/users", {"dimension": "\u202eevil"},
         lambda: normalize_label("dimension", "\u202eevil")),
    ],
)  # fmt: skip
def test_invalid_input_is_the_cores_422(
    http: httpx.Client,
    method: str,
    path: str,
    params: dict[str, str],
    core_check: Callable[[], object] | None,
) -> None:
    response = http.request(method, path, params=params)
    assert response.status_code == 422
    doc = response.json()
    assert doc["detail"][0]["type"] == "value_error"  # the core's shape, not FastAPI's
    if core_check is not None:
        with pytest.raises(ValidationError) as refused:
            core_check()
        # Path parameters are reported where FastAPI would put them: loc ["path", field].
        in_path = (
            frozenset({"username"})
            if path.startswith("/api/users/")
            else frozenset({"user_id"})
            if path.startswith("/api/profiles/")
            else frozenset()
        )
        expected = invalid_doc(Invalid(refused.value.field, refused.value.message), in_path)
        assert doc == expected


def test_a_missing_parameter_is_fastapis_422(http: httpx.Client) -> None:
    response = http.post("/api/users", params={"username": "okname"})
    assert response.status_code == 422
    missing = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert missing == {("query", "email"), ("query", "display_name"), ("query", "dimension")}


def test_list_pages_follow_the_link_and_match_the_cli(
    http: httpx.Client, cli_env: dict[str, str]
) -> None:
    dimension = f"Dim-{unique('page')}"
    names = {unique("lister") for _ in range(7)}
    for name in names:
        assert register(http, name, dimension).status_code == 201

    whole = http.get("/api/users", params={"dimension": dimension})
    assert "X-Next-Cursor" not in whole.headers and "Link" not in whole.headers
    assert {user["username"] for user in whole.json()} == names

    pages: list[list[dict[str, Any]]] = []
    url = f"/api/users?dimension={dimension}&limit=3"
    while True:
        page = http.get(url)
        assert page.status_code == 200
        pages.append(page.json())
        if "X-Next-Cursor" not in page.headers:
            assert "Link" not in page.headers
            break
        link = page.headers["Link"]
        assert link.endswith('>; rel="next"') and page.headers["X-Next-Cursor"] in link
        url = link[1 : link.index(">")]
    assert all(len(p) == 3 for p in pages[:-1])
    listed = [user for p in pages for user in p]
    assert listed == whole.json()  # every user once, in the same order, whatever the page size

    # The same order and documents as `registry users list` (one implementation).
    cli = subprocess.run(
        [str(BIN / "registry"), "users", "list", "--dimension", dimension, "--all", "--json"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == listed

    first = http.get("/api/users", params={"dimension": dimension, "limit": "2"})
    cursor = first.headers["X-Next-Cursor"]
    # A cursor belongs to its listing; a forged or foreign one never reaches the database.
    for params in (
        {"cursor": cursor},
        {"dimension": "Dimension-6", "cursor": cursor},
        {"dimension": dimension, "cursor": "c1.AAAAAAAAAAA"},
        {"dimension": dimension, "cursor": "c1.AAAAAAAAAAA.\u00e9\ud7ff"},
        {"dimension": dimension, "cursor": cursor[:-1] + ("0" if cursor[-1] != "0" else "1")},
    ):
        refused = http.get("/api/users", params=params)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["query", "cursor"]
    second = http.get("/api/users", params={"dimension": dimension, "cursor": cursor})
    assert first.json() + second.json() == whole.json()


def test_openapi_docs(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    # Nothing fetched from a CDN: the page is whole, and says where the schema is.
    assert "<script" not in page.text.lower() and "src=" not in page.text
    assert "/openapi.json" in page.text and "/api/profiles/{user_id}" in page.text
    assert http.get("/redoc").status_code == 404
    spec = http.get("/openapi.json").json()
    assert "security" not in spec  # no token: nothing to authorize
    assert spec["info"]["title"] == "LWT User Registry"
    assert set(spec["paths"]) == {
        "/api/users",
        "/api/users/{username}",
        "/api/profiles/{user_id}",
    }


def test_schemathesis_finds_no_server_error(server: Server, tmp_path: Path) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{server.base}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "30",
            "--request-timeout",
            "20",
            "--no-color",
            "--generation-database",
            "none",
        ],
        cwd=tmp_path,  # keeps its files out of the repository
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, report
    assert "Tested: 6" in proc.stdout, report  # every operation was exercised
    assert time.monotonic() - started < 90, report
    assert "Traceback" not in server.output()


# ----------------------------------------------------------------------------------------------
# No database


def test_no_database_answers_503_json(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(cli_env, SCYLLA_PORT="1", SCYLLA_CONNECT_TIMEOUT="2")
    down = start_server(env, tmp_path / "down.log")
    try:
        with httpx.Client(base_url=down.base, timeout=30) as client:
            for method, path, params in (
                ("GET", "/api/users", {}),
                ("GET", "/api/users", {}),  # the second one after a failed attempt
                ("POST", "/api/users", {"username": "agent", "email": "a@b.org",
                                        "display_name": "A", "dimension": "D"}),
                ("GET", "/api/users/agent", {}),
                ("DELETE", "/api/users/agent", {}),
                ("GET", f"/api/profiles/{uuid.uuid4()}", {}),
                ("PUT", f"/api/profiles/{uuid.uuid4()}", {"bio": "x"}),
            ):  # fmt: skip
                response = client.request(method, path, params=params)
                assert response.status_code == 503, (method, path, response.text)
                assert response.headers["content-type"] == "application/json"
                assert response.json()["detail"]["error"] == "database_unavailable"
                assert "127.0.0.1:1" in response.json()["detail"]["message"]
                assert "Traceback" not in response.text
    finally:
        down.stop()
    assert "Traceback" not in down.output()


class TcpProxy:
    """Forwards a loopback port to the database: the database "comes back" on that port."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", port))
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


def test_a_server_started_without_database_connects_when_it_comes_back(
    cli_env: dict[str, str], base_settings: Settings, registry: Registry, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here yet
    env = dict(cli_env, SCYLLA_PORT=str(port), SCYLLA_CONNECT_TIMEOUT="2")
    waiting = start_server(env, tmp_path / "waiting.log")
    proxy: TcpProxy | None = None
    try:
        with httpx.Client(base_url=waiting.base, timeout=30) as client:
            assert client.get("/api/users/agent-cipher-007").status_code == 503
            proxy = TcpProxy(port, (base_settings.hosts[0], base_settings.port))
            deadline = time.monotonic() + 30
            while (response := client.get("/api/users", params={"limit": "1"})).status_code == 503:
                assert time.monotonic() < deadline, response.text
                time.sleep(0.2)
            assert response.status_code == 200
            assert isinstance(response.json(), list)
    finally:
        waiting.stop()
        if proxy is not None:
            proxy.close()
    assert "Traceback" not in waiting.output()


# ----------------------------------------------------------------------------------------------
# Outcomes a healthy test database cannot produce, on the app in-process


def fake_connect_after(failures: int) -> tuple[Any, list[float]]:
    """A `connect` that fails `failures` times, then yields a connection no query reaches."""
    attempts: list[float] = []

    async def connect(settings: Settings) -> Any:
        attempts.append(time.monotonic())
        if len(attempts) <= failures:
            raise DatabaseUnavailable("no host answered", settings.describe())
        return SimpleNamespace(settings=settings, models=None, close=lambda: None)

    return connect, attempts


@contextlib.asynccontextmanager
async def in_process(connect: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, called in-process (no socket), on a fake connection."""
    from registry_tui.api.app import create_app

    app = create_app(Settings(), connect=connect)
    # Starlette re-raises a handled bug after answering (for the server's log): keep the answer.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        yield client


async def test_unknown_outcome_is_504_and_a_bug_is_json_without_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unknown = Unknown("register", "agent", "the registration kept timing out")

    async def register_unknown(self: Registry, *args: Any, **kwargs: Any) -> Unknown:
        return unknown

    async def broken(self: Registry, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("internal detail that must stay on the server")

    monkeypatch.setattr(Registry, "register", register_unknown)
    monkeypatch.setattr(Registry, "get_user", broken)
    connect, _ = fake_connect_after(0)
    async with in_process(connect) as client:
        params = {"username": "agent", "email": "a@b.org", "display_name": "A", "dimension": "D"}
        response = await client.post("/api/users", params=params)
        assert (response.status_code, response.json()) == (504, unknown_doc(unknown))

        response = await client.get("/api/users/agent")
        assert response.status_code == 500
        assert response.json()["detail"]["error"] == "internal_error"
        assert "internal detail" not in response.text and "Traceback" not in response.text


async def test_reconnect_attempts_are_spaced(monkeypatch: pytest.MonkeyPatch) -> None:
    from registry_tui.api import app as api

    async def get_user(self: Registry, username: str) -> NotFound:
        return NotFound("user", username)

    monkeypatch.setattr(Registry, "get_user", get_user)
    monkeypatch.setattr(api, "RECONNECT_INTERVAL_S", 0.3)
    connect, attempts = fake_connect_after(2)
    async with in_process(connect) as client:
        assert len(attempts) == 1  # the start-up attempt failed; the server runs anyway
        for _ in range(5):  # within the interval: 503 at once, no new attempt
            response = await client.get("/api/users/agent")
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "1"
        assert len(attempts) == 1
        await asyncio.sleep(0.35)
        assert (await client.get("/api/users/agent")).status_code == 503  # 2nd attempt fails
        await asyncio.sleep(0.35)
        response = await client.get("/api/users/agent")
        assert (response.status_code, response.json()) == (404, {"detail": "User not found"})
        assert len(attempts) == 3
        assert (await client.get("/api/users/agent")).status_code == 404
        assert len(attempts) == 3  # connected: no more attempts


def test_serve_without_the_api_extra_says_how_to_install_it(tmp_path: Path) -> None:
    # Hide fastapi and uvicorn from the child interpreter only: a None in sys.modules makes
    # their import fail as if they were not installed.
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nsys.modules['fastapi'] = None\nsys.modules['uvicorn'] = None\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    proc = subprocess.run(
        [sys.executable, "-c", SERVE, "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'registry-tui[api]'" in proc.stderr
    assert "Traceback" not in proc.stderr
