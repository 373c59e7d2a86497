"""`registry serve` locks its door beyond loopback: a bearer token on every request, compared
in constant time, never shown; no token beyond loopback, or a short one, refuses to start."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from registry_tui.core.config import Settings
from registry_tui.core.store import Connection
from tests.conftest import unique

pytestmark = pytest.mark.db

TOKEN = "s3cret-token-of-the-registry-0123"
REGISTRY = str(Path(sys.executable).parent / "registry")


@pytest.fixture
async def api(
    base_settings: Settings, keyspace_name: str, connection: Connection
) -> AsyncIterator[httpx.AsyncClient]:
    """The API over this module's keyspace (`connection` drops it when the module ends)."""
    from registry_tui.api.app import create_app

    app = create_app(base_settings.with_overrides(keyspace=keyspace_name), token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        yield client


def register_params(name: str) -> dict[str, str]:
    return {
        "username": name,
        "email": f"{name}@registry.galaxy",
        "display_name": "Agent",
        "dimension": "Dimension-6",
    }


async def test_every_request_needs_the_token(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    name = unique("door")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        refused = await api.post("/api/users", params=register_params(name), headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["detail"]["error"] == "unauthorized"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in refused.text
    for path in (f"/api/users/{name}", "/api/users", "/docs/../api/users"):
        assert (await api.get(path)).status_code == 401
    assert (await api.post("/openapi.json")).status_code == 401  # only reading it is open
    # Nothing was written by the refused requests.
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert (await api.get(f"/api/users/{name}", headers=good)).status_code == 404
    made = await api.post("/api/users", params=register_params(name), headers=good)
    assert made.status_code == 201, made.text
    assert (await api.get(f"/api/users/{name}", headers=good)).status_code == 200
    docs = await api.get("/openapi.json", headers=good)
    assert docs.status_code == 200 and TOKEN not in docs.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["--host", "0.0.0.0"], {}, "needs a token"),
        (["--host", "192.0.2.1"], {}, "needs a token"),
        (["--token", "short"], {}, "at least 16"),
        (["--host", "0.0.0.0"], {"REGISTRY_API_TOKEN": "short"}, "at least 16"),
    ],
)
def test_serve_refuses_an_open_door_beyond_loopback(
    cli_env: dict[str, str], args: list[str], env: dict[str, str], words: str
) -> None:
    proc = subprocess.run(
        [REGISTRY, "serve", "--port", "1", *args],
        env={**cli_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert "short" not in proc.stderr.replace("--token", "")  # the token is never echoed


async def test_the_docs_work_with_a_token_and_load_nothing_from_elsewhere(
    api: httpx.AsyncClient,
) -> None:
    # A browser cannot send the token for a page: the docs and the schema are open (neither
    # holds data), and the schema declares the bearer scheme, so OpenAPI tools can authorize.
    page = await api.get("/docs")
    assert page.status_code == 200, page.text
    assert "<script" not in page.text.lower()
    assert "cdn" not in page.text.lower() and "src=" not in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "/openapi.json" in page.text and "Authorization: Bearer" in page.text
    assert "/api/users/{username}" in page.text and TOKEN not in page.text
    spec = (await api.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert spec["security"] == [{"bearer": []}]
    assert (await api.get("/redoc")).status_code == 401  # no CDN page behind the door either
