"""Histories: recording them, writing and reading JSON Lines, and refusing bad lines by number."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from registry_tui.proof import (
    History,
    HistoryError,
    HistoryRecorder,
    Operation,
    read_jsonl,
    write_jsonl,
)

ALICE = "3f2a9c1e-0000-4000-8000-00000000a11c"

GOOD = {
    "index": 17,
    "process": 3,
    "f": "register",
    "key": "name:alice",
    "args": {"user_id": ALICE},
    "invoke": 0.0123,
    "complete": 0.0456,
    "result": "ok",
    "value": None,
    "raw": None,
    "error": None,
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_recorder_times_calls_from_its_start_and_hands_back_indexes() -> None:
    clock = FakeClock()
    recorder = HistoryRecorder(clock=clock)
    clock.now = 100.5
    first = recorder.invoke(1, "register", "name:alice", {"user_id": ALICE})
    clock.now = 100.75
    second = recorder.invoke(2, "read", "name:alice", {})
    clock.now = 101.0
    recorder.complete(first, "ok")
    recorder.complete(second, "ok", {"holder": ALICE}, raw="unknown: WriteTimeout", error="slow")
    third = recorder.invoke(3, "delete", "name:alice", {"user_id": ALICE})

    assert (first, second, third) == (0, 1, 2)
    assert len(recorder) == 3
    register, read, delete = recorder.operations()
    assert (register.invoke, register.complete, register.result) == (0.5, 1.0, "ok")
    assert (read.value, read.raw, read.error) == (
        {"holder": ALICE},
        "unknown: WriteTimeout",
        "slow",
    )
    # Still in flight when taken out: no answer, checked as unknown.
    assert (delete.complete, delete.outcome) == (None, "unknown")


def test_a_discarded_call_leaves_the_history_and_its_index_unused() -> None:
    recorder = HistoryRecorder()
    kept = recorder.invoke(1, "register", "name:alice", {"user_id": ALICE})
    never_sent = recorder.invoke(1, "claim", "email:a@x.test", {"user_id": ALICE})
    recorder.complete(kept, "ok")
    recorder.discard(never_sent)
    recorder.discard(never_sent)
    after = recorder.invoke(1, "read", "name:alice")
    assert len(recorder) == 2
    assert [op.index for op in recorder.operations()] == [kept, after]


def test_a_recorded_call_that_cannot_be_checked_is_refused_when_taken_out() -> None:
    recorder = HistoryRecorder()
    recorder.complete(recorder.invoke(1, "register", "name:alice", {}), "ok")
    with pytest.raises(HistoryError, match=r"operation 0: register needs args"):
        recorder.operations()


def test_a_history_round_trips_through_json_lines(tmp_path: Path) -> None:
    recorder = HistoryRecorder(initial={"name:alice": ALICE})
    for n in range(5):
        handle = recorder.invoke(n, "register", "name:alice", {"user_id": f"user-{n}"})
        recorder.complete(handle, "failed", {"holder": ALICE}, error="taken")
    recorder.invoke(9, "update", "profile:p", {"expected": 1, "writer": "w9"})
    path = tmp_path / "history.jsonl"
    recorder.write_jsonl(path)

    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"header": True, "initial": {"name:alice": ALICE}}
    assert list(json.loads(lines[1])) == list(GOOD)  # exactly these fields, in this order
    history = read_jsonl(path)
    assert history == recorder.history()
    assert history.initial == {"name:alice": ALICE}


def test_write_and_read_an_open_stream() -> None:
    history = History((Operation(**GOOD),))
    stream = io.StringIO()
    write_jsonl(history, stream)
    stream.seek(0)
    assert read_jsonl(stream) == history


def _read(tmp_path: Path, *lines: object) -> History:
    path = tmp_path / "h.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    return read_jsonl(path)


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    history = _read(tmp_path, "", GOOD, "   ")
    assert [op.index for op in history.operations] == [17]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"index": 1', r"line 2: not JSON"),
        ("[1, 2]", r"line 2: expected a JSON object"),
        ({**GOOD, "index": 18, "result": None} | {"index": 18}, r"line 2: result must be a string"),
        (
            {k: v for k, v in GOOD.items() if k not in ("f", "args")},
            r"line 2: missing field\(s\): f, args",
        ),
        (
            {k: v for k, v in GOOD.items() if k != "complete"},
            r"line 2: missing field\(s\): complete",
        ),
        (GOOD | {"index": "18"}, r'line 2: index must be an integer, not "18"'),
        (GOOD | {"index": 18, "process": True}, r"line 2: process must be an integer, not true"),
        (GOOD | {"index": 18, "invoke": "soon"}, r"line 2: invoke must be a number of seconds"),
        (
            GOOD | {"index": 18, "key": "alice"},
            r"line 2: key 'alice' is none of name:…, email:…, profile:…",
        ),
        (GOOD | {"index": 18, "f": "claim"}, r"line 2: f 'claim' is not an operation on a name"),
        (
            GOOD | {"index": 18, "result": "maybe"},
            r"line 2: result 'maybe' is none of ok, failed, unknown",
        ),
        (GOOD | {"index": 18, "complete": 0.001}, r"line 2: complete \(0.001\) is before invoke"),
        (GOOD | {"index": 18, "args": {}}, r"line 2: register needs args"),
        (
            GOOD | {"index": 18, "result": "failed", "value": {"holder": 7}},
            r"line 2: a failed register has value null or",
        ),
        (
            GOOD | {"index": 18, "f": "read", "args": {}, "value": None},
            r'line 2: an ok read needs value {"holder"',
        ),
        (GOOD, r"line 2: index 17 is also on line 1"),
        ({"header": True, "initial": {}}, r"line 2: a header may only be the first line"),
    ],
)
def test_a_bad_line_is_refused_by_its_number(tmp_path: Path, line: object, message: str) -> None:
    with pytest.raises(HistoryError, match=message) as refused:
        _read(tmp_path, GOOD, line)
    assert refused.value.line == 2


def test_a_number_that_is_not_finite_is_refused(tmp_path: Path) -> None:
    # Python's JSON reads NaN and Infinity: a time that is not a number orders nothing.
    with pytest.raises(HistoryError, match=r"line 1: invoke must be a number of seconds, not NaN"):
        _read(tmp_path, json.dumps(GOOD).replace("0.0123", "NaN"))


def test_a_header_with_a_state_its_kind_cannot_hold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"line 1: the header's state for 'profile:p'"):
        _read(tmp_path, {"header": True, "initial": {"profile:p": 3}}, GOOD)
    history = _read(
        tmp_path, {"header": True, "initial": {"profile:p": {"version": 3, "writer": "w"}}}, GOOD
    )
    assert history.initial == {"profile:p": {"version": 3, "writer": "w"}}


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"cannot be read: No such file") as refused:
        read_jsonl(tmp_path / "absent.jsonl")
    assert refused.value.line is None


def test_a_file_that_is_not_text_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(HistoryError, match=r"not UTF-8 text"):
        read_jsonl(path)
