"""`registry seed` and its terminal view: progress bars per phase, the two-lane race panel, a
summary. The seed itself (and the driver) load only when the command runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from registry_tui.cli import output
from registry_tui.cli.common import exit_with, with_registry
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.story import clone_count
from registry_tui.core.validation import ValidationError
from registry_tui.safe_text import safe_text

if TYPE_CHECKING:
    from rich.panel import Panel

    from registry_tui.core.registry import Registry
    from registry_tui.core.seed import SeedEvent, SeedReport

COUNT_MAX = 100_000
CONCURRENCY_MAX = 512


def seed_command(
    ctx: typer.Context,
    count: int = typer.Option(40, "--count", help=f"Heroes to register (1-{COUNT_MAX})."),
    concurrency: int = typer.Option(
        32, "--concurrency", help=f"Registrations in flight (1-{CONCURRENCY_MAX})."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object."),
    random_seed: int | None = typer.Option(
        None, "--random-seed", help="Draw the same heroes on every run (default: new ones)."
    ),
) -> None:
    """The demo's story: heroes register, Doppel-9's clones are blocked, profiles at v1."""
    report = with_registry(
        ctx,
        as_json,
        lambda r: run_seed_command(r, count, concurrency, as_json, random_seed),
        request=lambda: check_seed_size(count, concurrency),
    )
    exit_with(ExitCode.OK if report.clones_slipped == 0 else ExitCode.REFUSED)


def check_seed_size(count: int, concurrency: int) -> None:
    if not 1 <= count <= COUNT_MAX:
        raise ValidationError("count", f"must be between 1 and {COUNT_MAX}")
    if not 1 <= concurrency <= CONCURRENCY_MAX:
        raise ValidationError("concurrency", f"must be between 1 and {CONCURRENCY_MAX}")


async def run_seed_command(
    registry: Registry,
    count: int,
    concurrency: int,
    as_json: bool,
    random_seed: int | None = None,
) -> SeedReport:
    from rich.panel import Panel
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from registry_tui.core.seed import run_seed

    console = output.stderr() if as_json else output.stdout()
    if not as_json:
        console.print(
            Panel(
                Text.assemble(
                    ("Dimension-6: The Identity Wars\n", "bold"),
                    "Doppel-9 clones identities at petabyte scale. The only defense: ",
                    ("IF NOT EXISTS", "bold yellow"),
                    " enforced at the database level.",
                ),
                border_style="yellow",
            )
        )
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    clones = clone_count(count)
    tasks = {
        "heroes": progress.add_task(
            "[yellow]Phase 1[/] heroes register (IF NOT EXISTS)", total=count
        ),
        "clones": progress.add_task("[red]Phase 2[/] Doppel-9 clone attack", total=clones),
        "profiles": progress.add_task("[cyan]Phase 3[/] profiles at version 1", total=None),
    }

    def on_event(event: SeedEvent) -> None:
        progress.advance(tasks[event.phase])

    with progress:
        report = await run_seed(registry, count, concurrency, on_event, random_seed)
    if as_json:
        output.emit_json(report.as_document())
    else:
        output.show(race_panel(report))
        output.show(summary_table(report))
    return report


def race_panel(report: SeedReport) -> Panel:
    from rich.console import Group
    from rich.panel import Panel

    table = Table(expand=True, show_lines=False)
    table.add_column("IF-NOT-EXISTS hero", style="yellow", ratio=1)
    table.add_column("Doppel-9 cloner", style="red", ratio=1)
    for name, holder, result in report.duels:
        hero = Text.assemble("✔ ", safe_text(name, "bold"), " ", safe_text(holder, "dim"))
        mark = {"blocked": "✘ blocked (not applied)", "slipped": "‼ SLIPPED THROUGH"}
        table.add_row(hero, Text(mark.get(result, result)))
    title = f"Race panel: {report.clones_blocked}/{report.clones_attempted} clones blocked"
    return Panel(Group(table), title=title, border_style="red")


def summary_table(report: SeedReport) -> Table:
    table = Table(title="Seed summary", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("heroes registered", report.registered),
        ("collisions (name or e-mail already held)", report.collisions),
        ("clone attempts", report.clones_attempted),
        ("clones blocked", report.clones_blocked),
        ("clones slipped through", report.clones_slipped),
        ("profiles at version 1", report.profiles),
        ("dimensions", report.dimensions),
        ("outcomes unknown", report.unknown),
        ("seconds", f"{report.seconds:.2f}"),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    return table
