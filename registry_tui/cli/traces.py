"""Traced statements as Paxos rounds, for `users register --trace` and `race --trace-sample`."""

from __future__ import annotations

import re
from typing import Any

from registry_tui.cli import output
from registry_tui.core.trace import RawTrace, TracedStatement, read_trace_events
from registry_tui.proof.paxos import PaxosTrace, TraceEvent, read_trace, render_timeline

_TABLE = re.compile(r"(?:INTO|UPDATE|FROM)\s+(\S+)", re.I)
_CONDITION = re.compile(r"\sIF\s+(.*)$", re.I | re.S)


def statement_label(cql: str) -> str:
    """'INSERT registrations IF NOT EXISTS' from the statement's CQL (no values: none are
    in a prepared statement's text)."""
    words = cql.split()
    verb = words[0].upper() if words else "?"
    table = _TABLE.search(cql)
    name = table.group(1).split(".")[-1].strip('"') if table else ""
    condition = _CONDITION.search(cql)
    tail = f" IF {' '.join(condition.group(1).split())}" if condition else ""
    return " ".join(part for part in (verb, name) if part) + tail


def paxos_trace(raw: RawTrace) -> PaxosTrace:
    return read_trace(
        [TraceEvent(*event) for event in raw.events], raw.coordinator, raw.duration_us
    )


async def read_all(session: Any, traced: list[TracedStatement]) -> list[tuple[str, PaxosTrace]]:
    """Each traced statement's label and rounds (statements without a trace are skipped)."""
    found = []
    for statement in traced:
        raw = await read_trace_events(session, statement)
        if raw is not None:
            found.append((statement_label(raw.statement), paxos_trace(raw)))
    return found


def traces_document(traces: list[tuple[str, PaxosTrace]]) -> list[dict[str, Any]]:
    return [{"statement": label, **trace.to_dict()} for label, trace in traces]


def show_timelines(traces: list[tuple[str, PaxosTrace]]) -> None:
    if not traces:
        output.emit_text("trace: the server returned no trace for these statements")
        return
    total = sum(t.round_trips for _, t in traces)
    output.emit_text(f"trace: {len(traces)} statement(s), {total} Paxos round trip(s) in all")
    for label, trace in traces:
        for line in render_timeline(trace, label):
            output.emit_text(line)
