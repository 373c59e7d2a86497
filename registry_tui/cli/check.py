"""`registry check FILE`: is a recorded history linearizable, key by key?

Reads a history in JSON Lines (docs/checker.md), checks it with `registry_tui.proof`, prints a
verdict per key that is not plainly linearizable, the totals, and the excerpt of each violation
as a timeline (the first few; the JSON report has them all). Needs no database.

Exit 0 when every key is linearizable, 1 when a violation is found, 2 when the file cannot be
read (one line on stderr naming the file and the line), 4 when there is no violation but some
key could not be decided within its budget.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from registry_tui.cli import output
from registry_tui.cli.common import exit_with, run_command, stop
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.failures import Failure

if TYPE_CHECKING:  # the checker loads only when a history is checked
    from registry_tui.proof import CheckReport, KeyVerdict

KEYS_LISTED = 50  # keys listed by verdict in the text report
TIMELINE_WIDTH_MAX = 120


def _exit_code(verdict: str) -> ExitCode:
    from registry_tui.proof import LINEARIZABLE, UNDECIDED, VIOLATION

    codes = {LINEARIZABLE: ExitCode.OK, VIOLATION: ExitCode.REFUSED, UNDECIDED: ExitCode.UNKNOWN}
    return codes[verdict]


def check_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A history: one operation a line (JSON Lines).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget",
            min=1,
            help="Search steps per key (0.1 to 1 µs each, and ~150 bytes at most); a key that "
            "needs more is reported unknown, never linearizable (default: the checker's own).",
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", min=0.001, help="Seconds per key, on top of --budget."),
    ] = None,
    excerpts: Annotated[
        int, typer.Option("--excerpts", min=0, help="How many violations to draw as a timeline.")
    ] = 5,
) -> None:
    """Check a recorded history for linearizability, key by key (no database needed)."""
    from registry_tui.proof import Budget, HistoryError, check_history, read_jsonl

    limits = Budget(seconds=time_limit) if budget is None else Budget(budget, time_limit)
    try:
        history = read_jsonl(file)
    except HistoryError as exc:
        document = {"error": "unreadable_history", "file": str(file), "line": exc.line}
        stop(as_json, Failure(ExitCode.INVALID, f"{file}: {exc}", document | {"message": str(exc)}))
    report = run_command(
        ctx,
        as_json,
        lambda: check_history(history, budget=limits),
    )
    if as_json:
        output.emit_json(report.to_json())
    else:
        _show(report, excerpts)
    exit_with(_exit_code(report.verdict))


def _show(report: CheckReport, excerpts: int) -> None:
    from registry_tui.proof import LINEARIZABLE, render_excerpt

    listed = [k for k in report.keys if k.verdict != LINEARIZABLE]
    for verdict in listed[:KEYS_LISTED]:
        output.emit_text(_key_line(verdict))
    if len(listed) > KEYS_LISTED:
        output.emit_text(f"… and {len(listed) - KEYS_LISTED} more key(s) not linearizable")
    stale = [k for k in report.keys if k.stale.stale]
    for verdict in stale[:KEYS_LISTED]:
        examples = ", ".join(f"#{index}" for index in verdict.stale.stale[:5])
        output.emit_text(
            f"stale reads  {verdict.key}: {len(verdict.stale.stale)} plain read(s) saw a value "
            f"the key could not hold then ({examples})"
        )
    violating = report.violating()
    width = min(output.stdout().width, TIMELINE_WIDTH_MAX)
    for verdict in violating[:excerpts]:
        if verdict.excerpt is None:
            continue
        output.emit_text("")
        for line in render_excerpt(verdict.excerpt, width):
            output.emit_text(line)
    if len(violating) > excerpts:
        output.emit_text("")
        output.emit_text(
            f"{len(violating) - excerpts} more violation(s) not drawn: "
            "--excerpts N draws more, --json has them all"
        )
    output.emit_text("")
    output.emit_text(_totals(report))


def _key_line(verdict: KeyVerdict) -> str:
    line = (
        f"{verdict.verdict:<12} {verdict.key}  ({verdict.operations} operations, "
        f"{verdict.steps:,} steps, {verdict.seconds:.2f} s)"
    )
    return f"{line}: {verdict.reason}" if verdict.reason else line


def _totals(report: CheckReport) -> str:
    undecided = sum(k.stale.undecided for k in report.keys)
    line = (
        f"{report.verdict}: {report.operations:,} operations on {len(report.keys):,} key(s): "
        f"{report.linearizable:,} linearizable, {report.violations:,} violation(s), "
        f"{report.unknown:,} unknown; {report.stale_reads:,} stale plain read(s)"
    )
    if undecided:
        line += f" ({undecided:,} plain read(s) undecided)"
    return f"{line}; {report.seconds:.2f} s"
