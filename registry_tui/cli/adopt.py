"""`registry adopt`: bring the demo's layout or this project's v1 to schema v2, with a report.

Progress goes to stderr as it happens: a line per phase and one progress bar (rows/s, time
left), or with --verbose a line per change; the report (a table, or one JSON document with
--json) to stdout. Exit 0 when adopted with no conflict, 1 while conflicts remain (they are listed),
2 when there is nothing the registry may adopt (no keyspace, another application's tables),
3 when the database cannot be reached or drops mid-run (run it again: it finishes).
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from registry_tui.cli import output
from registry_tui.cli.common import command_settings, exit_with, run_command
from registry_tui.core.exit_codes import ExitCode
from registry_tui.safe_text import printable, safe_text

if TYPE_CHECKING:
    from registry_tui.core.adopt import AdoptionReport, Watch
    from registry_tui.core.config import Settings


def adopt_command(
    ctx: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read everything and report what would change; write nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="A line per change on stderr instead of a progress bar."
    ),
    concurrency: int = typer.Option(
        32, "--concurrency", min=1, max=512, help="Rows adopted at once."
    ),
) -> None:
    """Adopt a keyspace written by the coodie demo (or this project's v1) into schema v2.

    Conditional writes only, idempotent: a run that stops half-way is finished by the next.
    Names that differ only by case and e-mails held by several users go to the earliest
    registration; the others are kept, listed, and the command exits 1 while any remain.
    """
    report = run_command(
        ctx,
        as_json,
        lambda: _run(_adopt(command_settings(ctx), dry_run, verbose, concurrency)),
        interrupted="what was adopted stays adopted; run `registry adopt` again to finish",
    )
    if as_json:
        output.emit_json(report.as_document())
    else:
        output.show(report_table(report))
        if report.conflicts:
            output.show(conflicts_table(report))
    if report.conflicts:
        output.fail(
            f"{len(report.conflicts)} conflict(s) remain: the registrations listed keep their "
            "rows but not the disputed name or e-mail"
        )
        exit_with(ExitCode.REFUSED)
    exit_with(ExitCode.OK)


def _run(adoption: Coroutine[Any, Any, AdoptionReport]) -> AdoptionReport:
    import asyncio

    return asyncio.run(adoption)


async def _adopt(
    settings: Settings, dry_run: bool, verbose: bool, concurrency: int
) -> AdoptionReport:
    from registry_tui.core.adopt import adopt
    from registry_tui.core.store import open_connection

    # create_schema=False: a missing keyspace must be reported, not created.
    connection = await open_connection(settings, create_schema=False)
    try:
        with _watching(verbose) as watch:
            return await adopt(connection, dry_run=dry_run, watch=watch, concurrency=concurrency)
    finally:
        connection.close()


def _progress(line: str) -> None:
    output.diagnose(line, style="dim")


@contextmanager
def _watching(verbose: bool) -> Iterator[Watch]:
    """Phase lines on stderr, and either a line per change (--verbose) or one progress bar
    that each phase restarts."""
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from registry_tui.core.adopt import Watch

    class RowsPerSecond(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} rows/s" if speed else "", style="cyan")

    if verbose:
        yield Watch(steps=_progress, rows=_progress)
        return
    if not output.stderr().is_terminal:
        yield _phase_lines()
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RowsPerSecond(),
        TimeRemainingColumn(),
        console=output.stderr(),
        transient=False,
    )
    task: list[TaskID] = []

    def phase(name: str, total: int) -> None:
        if task:
            bar.stop_task(task[0])
        else:  # shown from the first phase on: a run refused before it prints only its error
            bar.start()
        task[:] = [bar.add_task(escape(name), total=total)]

    def advance(count: int) -> None:
        bar.advance(task[0], count)

    try:
        yield Watch(
            steps=lambda line: bar.console.print(printable(line), style="dim", markup=False),
            phase=phase,
            advance=advance,
        )
    finally:
        if task:
            bar.stop()


class _PhaseLines:
    """Where no one watches a bar (a log, a pipe): one line as each phase ends, with its
    rate, written before the next line."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.total = self.done = 0
        self.started = 0.0

    def flush(self) -> None:
        if self.name is not None:
            seconds = max(time.perf_counter() - self.started, 1e-9)
            _progress(
                f"{self.name}: {self.done} of {self.total} in {seconds:.1f} s "
                f"({self.done / seconds:,.0f} rows/s)"
            )
            self.name = None

    def step(self, line: str) -> None:
        self.flush()
        _progress(line)

    def phase(self, name: str, total: int) -> None:
        self.flush()
        self.name, self.total, self.done, self.started = name, total, 0, time.perf_counter()

    def advance(self, count: int) -> None:
        self.done += count


def _phase_lines() -> Watch:
    from registry_tui.core.adopt import Watch

    lines = _PhaseLines()
    return Watch(steps=lines.step, phase=lines.phase, advance=lines.advance)


def report_table(report: AdoptionReport) -> Table:
    title = f"Adoption of {report.keyspace}"
    if report.dry_run:
        title += " (dry run: nothing written)"
    table = Table(title=safe_text(title), show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("layout found", report.layout),
        ("rows seen", str(report.rows_seen)),
        ("adopted" if not report.dry_run else "to adopt", str(report.adopted)),
        ("already current", str(report.already_current)),
        ("conflicts", str(len(report.conflicts))),
        ("schema version", report.schema_version or "-"),
    ]
    for label, value in rows:
        table.add_row(label, safe_text(value))
    return table


def conflicts_table(report: AdoptionReport) -> Table:
    table = Table(title="Conflicts (kept readable, not adopted)")
    for column in ("kind", "registration", "user_id", "disputed", "kept by"):
        table.add_column(column, overflow="fold")  # every character: these are to act on
    for c in report.conflicts:
        table.add_row(
            c.kind,
            safe_text(c.username),
            str(c.user_id or "-"),
            safe_text(c.value),
            safe_text(c.kept_by),
        )
    return table
