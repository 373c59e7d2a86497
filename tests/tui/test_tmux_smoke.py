"""One run in a real terminal (tmux): real key encoding and escape sequences, which Pilot does
not exercise. Start the app, see the users, open a profile, quit with ctrl+q, exit code 0."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry_tui.core.config import Settings
from registry_tui.core.outcomes import UserRecord
from registry_tui.core.registry import Registry
from tests.tui.seeding import register_user

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed (apt-get install tmux): the real-terminal smoke test needs it",
    ),
]

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 100, 30


class Terminal:
    """A tmux server of our own (its own socket, no user config), one session in it."""

    def __init__(self, name: str) -> None:
        self.socket = name
        self.session = name

    def tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
            env=env,
        ).stdout

    def keys(self, *keys: str) -> None:
        for key in keys:  # one by one, as a person types
            self.tmux("send-keys", "-t", self.session, key)
            time.sleep(0.05)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{shown}")
            time.sleep(0.1)


@pytest.fixture
def terminal(tmp_path: Path, tui_settings: Settings) -> Iterator[tuple[Terminal, Path]]:
    term = Terminal(f"registry-smoke-{uuid.uuid4().hex[:8]}")
    exit_file = tmp_path / "exit-code"
    env = {
        **os.environ,
        "SCYLLA_HOSTS": ",".join(tui_settings.hosts),
        "SCYLLA_PORT": str(tui_settings.port),
        "SCYLLA_KEYSPACE": tui_settings.keyspace,
        "TERM": "xterm-256color",
    }
    env.pop("NO_COLOR", None)
    # The shell stays a while after the app exits, so its last screen can still be read.
    command = f"{sys.executable} -m registry_tui.tui; echo $? > {exit_file}; sleep 30"
    term.tmux(
        "new-session", "-d", "-s", term.session, "-x", str(WIDTH), "-y", str(HEIGHT),
        "-c", str(REPO), command,
        env=env,
    )  # fmt: skip
    try:
        yield term, exit_file
    finally:
        subprocess.run(["tmux", "-L", term.socket, "kill-server"], capture_output=True, timeout=10)


async def test_start_see_users_open_a_profile_quit(
    terminal: tuple[Terminal, Path], registry: Registry
) -> None:
    user: UserRecord = await register_user(registry, display_name="Smoke Tester")
    term, exit_file = terminal

    shown = term.wait_for(user.username)
    assert "IDENTITY REGISTRY" in shown and "loaded" in shown

    term.keys("/")  # find; enter on the name typed: one point read, then its profile
    term.wait_for("Find a name")
    term.keys(user.username, "Enter")
    shown = term.wait_for("Loaded version 1")
    assert "Smoke Tester" in shown and user.email in shown

    term.keys("Escape")
    term.wait_for("that is everyone")
    term.keys("C-q")
    deadline = time.monotonic() + 15
    while not exit_file.exists() or not exit_file.read_text().strip():
        assert time.monotonic() < deadline, f"the app did not quit:\n{term.screen()}"
        time.sleep(0.1)
    assert exit_file.read_text().strip() == "0"
    assert "Traceback" not in term.screen()
