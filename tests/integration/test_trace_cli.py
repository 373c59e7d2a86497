"""`registry users register --trace` on the dev node: each statement's Paxos rounds, read back
from system_traces, in text and in JSON beside the demo's own fields."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import unique

pytestmark = pytest.mark.db

REGISTRY = [str(Path(sys.executable).parent / "registry")]


@pytest.fixture(scope="module")
def env(cli_env: dict[str, str], registry: object) -> dict[str, str]:
    return cli_env


def register(
    env: dict[str, str], name: str, email: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REGISTRY, "users", "register", name, "--email", email, "--display-name", "Agent Trace",
         "--dimension", "Dimension-6", "--trace", *flags],
        env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip


def test_a_traced_registration_shows_its_rounds_and_a_loser_its_one_round(
    env: dict[str, str],
) -> None:
    name = unique("tracer")
    won = register(env, name, f"{name}@registry.galaxy", "--json")
    assert won.returncode == 0, won.stderr
    doc = json.loads(won.stdout)
    # The demo's fields stay as they are; the trace is beside them.
    assert {k: v for k, v in doc.items() if k != "trace"} == {"applied": True, "username": name}
    statements = {s["statement"]: s for s in doc["trace"]}
    claim = statements["INSERT email_claims IF NOT EXISTS"]
    insert = statements["INSERT user_registrations IF NOT EXISTS"]
    for lwt in (claim, insert):
        assert lwt["result"] == "applied" and lwt["variant"] == "v2"
        assert [r["round"] for r in lwt["rounds"]] == ["prepare+read", "propose", "commit"]
        assert lwt["round_trips"] == 3
    assert statements["INSERT user_profiles"]["rounds"] == []  # the plain write

    lost = register(env, name, f"other-{name}@registry.galaxy")
    assert lost.returncode == 1
    text = lost.stdout
    assert "INSERT user_registrations IF NOT EXISTS: rejected, 1 round trip(s)" in text
    assert "prepare+read" in text
