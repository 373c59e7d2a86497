"""Operation histories: what each client asked, when, and what it was told.

One JSON object a line (JSON Lines), in the field names below; an optional first line
`{"header": true, "initial": {"name:alice": "<user id>"}}` gives keys a starting state other
than the model's default. `HistoryRecorder` writes such a history from the race engine's hot
path; `read_jsonl` reads one back and refuses a bad line by its number, so a history is either
fully checked or not read at all.
"""

from __future__ import annotations

import gc
import io
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from registry_tui.proof.models import FAILED, MODELS, OK, UNKNOWN, model_for

RESULTS = frozenset({OK, FAILED, UNKNOWN})
FIELDS = ("index", "process", "f", "key", "args", "invoke", "complete", "result")
OPTIONAL_FIELDS = ("value", "raw", "error")


class HistoryError(ValueError):
    """A history that cannot be checked: the line (1-based) or operation it is about, and why."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True, slots=True)
class Operation:
    """One call by one client: asked at `invoke`, answered at `complete` (seconds from the start
    of the run; None: still in flight when the run stopped, which is checked as unknown)."""

    index: int
    process: int
    f: str
    key: str
    args: Mapping[str, Any]
    invoke: float
    complete: float | None
    result: str
    value: Any = None
    raw: str | None = None
    error: str | None = None

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def outcome(self) -> str:
        """The result as checked: an answer that never came is unknown, whatever was written."""
        return UNKNOWN if self.complete is None else self.result

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "process": self.process,
            "f": self.f,
            "key": self.key,
            "args": dict(self.args),
            "invoke": self.invoke,
            "complete": self.complete,
            "result": self.result,
            "value": self.value,
            "raw": self.raw,
            "error": self.error,
        }


@dataclass(frozen=True)
class History:
    """The operations of a run and the starting states its header gives (raw JSON values)."""

    operations: tuple[Operation, ...]
    initial: Mapping[str, Any] = field(default_factory=dict)


def _problem(op: Operation) -> str | None:
    """What makes an operation uncheckable, or None. Shared by the reader and the recorder."""
    model = model_for(op.key)
    if model is None:
        kinds = ", ".join(f"{kind}:…" for kind in MODELS)
        return f"key {op.key!r} is none of {kinds}"
    if op.f not in model.functions:
        known = ", ".join(sorted(model.functions))
        return f"f {op.f!r} is not an operation on a {op.kind} (one of: {known})"
    if op.result not in RESULTS:
        return f"result {op.result!r} is none of ok, failed, unknown"
    if op.complete is not None and op.complete < op.invoke:
        return f"complete ({op.complete}) is before invoke ({op.invoke})"
    return model.problem(op)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)  # NaN or infinity would break the time order
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _str_or_null(value: object) -> bool:
    return value is None or isinstance(value, str)


def _seconds_or_null(value: object) -> bool:
    return value is None or _is_number(value)


_CHECKS: tuple[tuple[str, Callable[[object], bool], str], ...] = (
    ("index", _is_int, "an integer"),
    ("process", _is_int, "an integer"),
    ("f", _is_str, "a string"),
    ("key", _is_str, "a string"),
    ("args", lambda v: isinstance(v, dict), "an object"),
    ("invoke", _is_number, "a number of seconds"),
    ("complete", _seconds_or_null, "a number of seconds or null"),
    ("result", _is_str, "a string"),
    ("raw", _str_or_null, "a string or null"),
    ("error", _str_or_null, "a string or null"),
)


def _operation(document: object) -> Operation:
    """An operation from one decoded line; ValueError saying what is wrong."""
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object")
    get = document.get
    index, process, invoke, complete = get("index"), get("process"), get("invoke"), get("complete")
    raw, error = get("raw"), get("error")
    # The usual line passes these exact type tests (bool is not int, float is not int); anything
    # else is looked at field by field, for the message.
    usual = (
        type(index) is int
        and type(process) is int
        and type(get("f")) is str
        and type(get("key")) is str
        and type(get("args")) is dict
        and type(get("result")) is str
        and type(invoke) is float
        and math.isfinite(invoke)
        and (complete is None or (type(complete) is float and math.isfinite(complete)))
        and (raw is None or type(raw) is str)
        and (error is None or type(error) is str)
        and "complete" in document
    )
    if not usual:
        missing = [name for name in FIELDS if name not in document]
        if missing:
            raise ValueError(f"missing field(s): {', '.join(missing)}")
        for name, valid, expected in _CHECKS:
            if not valid(document.get(name)):
                shown = json.dumps(document.get(name))
                raise ValueError(f"{name} must be {expected}, not {shown}")
    op = Operation(
        index=document["index"],
        process=document["process"],
        f=document["f"],
        key=document["key"],
        args=document["args"],
        invoke=float(document["invoke"]),
        complete=None if complete is None else float(complete),
        result=document["result"],
        value=get("value"),
        raw=raw,
        error=error,
    )
    problem = _problem(op)
    if problem is not None:
        raise ValueError(problem)
    return op


def _initial(document: dict[str, Any]) -> dict[str, Any]:
    initial = document.get("initial", {})
    if not isinstance(initial, dict):
        raise ValueError('the header\'s "initial" must be an object of key: state')
    for key, value in initial.items():
        model = model_for(key)
        if model is None:
            raise ValueError(f"the header names key {key!r}, which is of no known kind")
        try:
            model.initial_state(value)
        except ValueError as exc:
            raise ValueError(f"the header's state for {key!r}: {exc}") from None
    return initial


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a while. A history is millions of small objects, and
    each full collection walks all of them: reading or checking one with it on takes twice as
    long. Neither makes reference cycles, so nothing is left for the collector meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_lines(lines: Iterable[str]) -> History:
    """A history from its JSON lines (blank lines are skipped); HistoryError names the line."""
    with collector_paused():
        return _parse_lines(lines)


def _parse_lines(lines: Iterable[str]) -> History:
    operations: list[Operation] = []
    initial: dict[str, Any] = {}
    seen: dict[int, int] = {}  # index -> line
    first = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line.strip())
        except json.JSONDecodeError as exc:
            raise HistoryError(f"not JSON ({exc.msg} at column {exc.colno})", line=number) from None
        try:
            if isinstance(document, dict) and "header" in document:
                if not first:
                    raise ValueError("a header may only be the first line")
                initial = _initial(document)
            else:
                op = _operation(document)
                if op.index in seen:
                    raise ValueError(f"index {op.index} is also on line {seen[op.index]}")
                seen[op.index] = number
                operations.append(op)
        except ValueError as exc:
            raise HistoryError(str(exc), line=number) from None
        first = False
    return History(tuple(operations), initial)


def read_jsonl(source: str | Path | IO[str]) -> History:
    """Read a history file (or an open text stream). HistoryError for anything unreadable:
    a missing file, a line that is not JSON, a missing field, a value of the wrong type."""
    if not isinstance(source, (str, Path)):
        return parse_lines(source)
    try:
        with open(source, encoding="utf-8") as stream:
            return parse_lines(stream)
    except OSError as exc:
        raise HistoryError(f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise HistoryError("cannot be read: not UTF-8 text") from None


def validate(operations: Iterable[Operation]) -> None:
    """HistoryError naming the first operation that cannot be checked (by its index)."""
    seen: set[int] = set()
    for op in operations:
        problem = _problem(op)
        if problem is None and op.index in seen:
            problem = "the index is used twice"
        if problem is not None:
            raise HistoryError(f"operation {op.index}: {problem}")
        seen.add(op.index)


def write_jsonl(history: History | Iterable[Operation], target: str | Path | IO[str]) -> None:
    """Write a history as JSON Lines (the header first when it gives starting states)."""
    if isinstance(target, (str, Path)):
        with open(target, "w", encoding="utf-8") as stream:
            write_jsonl(history, stream)
        return
    operations = history.operations if isinstance(history, History) else history
    if isinstance(history, History) and history.initial:
        target.write(json.dumps({"header": True, "initial": dict(history.initial)}) + "\n")
    buffer = io.StringIO()
    for number, op in enumerate(operations, start=1):
        buffer.write(json.dumps(op.to_json(), ensure_ascii=False) + "\n")
        if number % 4096 == 0:  # keep the buffer small on a history of millions
            target.write(buffer.getvalue())
            buffer = io.StringIO()
    target.write(buffer.getvalue())


# One record per operation, a plain list so that `invoke` and `complete` cost an append and a
# few stores: process, f, key, args, invoke, complete, result, value, raw, error.
_Record = list[Any]


class HistoryRecorder:
    """Records operations as a run makes them, in memory, for `write_jsonl` or the checker.

    Built for a hot path in asyncio code: `invoke` and `complete` do no validation and no I/O
    (a bad operation is refused when the history is taken out). Not thread-safe. `args` and
    `value` are kept by reference: do not change them after handing them over.
    """

    __slots__ = ("_clock", "_discarded", "_records", "_start", "initial")

    def __init__(
        self,
        *,
        initial: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._start = clock()
        self._records: list[_Record] = []
        self._discarded = 0
        self.initial = dict(initial or {})

    def __len__(self) -> int:
        """The operations recorded (discarded ones excluded)."""
        return len(self._records) - self._discarded

    def invoke(self, process: int, f: str, key: str, args: Mapping[str, Any] | None = None) -> int:
        """Record a call about to be sent; the handle (the operation's index) is for `complete`."""
        records = self._records
        at = self._clock() - self._start
        records.append([process, f, key, args or {}, at, None, UNKNOWN, None, None, None])
        return len(records) - 1

    def complete(
        self,
        handle: int,
        result: str,
        value: Any = None,
        raw: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record the answer to the call `handle`: ok, failed (did not take effect) or unknown."""
        record = self._records[handle]
        record[5] = self._clock() - self._start
        record[6] = result
        record[7] = value
        record[8] = raw
        record[9] = error

    def discard(self, handle: int) -> None:
        """Forget the call recorded at `handle`: it was never sent after all. Its index is not
        reused, so the indexes of a history may have gaps."""
        record = self._records[handle]
        if record[1] is not None:
            record[1] = None  # the mark of a discarded record
            self._discarded += 1

    def operations(self) -> tuple[Operation, ...]:
        """Every operation so far (one still in flight has complete None). HistoryError if one
        cannot be checked."""
        operations = tuple(
            Operation(index, *record)
            for index, record in enumerate(self._records)
            if record[1] is not None
        )
        validate(operations)
        return operations

    def history(self) -> History:
        return History(self.operations(), dict(self.initial))

    def write_jsonl(self, target: str | Path | IO[str]) -> None:
        write_jsonl(self.history(), target)
