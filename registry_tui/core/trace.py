"""Statements sent with tracing on, and their events read back from `system_traces`.

Inside `with tracing() as traced:` every statement this process's registry connections send
from the current task (and tasks it starts) carries the tracing flag, and `traced` collects
them in order. Tracing is not free: the server writes every step to `system_traces` (see
docs/benchmarks.md), so callers sample it. `read_trace_events` then reads each statement's
events once the server has written them; `proof.paxos` turns them into Paxos rounds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement
from cassandra.util import unix_time_from_uuid1

# How long the server may take to write a statement's trace (it writes in the background, and
# later under load), and how many reads 0.3 s apart must find no new event before it is taken
# as complete (one was not enough in races: remote replicas' lines were still missing).
TRACE_WAIT_S = 8.0
SETTLED_READS = 2


@dataclass
class TracedStatement:
    """One statement sent with tracing on: its CQL and the driver's future."""

    statement: str
    future: Any
    sent_at: float = field(default_factory=time.monotonic)

    @property
    def trace_id(self) -> Any | None:
        try:
            ids = self.future.get_query_trace_ids()
        except Exception:
            return None
        return ids[-1] if ids else None


class RawTraceEvent(NamedTuple):
    """A row of system_traces.events (the fields of `proof.paxos.TraceEvent`)."""

    activity: str
    source: str
    source_elapsed_us: int
    thread: str
    at_us: int


@dataclass(frozen=True)
class RawTrace:
    statement: str
    coordinator: str
    duration_us: int | None
    events: tuple[RawTraceEvent, ...]


_traced: ContextVar[list[TracedStatement] | None] = ContextVar("registry_traced", default=None)


@contextmanager
def tracing() -> Iterator[list[TracedStatement]]:
    """Trace every statement sent inside the block (in this task and tasks it starts)."""
    log: list[TracedStatement] = []
    token = _traced.set(log)
    try:
        yield log
    finally:
        _traced.reset(token)


def trace_log() -> list[TracedStatement] | None:
    """Where a statement about to be sent is recorded, or None: send it untraced."""
    return _traced.get()


_SESSION_CQL = "SELECT coordinator, duration FROM system_traces.sessions WHERE session_id = %s"
_EVENTS_CQL = (
    "SELECT event_id, activity, source, source_elapsed, thread "
    "FROM system_traces.events WHERE session_id = %s"
)


async def _rows(session: Any, cql: str, trace_id: Any) -> list[Any]:
    """One read of a trace table at ONE, awaited on the loop (no thread held while it runs)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Any]] = loop.create_future()

    def settle(rows: Any, exc: BaseException | None) -> None:
        if done.done():
            return
        if exc is not None:
            done.set_exception(exc)
        else:
            done.set_result(list(rows or ()))

    future = session.execute_async(
        SimpleStatement(cql, consistency_level=ConsistencyLevel.ONE), (trace_id,)
    )
    future.add_callbacks(
        lambda rows: loop.call_soon_threadsafe(settle, rows, None),
        lambda exc: loop.call_soon_threadsafe(settle, None, exc),
    )
    return await done


async def read_trace_events(
    session: Any, traced: TracedStatement, wait_s: float = TRACE_WAIT_S
) -> RawTrace | None:
    """The events of one traced statement (None when it has no trace: it never got an
    answer from the server). Its waits are the loop's, so many are read side by side."""
    trace_id = traced.trace_id
    if trace_id is None:
        return None
    deadline = time.monotonic() + wait_s
    coordinator, duration = "", None
    while time.monotonic() < deadline:  # the session row gets its duration when it ends
        rows = await _rows(session, _SESSION_CQL, trace_id)
        found = rows[0] if rows else None
        if found is not None and found.duration is not None:
            coordinator, duration = str(found.coordinator), int(found.duration)
            break
        await asyncio.sleep(0.1)
    events: list[RawTraceEvent] = []
    stable = 0
    while True:  # replicas write their lines in the background: read until none is new
        now = [
            RawTraceEvent(
                r.activity or "",
                str(r.source),
                int(r.source_elapsed or 0),
                r.thread or "",
                round(unix_time_from_uuid1(r.event_id) * 1_000_000),
            )
            for r in await _rows(session, _EVENTS_CQL, trace_id)
        ]
        stable = stable + 1 if now and len(now) == len(events) else 0
        events = now
        if stable >= SETTLED_READS or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.3)
    return RawTrace(traced.statement, coordinator, duration, tuple(events))


def is_conditional(statement: str) -> bool:
    """A conditional (Paxos) write: INSERT, UPDATE or DELETE with an IF clause."""
    words = statement.lstrip().split(None, 1)
    return (
        bool(words)
        and words[0].upper() in ("INSERT", "UPDATE", "DELETE")
        and (" IF " in statement.upper())
    )
