"""Traced statements as Paxos rounds, for `users register --trace` and `race --trace-sample`."""

from __future__ import annotations

from typing import Any

from registry_tui.cli import output
from registry_tui.core.trace import TracedStatement
from registry_tui.proof.paxos import PaxosTrace, render_timeline
from registry_tui.race.paxos import read_statements


async def read_all(session: Any, traced: list[TracedStatement]) -> list[tuple[str, PaxosTrace]]:
    """Each traced statement's label and rounds (statements without a trace are skipped)."""
    return await read_statements(session, traced)


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
