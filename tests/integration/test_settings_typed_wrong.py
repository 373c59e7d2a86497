"""Settings typed wrong, in every front end: one line, exit 2 (invalid) or 3 (unreachable), no
traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry_tui.core.store import Connection
from tests.conftest import unique

pytestmark = pytest.mark.db

REGISTRY = str(Path(sys.executable).parent / "registry")

# (id, environment, extra root flags, exit code, words the one line must hold)
CASES = [
    ("host-out-of-range", {"SCYLLA_HOSTS": "256.1.1.1"}, [], 2, "neither an IP address"),
    ("host-bracket", {}, ["--hosts", "[::1"], 2, "neither an IP address"),
    ("host-with-junk", {"SCYLLA_HOSTS": "db:9042:x"}, [], 2, "neither an IP address"),
    ("host-unresolvable", {"SCYLLA_HOSTS": "nonexistent.invalid"}, [], 3, "cannot resolve host"),
    ("local-dc-unknown", {"SCYLLA_LOCAL_DC": "nope"}, [], 2, "its data centres: datacenter1"),
    ("replication-unknown-dc", {"SCYLLA_REPLICATION": "dc9:3"}, [], 2, "names dc9"),
    ("replication-bad-factor", {"SCYLLA_REPLICATION": "datacenter1:0"}, [], 2, "1-9"),
    ("replication-malformed", {"SCYLLA_REPLICATION": "datacenter1"}, [], 2, "DC:FACTOR"),
    ("serial-unknown", {"SCYLLA_SERIAL": "sometimes"}, [], 2, "global"),
    ("serial-flag-unknown", {}, ["--serial", "strict"], 2, "global"),
]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REGISTRY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    everything = proc.stdout + proc.stderr
    assert "Traceback" not in everything and 'File "' not in everything, everything
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) >= 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("case", "env", "flags", "code", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_the_cli_answers_a_wrong_setting_in_one_line(
    cli_env: dict[str, str],
    connection: Connection,
    case: str,
    env: dict[str, str],
    flags: list[str],
    code: int,
    words: str,
) -> None:
    keyspace = f"t_wrong_{unique('k').replace('-', '_')}"[:40]
    name = unique("wrong")
    environment = {**cli_env, "SCYLLA_KEYSPACE": keyspace, **env}
    proc = run(
        environment,
        *flags,
        "users",
        "register",
        name,
        "--email",
        f"{name}@registry.galaxy",
        "--display-name",
        "Wrong",
        "--dimension",
        "Dimension-6",
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert words in one_line(proc), proc.stderr
    # Nothing written: not even the keyspace.
    assert keyspace not in connection.cluster.metadata.keyspaces
    connection.cluster.refresh_schema_metadata()
    assert keyspace not in connection.cluster.metadata.keyspaces


@pytest.mark.parametrize(
    ("env", "flags"),
    [
        ({"SCYLLA_HOSTS": "256.1.1.1"}, []),
        ({"SCYLLA_SERIAL": "sometimes"}, []),
        ({}, ["--hosts", "[::1"]),
    ],
)
def test_serve_and_the_terminal_app_refuse_a_wrong_setting_at_start(
    cli_env: dict[str, str], env: dict[str, str], flags: list[str]
) -> None:
    environment = {**cli_env, **env}
    served = run(environment, *flags, "serve", "--port", "1")
    assert served.returncode == 2 and "error: invalid" in one_line(served), served.stderr
    if not flags:  # the terminal app's own entry point reads the environment only
        tui = subprocess.run(
            [sys.executable, "-m", "registry_tui.tui"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert tui.returncode == 2, tui.stdout + tui.stderr
        assert "error: invalid" in one_line(tui)


def test_serve_refuses_a_local_dc_the_cluster_does_not_have(cli_env: dict[str, str]) -> None:
    # Only the cluster can say this one is wrong: `serve` connects before it listens and stops
    # with one line, rather than serving 503 for ever (or printing a start-up traceback).
    served = run({**cli_env, "SCYLLA_LOCAL_DC": "nope"}, "serve", "--port", "1")
    assert served.returncode == 2, served.stdout + served.stderr
    assert "its data centres: datacenter1" in one_line(served), served.stderr
    assert "serving" not in served.stderr


def test_a_wrong_setting_in_json_mode_is_still_one_document(cli_env: dict[str, str]) -> None:
    proc = run({**cli_env, "SCYLLA_LOCAL_DC": "nope"}, "users", "list", "--json")
    assert proc.returncode == 2
    assert proc.stdout.count("\n") <= 1 and "local_dc" in proc.stdout + proc.stderr
    assert os.linesep not in one_line(proc)


@pytest.mark.parametrize(
    ("text", "profile", "words"),
    [
        ('[profiles.a]\nkeyspace = "k"\nport = "abc"\n', "a", "line 3: port: must be a whole"),
        ("[profiles.a]\nhosts = 5\n", "a", "line 2: hosts: '5' is neither an IP address"),
        (None, "a", "config.toml is not found"),
    ],
)
def test_a_profile_mistake_names_the_file_the_line_and_the_key(
    cli_env: dict[str, str], tmp_path: Path, text: str | None, profile: str, words: str
) -> None:
    config = tmp_path / "config.toml"
    if text is not None:
        config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in cli_env.items() if not k.startswith("SCYLLA_")}
    proc = run({**env, "REGISTRY_CONFIG": str(config)}, "--profile", profile, "users", "list")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = one_line(proc)
    assert str(config) in line and words in line, line
    assert "invalid SCYLLA_" not in line  # a variable nobody set


def test_the_cli_says_which_of_the_profiles_settings_the_environment_overrides(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.a]\nport = 9042\nkeyspace = "k_a"\n', encoding="utf-8")
    env = {k: v for k, v in cli_env.items() if not k.startswith("SCYLLA_")}
    # An invalid name: refused before any connection, after the settings are read.
    proc = run(
        {**env, "REGISTRY_CONFIG": str(config), "SCYLLA_PORT": "1"},
        "--profile",
        "a",
        "users",
        "get",
        "x",
    )
    assert "the environment overrides profile a's port (SCYLLA_PORT=1)" in proc.stderr
    quiet = run({**env, "REGISTRY_CONFIG": str(config)}, "--profile", "a", "users", "get", "x")
    assert "overrides" not in quiet.stderr


USAGE_CASES = [
    (["seed", "--count", "abc"], "error: invalid --count: must be a whole number, not 'abc'"),
    (["--port=abc", "users", "list"], "error: invalid --port: must be a whole number, not 'abc'"),
    (["race", "--seconds", "soon"], "error: invalid --seconds: must be a number, not 'soon'"),
    (
        ["check", "h.jsonl", "--excerpts", "-1"],
        "error: invalid --excerpts: must be at least 0, not '-1'",
    ),
    (["race", "--mode", "xyz"], "error: invalid --mode: 'xyz' is not one of 'land-grab'"),
    (["users", "register"], "error: usage: missing argument 'username' (see `registry users"),
    (["nope"], "error: usage: no such command 'nope' (see `registry --help`)"),
    (
        ["profiles", "update", "123e4567-e89b-12d3-a456-426614174000"],
        "error: invalid update: nothing to change: give --bio TEXT, --status STATUS, or both",
    ),
]


@pytest.mark.parametrize(("args", "line"), USAGE_CASES, ids=[" ".join(c[0]) for c in USAGE_CASES])
def test_usage_mistakes_are_one_line_in_the_clis_own_words(
    cli_env: dict[str, str], args: list[str], line: str
) -> None:
    proc = run(cli_env, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [one_line(proc)], proc.stderr
    assert one_line(proc).startswith(line), proc.stderr
    for theirs in ("Error: ", "Input should be", "Value error", "Try 'registry"):
        assert theirs not in proc.stderr


def test_help_lists_commands_whole_and_names_what_an_option_takes(
    cli_env: dict[str, str],
) -> None:
    for args in (["--help"], ["users", "--help"], ["profiles", "--help"]):
        listed = run(cli_env, *args).stdout.split("Commands:")[1]
        assert "..." not in listed, listed
    update = run(cli_env, "profiles", "update", "--help").stdout
    assert "--expected-version N " in update and "<str>" not in update.split("Options:")[1]


def test_bare_registry_without_a_terminal_prints_the_help_and_exits_2(
    cli_env: dict[str, str],
) -> None:
    # stdin and stdout are not terminals here: the full-screen app must not start and wait.
    for args, words in (([], "Commands:"), (["tui"], "registry --help")):
        proc = subprocess.run(
            [REGISTRY, *args],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert words in proc.stderr
        assert "the terminal app needs a terminal" in proc.stderr.strip().splitlines()[-1]
        assert "\x1b[?1049h" not in proc.stdout  # no full-screen switch
