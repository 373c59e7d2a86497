"""The `registry` CLI as a user runs it: a real process, real exit codes, the demo's JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import unique

pytestmark = pytest.mark.db

REGISTRY = [str(Path(sys.executable).parent / "registry")]


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REGISTRY, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def run_json(env: dict[str, str], *args: str) -> tuple[int, object]:
    proc = run(env, *args, "--json")
    assert proc.stdout.count("\n") == 1, f"expected one JSON document, got {proc.stdout!r}"
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def env(cli_env: dict[str, str], registry: object) -> dict[str, str]:
    # `registry` (the fixture) has created this module's keyspace and tables already.
    return cli_env


def register(env: dict[str, str], name: str, email: str | None = None) -> tuple[int, object]:
    return run_json(
        env,
        "users",
        "register",
        name,
        "--email",
        email or f"{name}@registry.galaxy",
        "--display-name",
        "Agent Cipher",
        "--dimension",
        "Dimension-6",
    )


def test_register_then_taken_shows_existing_registration(env: dict[str, str]) -> None:
    name = unique("agent")
    code, doc = register(env, name)
    assert (code, doc) == (0, {"applied": True, "username": name})

    code, doc = register(env, name.upper(), f"other-{name}@registry.galaxy")
    assert code == 1
    assert doc["detail"]["error"] == "username_taken"
    existing = doc["detail"]["existing"]
    assert existing["username"] == name
    assert existing["email"] == f"{name}@registry.galaxy"
    assert set(existing) == {
        "username",
        "email",
        "display_name",
        "dimension",
        "registered_at",
        "user_id",
    }


def test_email_taken_names_the_owner(env: dict[str, str]) -> None:
    owner, thief = unique("owner"), unique("thief")
    register(env, owner, f"{owner}@registry.galaxy")
    code, doc = register(env, thief, f"{owner.upper()}@REGISTRY.galaxy")
    assert code == 1
    assert doc["detail"]["error"] == "email_taken"
    assert doc["detail"]["existing"]["username"] == owner
    code, doc = run_json(env, "users", "get", thief)
    assert (code, doc) == (1, {"detail": "User not found"})


def test_get_list_and_filter(env: dict[str, str]) -> None:
    dimension = f"Dim-{unique('x')}"
    names = sorted(unique("lister") for _ in range(3))
    for name in names:
        code, _ = run_json(
            env,
            "users",
            "register",
            name,
            "--email",
            f"{name}@x.org",
            "--display-name",
            "L",
            "--dimension",
            dimension,
        )
        assert code == 0
    code, doc = run_json(env, "users", "get", names[0])
    assert code == 0 and doc["username"] == names[0] and doc["dimension"] == dimension

    code, doc = run_json(env, "users", "list", "--dimension", dimension)
    assert code == 0
    assert sorted(d["username"] for d in doc) == names

    proc = run(env, "users", "list", "--dimension", dimension, "--limit", "2", "--json")
    assert proc.returncode == 0
    assert len(json.loads(proc.stdout)) == 2
    assert proc.stderr.startswith("2 users shown; more remain") and "--cursor" in proc.stderr
    cursor = proc.stderr.split("--cursor ")[1].split()[0]
    proc = run(env, "users", "list", "--dimension", dimension, "--cursor", cursor)
    assert proc.returncode == 0 and proc.stderr.strip() == "1 user", proc.stderr
    code, rest = run_json(env, "users", "list", "--dimension", dimension, "--cursor", cursor)
    assert code == 0
    assert len(rest) == 1

    proc = run(env, "users", "list", "--dimension", dimension, "--limit", "1", "--all", "--json")
    assert proc.returncode == 0
    assert sorted(d["username"] for d in json.loads(proc.stdout)) == names


def test_profile_update_and_version_conflict(env: dict[str, str]) -> None:
    name = unique("editor")
    register(env, name)
    _, user = run_json(env, "users", "get", name)
    uid = user["user_id"]
    code, profile = run_json(env, "profiles", "get", uid)
    assert code == 0 and profile["version"] == 1 and profile["username"] == name

    code, doc = run_json(
        env,
        "profiles",
        "update",
        uid,
        "--bio",
        "Counter-clone specialist",
        "--expected-version",
        "1",
    )
    assert (code, doc) == (0, {"applied": True, "user_id": uid, "version": 2})

    code, doc = run_json(
        env, "profiles", "update", uid, "--bio", "stale", "--expected-version", "1"
    )
    assert code == 1
    assert doc["detail"]["error"] == "version_conflict"
    assert doc["detail"]["existing"]["version"] == 2
    assert doc["detail"]["existing"]["bio"] == "Counter-clone specialist"

    code, doc = run_json(env, "profiles", "update", uid, "--status", "inactive")
    assert (code, doc) == (0, {"applied": True, "user_id": uid, "version": 3})


def test_missing_rows(env: dict[str, str]) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert run_json(env, "profiles", "get", missing) == (1, {"detail": "Profile not found"})
    code, doc = run_json(
        env, "profiles", "update", missing, "--bio", "x", "--expected-version", "1"
    )
    assert (code, doc) == (1, {"detail": "Profile not found"})
    assert run_json(env, "users", "delete", unique("ghost"), "--yes") == (
        1,
        {"detail": "User not found"},
    )


def test_delete_frees_name_and_email(env: dict[str, str]) -> None:
    name = unique("leaver")
    register(env, name)
    assert run_json(env, "users", "delete", name, "--yes") == (
        0,
        {"applied": True, "username": name},
    )
    assert run_json(env, "users", "get", name) == (1, {"detail": "User not found"})
    code, doc = register(env, name)
    assert (code, doc) == (0, {"applied": True, "username": name})


def test_delete_with_a_user_id_deletes_only_that_identity(env: dict[str, str]) -> None:
    name = unique("holder")
    register(env, name)
    code, user = run_json(env, "users", "get", name)
    assert code == 0 and isinstance(user, dict)
    other = "00000000-0000-4000-8000-000000000000"
    assert run_json(env, "users", "delete", name, "--user-id", other, "--yes") == (
        1,
        {"detail": "User not found"},
    )
    assert run_json(env, "users", "get", name)[0] == 0  # left alone
    assert run_json(env, "users", "delete", name, "--user-id", user["user_id"], "--yes") == (
        0,
        {"applied": True, "username": name},
    )


@pytest.mark.parametrize(
    "args",
    [
        ["users", "register", "x", "--email", "a@b.org", "--display-name", "D", "--dimension", "D"],
        ["users", "register", "okname", "--email", "nope", "--display-name", "D", "--dimension", "D"],
        ["users", "register", "okname", "--email", "a@b.org", "--display-name", "\x1b[31m", "--dimension", "D"],
        ["users", "get", "x'; DROP KEYSPACE registry; --"],
        ["users", "delete", "okname", "--user-id", "not-a-uuid"],
        ["profiles", "get", "not-a-uuid"],
        ["profiles", "update", "00000000-0000-4000-8000-000000000000", "--status", "zombie"],
        ["profiles", "update", "00000000-0000-4000-8000-000000000000", "--bio", "x", "--expected-version", "-1"],
        ["profiles", "update", "00000000-0000-4000-8000-000000000000", "--bio", "x", "--expected-version", "99999999999"],
        ["profiles", "update", "00000000-0000-4000-8000-000000000000"],
        ["users", "list", "--limit", "0"],
        ["users", "list", "--cursor", "garbage"],
    ],
)  # fmt: skip
def test_invalid_input_exits_2_with_a_422_document(env: dict[str, str], args: list[str]) -> None:
    before = run(env, "users", "list", "--all", "--json").stdout
    proc = run(env, *args, "--json")
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["detail"][0]["type"] == "value_error"
    assert proc.stderr.startswith("error: invalid ")
    assert "Traceback" not in proc.stderr
    assert run(env, "users", "list", "--all", "--json").stdout == before


def test_database_unreachable_exits_3_quickly_without_traceback(env: dict[str, str]) -> None:
    down = dict(env, SCYLLA_HOSTS="127.0.0.1", SCYLLA_PORT="1")
    started = time.monotonic()
    proc = run(down, "users", "get", "agent-cipher-007")
    elapsed = time.monotonic() - started
    assert proc.returncode == 3
    assert "cannot connect to 127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert elapsed < 10
    proc = run(down, "users", "get", "agent-cipher-007", "--json")
    assert json.loads(proc.stdout)["detail"]["error"] == "database_unavailable"


def test_password_never_printed(env: dict[str, str]) -> None:
    secret = "s3cret-" + unique("pw")
    down = dict(env, SCYLLA_PORT="1", SCYLLA_USERNAME="cassandra", SCYLLA_PASSWORD=secret)
    proc = run(down, "users", "get", "agent-cipher-007")
    assert proc.returncode == 3
    assert secret not in proc.stdout + proc.stderr


def test_seed_json_counts_real_outcomes(env: dict[str, str]) -> None:
    keyspace = env["SCYLLA_KEYSPACE"]
    seeded = dict(env, SCYLLA_KEYSPACE=f"{keyspace}_seed"[:48])
    try:
        code, first = run_json(seeded, "seed", "--count", "12", "--random-seed", "7")
        assert code == 0
        # The demo's story: names drawn from its pools may collide on a first run too.
        assert first["registered"] + first["collisions"] == 12
        assert first["profiles"] == first["registered"] >= 10
        assert first["clones_attempted"] == 3 == first["clones_blocked"]
        assert first["clones_slipped"] == 0 and first["dimensions"] >= 5
        # The same random seed draws the same heroes: every one of them collides now.
        code, again = run_json(seeded, "seed", "--count", "12", "--random-seed", "7")
        assert code == 0
        assert again["registered"] == 0 and again["collisions"] == 12
        assert again["clones_blocked"] == again["clones_attempted"] == 3
    finally:
        subprocess.run(
            [sys.executable, "-c", _DROP.format(ks=seeded["SCYLLA_KEYSPACE"])],
            env=seeded,
            check=False,
            timeout=120,
        )


_DROP = """
from cassandra.cluster import Cluster
c = Cluster(['127.0.0.1']); s = c.connect(); s.execute('DROP KEYSPACE IF EXISTS {ks}', timeout=60)
c.shutdown()
"""


def test_help_loads_neither_textual_nor_the_driver() -> None:
    # Import contracts cannot see that the `tui` command imports Textual inside its body; this
    # run can: `registry --help` must stay quick.
    code = (
        "import sys\n"
        "from registry_tui.cli.app import app\n"
        "try:\n    app(['--help'], prog_name='registry')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('textual', 'cassandra', 'coodie', 'fastapi', 'uvicorn', "
        "'registry_tui.proof', 'registry_tui.race', 'asyncio') "
        "if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage: registry" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_shell_completion_completes_commands_and_options() -> None:
    def complete(*words: str) -> list[str]:
        env = dict(
            os.environ,
            _REGISTRY_COMPLETE="complete_bash",
            COMP_WORDS=" ".join(["registry", *words]),
            COMP_CWORD=str(len(words)),
        )
        proc = run(env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("us") == ["users"]
    assert complete("users", "l") == ["list"]
    assert "--token" in complete("serve", "--")
    assert "--across-dcs" in complete("race", "--a")


def test_completion_script_names_the_program() -> None:
    # Typer detects the user's shell from the parent processes; a test run with no shell
    # above it (a detached job) detects none. The shell is named instead.
    env = dict(os.environ, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    proc = run(env, "--show-completion", "bash")
    assert proc.returncode == 0, proc.stderr
    assert "_REGISTRY_COMPLETE=complete_bash" in proc.stdout


def test_bad_input_is_refused_before_connecting() -> None:
    # Nothing listens on port 1: a command that connected first would exit 3, not 2.
    down = dict(os.environ, SCYLLA_PORT="1")
    uid = "00000000-0000-4000-8000-000000000000"
    for args, line in [
        (["profiles", "update", uid], "error: invalid update: nothing to change: give --bio TEXT, --status STATUS, or both"),
        (["users", "list", "--limit", "0"], "error: invalid --limit: must be between 1 and 5000"),
        (["users", "register", "okname", "--email", "nope", "--display-name", "D", "--dimension", "D"],
         "error: invalid --email: 'nope' is not a valid address like name@example.org"),
        (["seed", "--count", "0"], "error: invalid --count: must be between 1 and 100000"),
    ]:  # fmt: skip
        proc = run(down, *args)
        assert (proc.returncode, proc.stderr) == (2, line + "\n"), args


def test_the_terminal_app_words_a_bad_setting_as_the_cli_does() -> None:
    bad = dict(os.environ, SCYLLA_PORT="x")
    cli = run(bad, "tui")
    app = subprocess.run(
        [sys.executable, "-m", "registry_tui.tui"], env=bad, capture_output=True, text=True
    )
    expected = "error: invalid SCYLLA_PORT: must be a whole number, not 'x'\n"
    assert (cli.returncode, cli.stderr) == (app.returncode, app.stderr) == (2, expected)


def test_register_with_a_user_id_continues_that_attempt_and_never_makes_a_second_identity(
    env: dict[str, str],
) -> None:
    """What exit 4 tells a person to do: run again with the user_id it printed."""
    name, uid = unique("cont"), "3f0c9a52-0000-4000-8000-00000000c0de"
    args = ("users", "register", name, "--email", f"{name}@registry.galaxy",
            "--display-name", "Cont", "--dimension", "d-cont", "--user-id", uid)  # fmt: skip
    assert run_json(env, *args) == (0, {"applied": True, "username": name})
    # Again, as after an unknown outcome: the same identity, its claim its own, still one row.
    assert run_json(env, *args) == (0, {"applied": True, "username": name})
    code, doc = run_json(env, "users", "get", name)
    assert code == 0 and doc["user_id"] == uid
    # Another identity with the same name and address is refused as before.
    other = [*args[:-1], "3f0c9a52-0000-4000-8000-00000000beef"]
    code, doc = run_json(env, *other)
    assert code == 1 and doc["detail"]["existing"]["user_id"] == uid


def run_on_terminal(env: dict[str, str], answer: str, *args: str) -> tuple[int, str, str]:
    """Run with stdin and stderr on a pseudo-terminal (stdout a pipe), typing `answer`."""
    import pty

    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [*REGISTRY, *args],
            env=env,
            stdin=secondary,
            stderr=secondary,
            stdout=subprocess.PIPE,
            text=True,
        )
        os.close(secondary)
        seen = b""
        while b"[y/N]" not in seen:  # the question, then the answer
            chunk = os.read(primary, 4096)
            assert chunk, seen
            seen += chunk
        os.write(primary, answer.encode() + b"\r")
        out, _ = proc.communicate(timeout=60)
        try:
            while chunk := os.read(primary, 4096):
                seen += chunk
        except OSError:
            pass  # the terminal closed with the process
        return proc.returncode, out, seen.decode(errors="replace")
    finally:
        os.close(primary)


def test_delete_asks_on_a_terminal_and_deletes_only_on_yes(env: dict[str, str]) -> None:
    name = unique("asked")
    register(env, name)
    code, out, terminal = run_on_terminal(env, "n", "users", "delete", name)
    assert code == 1 and "Agent Cipher" in terminal and "nothing deleted" in terminal
    assert run_json(env, "users", "get", name)[0] == 0  # still there
    code, out, terminal = run_on_terminal(env, "y", "users", "delete", name)
    assert code == 0 and f"deleted {name}" in out
    assert run_json(env, "users", "get", name)[0] == 1


def test_delete_without_a_terminal_needs_yes_and_deletes_nothing(env: dict[str, str]) -> None:
    name = unique("scripted")
    register(env, name)
    proc = run(env, "users", "delete", name)
    assert proc.returncode == 2 and "--yes" in proc.stderr
    assert run_json(env, "users", "get", name)[0] == 0
    assert run_json(env, "users", "delete", name, "--yes")[0] == 0


def test_delete_of_another_identity_says_the_identity_differs(env: dict[str, str]) -> None:
    name = unique("holder")
    register(env, name)
    _, user = run_json(env, "users", "get", name)
    assert isinstance(user, dict)
    other = "00000000-0000-4000-8000-000000000000"
    proc = run(env, "users", "delete", name, "--user-id", other, "--yes")
    assert proc.returncode == 1
    assert "not found" not in proc.stdout + proc.stderr
    assert f"held by identity {user['user_id']}, not {other}" in proc.stderr
    assert run_json(env, "users", "get", name)[0] == 0  # left alone


def test_list_sort_sorts_what_was_read_and_says_so(env: dict[str, str]) -> None:
    dimension = unique("Sorted")
    names = [unique(prefix) for prefix in ("cc", "aa", "bb")]
    for name in names:
        run_json(
            env, "users", "register", name, "--email", f"{name}@x.galaxy",
            "--display-name", "S", "--dimension", dimension,
        )  # fmt: skip
    code, rows = run_json(env, "users", "list", "--dimension", dimension, "--sort", "username")
    assert code == 0 and [r["username"] for r in rows] == sorted(names)  # type: ignore[union-attr]
    proc = run(env, "users", "list", "--dimension", dimension, "--sort", "-username")
    assert "sorted by -username: every user listed" in proc.stderr
    order = [proc.stdout.index(name) for name in sorted(names, reverse=True)]
    assert order == sorted(order)
    proc = run(env, "users", "list", "--sort", "shoe-size")
    assert proc.returncode == 2 and "sort by one of: username" in proc.stderr


def test_list_at_80_columns_sizes_columns_by_content_and_dates_match_get(
    env: dict[str, str],
) -> None:
    dimension = unique("Narrow")
    name = unique("ab")  # 13 characters
    run_json(
        env, "users", "register", name, "--email", f"{name}@registry.galaxy",
        "--display-name", "N", "--dimension", dimension,
    )  # fmt: skip
    proc = run({**env, "COLUMNS": "80"}, "users", "list", "--dimension", dimension)
    line = next(line for line in proc.stdout.splitlines() if name in line)
    assert line.startswith(f"│ {name} │")  # the name column is as wide as the name
    assert f"{name}@registry." in line  # the room left goes to the e-mail
    assert all(len(row) <= 80 for row in proc.stdout.splitlines())
    wide = run({**env, "COLUMNS": "200"}, "users", "list", "--dimension", dimension).stdout
    line = next(line for line in wide.splitlines() if name in line)
    got = run({**env, "COLUMNS": "200"}, "users", "get", name).stdout
    stamp = next(part for part in line.split("│") if part.strip()[:2] == "20").strip()
    assert f"registered (UTC)  {stamp}" in got


def test_get_with_profile_shows_the_profile_without_a_uuid(env: dict[str, str]) -> None:
    name = unique("profiled")
    register(env, name)
    code, doc = run_json(env, "users", "get", name.upper(), "--profile")
    assert code == 0 and isinstance(doc, dict)
    assert doc["username"] == name and doc["version"] == 1 and doc["status"] == "active"
    proc = run(env, "users", "get", name, "--profile")
    assert proc.returncode == 0 and "Agent Cipher" in proc.stdout and "version" in proc.stdout
    code, doc = run_json(env, "users", "get", unique("nobody"), "--profile")
    assert (code, doc) == (1, {"detail": "User not found"})
