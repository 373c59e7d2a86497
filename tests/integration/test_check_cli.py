"""`registry check FILE` as a user runs it: verdicts, timelines, JSON, exit codes. No database:
a history file is all it reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from registry_tui.cli.app import app
from registry_tui.proof import HistoryRecorder

REGISTRY = str(Path(sys.executable).parent / "registry")
ALICE = "3f2a9c1e-0000-4000-8000-00000000a11c"
BOB = "77c1d0aa-0000-4000-8000-000000000b0b"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, *calls: tuple[float, int, str, str, dict[str, Any], float, str, Any]) -> Path:
    """Record calls (invoke time, process, f, key, args, complete time, result, value)."""
    clock = Clock()
    recorder = HistoryRecorder(clock=clock)
    handles = []
    for at, process, f, key, args, _, _, _ in calls:
        clock.now = at
        handles.append(recorder.invoke(process, f, key, args))
    for handle, (_, _, _, _, _, done, result, value) in sorted(
        zip(handles, calls, strict=True), key=lambda pair: pair[1][5]
    ):
        clock.now = done
        recorder.complete(handle, result, value)
    recorder.write_jsonl(path)
    return path


def check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["check", *args])
    return result.exit_code, result.stdout, result.stderr


def good_history(tmp_path: Path) -> Path:
    return write(
        tmp_path / "good.jsonl",
        (0.000, 1, "register", "name:alice", {"user_id": ALICE}, 0.002, "ok", None),
        (0.001, 2, "register", "name:alice", {"user_id": BOB}, 0.003, "failed", {"holder": ALICE}),
        (0.004, 3, "read", "name:alice", {}, 0.005, "ok", {"holder": ALICE}),
    )


def double_owner(tmp_path: Path) -> Path:
    return write(
        tmp_path / "double.jsonl",
        (0.000, 1, "register", "name:alice", {"user_id": ALICE}, 0.002, "ok", None),
        (0.001, 2, "register", "name:alice", {"user_id": BOB}, 0.003, "ok", None),
        (0.000, 3, "register", "name:bob", {"user_id": BOB}, 0.001, "ok", None),
    )


def test_a_linearizable_history_exits_0_with_its_totals(tmp_path: Path) -> None:
    code, stdout, stderr = check(str(good_history(tmp_path)))
    assert (code, stderr) == (0, "")
    assert stdout.splitlines()[-1].startswith(
        "linearizable: 3 operations on 1 key(s): 1 linearizable, 0 violation(s), 0 unknown"
    )


def test_a_violation_exits_1_and_is_drawn_as_a_timeline(tmp_path: Path) -> None:
    code, stdout, stderr = check(str(double_owner(tmp_path)))
    assert (code, stderr) == (1, "")
    lines = stdout.splitlines()
    assert lines[0].startswith("violation    name:alice  (2 operations")
    assert "name:alice: no order of these 2 operations explains them" in lines
    assert any(line.startswith("p1 | [#0 register 3f2a9c1e… ok") for line in lines)
    assert any(line.startswith("p2 | ") and "#1 register 77c1d0aa… ok" in line for line in lines)
    assert f"  #1 p2 1.000 → 3.000 ms: register {BOB} → ok" in lines
    assert lines[-1].startswith(
        "violation: 3 operations on 2 key(s): 1 linearizable, 1 violation(s)"
    )


def test_excerpts_beyond_the_cap_are_counted_not_drawn(tmp_path: Path) -> None:
    code, stdout, _ = check(str(double_owner(tmp_path)), "--excerpts", "0")
    assert code == 1
    assert "no order of these" not in stdout
    assert "1 more violation(s) not drawn: --excerpts N draws more, --json has them all" in stdout


def test_json_is_one_document_with_the_excerpt(tmp_path: Path) -> None:
    code, stdout, stderr = check(str(double_owner(tmp_path)), "--json")
    assert (code, stderr, stdout.count("\n")) == (1, "", 1)
    document = json.loads(stdout)
    assert document["verdict"] == "violation"
    assert document["totals"] | {"seconds": 0} == {
        "operations": 3,
        "keys": 2,
        "linearizable": 1,
        "violation": 1,
        "unknown": 0,
        "stale_reads": 0,
        "stale_reads_undecided": 0,
        "seconds": 0,
    }
    (key,) = document["keys"]
    assert [o["index"] for o in key["excerpt"]["operations"]] == [0, 1]


def test_a_key_the_budget_cannot_decide_exits_4(tmp_path: Path) -> None:
    calls = [
        (0.0, n, "register", "name:hot", {"user_id": f"user-{n}"}, 1.0, "unknown", None)
        for n in range(12)
    ]
    calls.append((2.0, 99, "read", "name:hot", {}, 3.0, "ok", {"holder": "user-11"}))
    path = write(tmp_path / "hot.jsonl", *calls)
    code, stdout, _ = check(str(path), "--budget", "5")
    assert code == 4
    assert "unknown      name:hot" in stdout
    assert check(str(path))[0] == 0


def test_an_unreadable_file_exits_2_with_one_line_naming_file_and_line(tmp_path: Path) -> None:
    path = good_history(tmp_path)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"process": 2', '"process": "two"')
    path.write_text("\n".join(lines) + "\n")
    code, stdout, stderr = check(str(path))
    assert (code, stdout) == (2, "")
    assert stderr == f'error: {path}: line 2: process must be an integer, not "two"\n'

    code, stdout, stderr = check(str(path), "--json")
    assert code == 2
    assert json.loads(stdout) == {
        "error": "unreadable_history",
        "file": str(path),
        "line": 2,
        "message": 'line 2: process must be an integer, not "two"',
    }


def test_a_missing_file_in_a_real_process_is_one_line_never_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    process = subprocess.run(
        [REGISTRY, "check", str(missing)], capture_output=True, text=True, timeout=60
    )
    assert process.returncode == 2
    assert process.stdout == ""
    assert process.stderr == f"error: {missing}: cannot be read: No such file or directory\n"

    process = subprocess.run(
        [REGISTRY, "check", str(good_history(tmp_path))], capture_output=True, text=True, timeout=60
    )
    assert process.returncode == 0


def test_a_stale_plain_read_is_reported_but_is_no_violation(tmp_path: Path) -> None:
    path = write(
        tmp_path / "stale.jsonl",
        (0.000, 1, "register", "name:alice", {"user_id": ALICE}, 0.001, "ok", None),
        (0.002, 1, "delete", "name:alice", {"user_id": ALICE}, 0.003, "ok", None),
        (0.004, 2, "read_plain", "name:alice", {}, 0.005, "ok", {"holder": ALICE}),
    )
    code, stdout, _ = check(str(path))
    assert code == 0
    assert (
        "stale reads  name:alice: 1 plain read(s) saw a value the key could not hold then (#2)"
        in stdout.splitlines()
    )
    assert "; 1 stale plain read(s);" in stdout.splitlines()[-1]
