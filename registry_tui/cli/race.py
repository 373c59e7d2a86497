"""`registry race`: heroes and Doppel-9 clones released at once on the same usernames, shown
live, then audited.

`race_command` is a typer command callback: the `registry` app registers it as `race` and puts
the connection Settings in `ctx.obj`. Only typer, rich and light project modules load with
this module; the driver and the engine load inside the command, so `registry --help` stays
fast. Textual is never imported.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from registry_tui.cli.common import exit_with, run_command, stop, with_connection
from registry_tui.core.documents import unavailable_doc
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.failures import Failure

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text

    from registry_tui.core.store import Connection
    from registry_tui.proof import CheckReport
    from registry_tui.race import (
        Attack,
        AttackPlan,
        AttackReport,
        ContenderFinished,
        RaceEvent,
    )
    from registry_tui.race.churn import ChurnPlan, ChurnReport
    from registry_tui.race.paxos import PaxosSummary
    from registry_tui.race.report import Cleanup

RECENT_LINES = 6  # per lane in the live view
REPAINT_S = 0.1
VIOLATIONS_SHOWN = 20
HISTORY_EXCERPTS_SHOWN = 3


class RaceMode(str, Enum):
    land_grab = "land-grab"
    siege = "siege"
    churn = "churn"


# The defaults are the engine's AttackPlan defaults (100 names, hero + 7 clones, 16 in flight),
# repeated here because the engine is not imported until the command runs.
def race_command(
    ctx: typer.Context,
    usernames: Annotated[
        int, typer.Option("--usernames", "-r", help="R: how many usernames to race (1-100000).")
    ] = 100,
    clones: Annotated[
        int,
        typer.Option(
            "--clones", "-k", help="K: Doppel-9 clones per race, besides the hero (1-64)."
        ),
    ] = 7,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="C: races in flight at once (1-1000).")
    ] = 16,
    mode: Annotated[
        RaceMode,
        typer.Option(
            "--mode",
            help="land-grab: fresh names, exactly one contender wins each. "
            "siege: names heroes already hold, every clone must be blocked. "
            "churn: a few names and e-mails under register, read, delete and edit from many "
            "clients for --seconds.",
        ),
    ] = RaceMode.land_grab,
    clients: Annotated[
        int, typer.Option("--clients", help="churn: concurrent clients (1-256).")
    ] = 16,
    seconds: Annotated[
        float, typer.Option("--seconds", help="churn: how long the clients run (0.1-3600).")
    ] = 10.0,
    mix: Annotated[
        str,
        typer.Option(
            "--mix",
            help="churn: balanced (every kind of call), or edits (four calls in five edit the "
            "holder's profile while others delete and register).",
        ),
    ] = "balanced",
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="Write every operation of the run (invoke, complete, answer) to FILE as JSON "
            "Lines; `registry check FILE` checks it again.",
            metavar="FILE",
        ),
    ] = None,
    unprotected: Annotated[
        bool,
        typer.Option(
            "--unprotected",
            help="Control run: the same races with plain INSERTs (no IF NOT EXISTS) on a "
            "scratch table, never the registry, counting the identities the last write erases.",
        ),
    ] = False,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="Keep the winners registered after the audit (by default the race removes "
            "what it registered, by identity, with their profiles and e-mail claims).",
        ),
    ] = False,
    across_dcs: Annotated[
        bool,
        typer.Option(
            "--across-dcs",
            help="Split each race's contenders between two connections, each local to one "
            "data centre. With --serial local, two DCs can each crown a winner.",
        ),
    ] = False,
    cleanup: Annotated[
        str | None,
        typer.Option(
            "--cleanup",
            help="Remove, by identity, what the run RUN_ID left registered (a stopped or "
            "--keep run; every race name carries its run id), then exit. Other options are "
            "ignored.",
            metavar="RUN_ID",
        ),
    ] = None,
    trace_sample: Annotated[
        int,
        typer.Option(
            "--trace-sample",
            help="Trace every attempt of one race in N (so one attempt in N, winners and losers "
            "alike; 0: none), and report the Paxos round trips per winning and per losing "
            "attempt. Tracing costs the server "
            "work: see docs/benchmarks.md.",
            min=0,
            max=1_000_000,
        ),
    ] = 0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object, nothing else.")
    ] = False,
) -> None:
    """Race heroes against Doppel-9 clones for the same usernames, then audit every name.

    Each race releases its hero and clones at the same instant, all through IF NOT EXISTS.
    The audit reads every name at SERIAL: its owner must be the one contender told it won.
    Exit code 1 when the audit finds a violation (a control run always does: that is its point).
    Ctrl-C stops it: races in flight finish, what ran is audited and removed (unless --keep);
    a second Ctrl-C skips the audit, never the clean-up.
    """
    from registry_tui.cli import output
    from registry_tui.race import AttackPlan, RaceSetupError

    if cleanup is not None:
        _cleanup_command(ctx, cleanup, json_output)
    if history is not None:
        run_command(ctx, json_output, lambda: _writable(history))
    if mode is RaceMode.churn:
        _churn_command(ctx, clients, seconds, mix, keep, across_dcs, history, json_output)
        return
    plan = run_command(
        ctx,
        json_output,
        lambda: AttackPlan(
            races=usernames,
            clones=clones,
            concurrency=concurrency,
            mode=mode.value,
            protected=not unprotected,
            keep=keep,
        ),
    )
    live = not json_output and sys.stdout.isatty()
    traced: list[Attack] = []  # the attack, for its traced attempts
    try:
        report = with_connection(
            ctx,
            json_output,
            lambda connection: _attack(
                connection,
                plan,
                live=live,
                across_dcs=across_dcs,
                history=history,
                trace_sample=trace_sample,
                traced=traced,
            ),
            interrupted="the clean-up did not finish",
        )
    except RaceSetupError as exc:  # the siege cannot start: like a database that cannot serve
        stop(json_output, Failure(ExitCode.UNAVAILABLE, str(exc), unavailable_doc(str(exc))))

    paxos = traced[0].paxos if traced else None
    if json_output:
        document = report.as_document()
        if paxos is not None:
            document = document | {
                "paxos": paxos.as_document(),
                "traced": [a.as_document() for a in traced[0].traced],
            }
        output.emit_json(document)
    else:
        _print_summary(report)
        if paxos is not None:
            _print_paxos(paxos)
    if report.cleanup.failed:
        output.diagnose(
            f"could not remove {len(report.cleanup.failed)} of the race's registrations "
            f"(first: {report.cleanup.failed[0]}); `registry race --cleanup {report.run_id}` "
            "tries again"
        )
    if report.stopped_after is not None:
        audit = "audited" if report.audited else "not audited"
        output.fail(
            f"stopped after {report.stopped_after:,} of {plan.races:,} races ({audit}); "
            f"clean-up: {report.cleanup_summary()}"
        )
        exit_with(ExitCode.INTERRUPTED)
    if report.violations:
        output.fail(f"the audit found {len(report.violations)} violation(s)")
        exit_with(ExitCode.REFUSED)
    if report.history is not None and report.history.violations:
        output.fail(f"the history check found {report.history.violations} violating name(s)")
        exit_with(ExitCode.REFUSED)
    exit_with(ExitCode.OK)


def _writable(path: Path) -> None:
    """--history must name a file that can be written, before anything is raced."""
    from registry_tui.core.validation import ValidationError

    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not folder.is_dir():
        raise ValidationError("history", f"{path}: no such folder, or a folder itself")
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise ValidationError("history", f"{path}: {exc.strerror}") from None


def _save_history(recorder: object, path: Path | None) -> None:
    from registry_tui.cli import output
    from registry_tui.proof import HistoryRecorder, write_jsonl

    if path is None:
        return
    assert isinstance(recorder, HistoryRecorder)
    write_jsonl(recorder.history(), path)
    output.diagnose(f"history: {len(recorder):,} operations written to {path}", style="dim")


async def _attack(
    connection: Connection,
    plan: AttackPlan,
    *,
    live: bool,
    across_dcs: bool = False,
    history: Path | None = None,
    trace_sample: int = 0,
    traced: list[Attack] | None = None,
) -> AttackReport:
    from registry_tui.race import Attack, across_data_centres

    if not across_dcs:
        attack = Attack(connection, plan, trace_sample=trace_sample)
        with _stop_on_ctrl_c(attack):
            report = await (_run_live(attack) if live else attack.run())
    else:
        async with across_data_centres(connection) as across:
            attack = Attack(connection, plan, across=across, trace_sample=trace_sample)
            with _stop_on_ctrl_c(attack):
                report = await (_run_live(attack) if live else attack.run())
    if traced is not None:
        traced.append(attack)
    _save_history(attack.recorder, history)
    return report


class _Stoppable(Protocol):
    def stop(self, *, skip_audit: bool = False) -> None: ...


@contextlib.contextmanager
def _stop_on_ctrl_c(attack: Attack) -> Iterator[None]:
    """Ctrl-C stops the attack the way it ends: in-flight races finish, then the audit and
    the clean-up. A second Ctrl-C skips the audit; a third leaves at once and says exactly
    what stays registered and how to remove it."""
    keeps = attack.plan.keep or not attack.plan.protected
    left = (
        "nothing to remove (kept on request)"
        if attack.plan.keep
        else "nothing in the registry (the control run writes a scratch table only)"
        if not attack.plan.protected
        else f"names {attack.username_prefix}* may stay registered; "
        f"`registry race --cleanup {attack.run_id}` removes them"
    )
    then = "then nothing is removed (kept)" if keeps else "then removing what it registered"
    with (
        _said_on_failure(lambda: left),
        _presses(
            attack,
            first=f"stopping: races in flight finish, what ran is audited, {then} "
            "(Ctrl-C again skips the audit)",
            second="skipping the audit"
            + ("" if keeps else "; still removing what the race registered"),
            left=lambda: left,
        ),
    ):
        yield


@contextlib.contextmanager
def _said_on_failure(left: Callable[[], str]) -> Iterator[None]:
    """A run that fails (the database went away, a siege could not set up) ends before its
    clean-up: say what it may have left and the command that removes it."""
    from registry_tui.cli import output

    try:
        yield
    except Exception:
        output.diagnose(f"the run ended before its clean-up: {left()}")
        raise


@contextlib.contextmanager
def _presses(
    stoppable: _Stoppable, *, first: str, second: str, left: Callable[[], str]
) -> Iterator[None]:
    """SIGINT, counted: the first stops `stoppable` (what is in flight finishes, then the
    audit and the clean-up), the second skips the audit (never the clean-up), the third
    leaves at once, saying what stays (`left()`, asked at that moment) and how to remove it."""
    import asyncio
    import signal

    from registry_tui.cli import output

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    presses = 0

    def pressed() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            stoppable.stop()
            output.diagnose(first)
        elif presses == 2:
            stoppable.stop(skip_audit=True)
            output.diagnose(f"{second} (Ctrl-C again leaves now: {left()})")
        else:
            output.diagnose(f"leaving now: {left()}")
            if task is not None:
                task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, pressed)
    except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
        yield
        return
    try:
        yield
    except asyncio.CancelledError:
        if presses >= 3:
            raise KeyboardInterrupt from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _cleanup_command(ctx: typer.Context, run_id: str, json_output: bool) -> None:
    from registry_tui.cli import output
    from registry_tui.race.cleanup import cleanup_run, parse_run_id

    value = run_command(ctx, json_output, lambda: parse_run_id(run_id))

    async def clean(connection: Connection) -> Cleanup:
        from registry_tui.core.registry import Registry

        if not json_output:
            output.diagnose(f"removing what run {value} left registered, by identity", style="dim")
        return await cleanup_run(Registry(connection), value)

    done = with_connection(
        ctx, json_output, clean, interrupted=f"run `registry race --cleanup {value}` again"
    )
    if json_output:
        output.emit_json({"run_id": value, "cleanup": done.as_document()})
    else:
        claims = (
            f", {done.claims_released:,} orphan e-mail claims released"
            if done.claims_released
            else ""
        )
        gone = f", {done.already_gone:,} already gone" if done.already_gone else ""
        output.show(f"run {value}: {done.removed:,} registrations removed{gone}{claims}")
    if done.failed:
        output.fail(
            f"could not remove {len(done.failed)} (first: {done.failed[0]}); "
            f"`registry race --cleanup {value}` tries again"
        )
        exit_with(ExitCode.UNAVAILABLE)
    exit_with(ExitCode.OK)


# ------------------------------------------------------------------------------------------
# Churn: Jepsen's shape, its history checked


def _churn_command(
    ctx: typer.Context,
    clients: int,
    seconds: float,
    mix: str,
    keep: bool,
    across_dcs: bool,
    history: Path | None,
    json_output: bool,
) -> None:
    from registry_tui.cli import output
    from registry_tui.race import RaceSetupError
    from registry_tui.race.churn import ChurnPlan

    plan = run_command(
        ctx,
        json_output,
        lambda: ChurnPlan(clients=clients, seconds=seconds, keep=keep, mix=mix),
    )
    try:
        report, check = with_connection(
            ctx,
            json_output,
            lambda connection: _churn(connection, plan, across_dcs, history),
            interrupted="if its clean-up had not finished, `registry race --cleanup RUN_ID` "
            "(the run id above) removes what it left",
        )
    except RaceSetupError as exc:
        stop(json_output, Failure(ExitCode.UNAVAILABLE, str(exc), unavailable_doc(str(exc))))
    if json_output:
        output.emit_json(
            report.as_document() | {"history": check.to_json() if check is not None else None}
        )
    else:
        _print_churn(report, check)
    if report.stopped or check is None:
        checked = "history not checked" if check is None else "history checked"
        output.fail(
            f"churn {report.run_id} stopped after {report.elapsed_s:.1f} s of "
            f"{plan.seconds:g} s ({checked}); clean-up: {report.cleanup_summary()}"
        )
        exit_with(ExitCode.INTERRUPTED)
    if check.violations:
        output.fail(f"the history check found {check.violations} violating key(s)")
        exit_with(ExitCode.REFUSED)
    if check.unknown:
        output.diagnose(f"{check.unknown} key(s) undecided within the search budget")
        exit_with(ExitCode.UNKNOWN)
    exit_with(ExitCode.OK)


async def _churn(
    connection: Connection,
    plan: ChurnPlan,
    across_dcs: bool,
    history: Path | None,
) -> tuple[ChurnReport, CheckReport | None]:
    import asyncio

    from registry_tui.cli import output
    from registry_tui.core.registry import Registry
    from registry_tui.proof import HistoryRecorder, check_history
    from registry_tui.race import across_data_centres
    from registry_tui.race.churn import Churn

    recorder = HistoryRecorder()

    async def run(registries: list[Registry]) -> tuple[ChurnReport, bool]:
        churn = Churn(registries, plan, recorder)
        output.diagnose(
            f"churn {churn.run_id}: {plan.clients} clients on {plan.names} names and "
            f"{plan.emails} e-mails for {plan.seconds:g} s, then every key's history is checked "
            "(Ctrl-C stops it early)",
            style="dim",
        )
        keeps = "nothing is removed (kept)" if plan.keep else "what it registered is removed"
        with (
            _said_on_failure(churn.left_behind),
            _presses(
                churn,
                first=f"stopping: calls in flight finish, then {keeps} and the history so far "
                "is checked (Ctrl-C again skips the check)",
                second="skipping the history check"
                + ("" if plan.keep else "; still removing what the churn registered"),
                left=churn.left_behind,
            ),
        ):
            report = await churn.run()
        return report, not churn.audit_skipped

    if across_dcs:
        async with across_data_centres(connection) as across:
            report, checking = await run([across[0][1], across[1][1]])
    else:
        report, checking = await run([Registry(connection)])
    _save_history(recorder, history)
    if not checking:
        return report, None
    check = await asyncio.to_thread(check_history, recorder.history())
    return report, check


def _print_churn(report: ChurnReport, check: CheckReport | None) -> None:
    from rich.table import Table

    from registry_tui.cli import output

    table = Table(title=f"Churn {report.run_id}: {report.operations:,} calls", title_style="bold")
    table.add_column("call")
    table.add_column("answer")
    table.add_column("count", justify="right")
    for (op, answer), count in sorted(report.answers.items()):
        table.add_row(op, answer, f"{count:,}")
    output.show(table)
    if check is not None:
        _print_check(check, "keys")
    output.diagnose(f"clean-up: {report.cleanup_summary()}", style="dim")


def _print_check(check: CheckReport, what: str) -> None:
    """The history check's verdict and, for the first violating keys, their excerpts."""
    from rich.text import Text

    from registry_tui.cli import output
    from registry_tui.proof import render_excerpt
    from registry_tui.safe_text import safe_text

    verdict = (
        f"history: {check.operations:,} operations on {len(check.keys):,} {what}: "
        f"{check.linearizable:,} linearizable, {check.violations:,} violating, "
        f"{check.unknown:,} undecided; {check.stale_reads:,} stale plain reads "
        f"(checked in {check.seconds:.2f} s)"
    )
    output.show(Text(verdict, style="bold red" if check.violations else "green"))
    width = max(40, output.stdout().width - 4)
    for key in check.violating()[:HISTORY_EXCERPTS_SHOWN]:
        if key.excerpt is not None:
            output.show(
                safe_text("\n".join(render_excerpt(key.excerpt, width)), keep_newlines=True)
            )
    hidden = check.violations - HISTORY_EXCERPTS_SHOWN
    if hidden > 0:
        output.show(Text(f"... and {hidden} more violating key(s) (--json lists them)"))


# ------------------------------------------------------------------------------------------
# The live view: all painting happens on the event loop's thread, every REPAINT_S.


async def _run_live(attack: Attack) -> AttackReport:
    import asyncio

    from rich.live import Live

    from registry_tui.cli import output

    board = _Board(attack)
    with Live(board.render(), console=output.stdout(), auto_refresh=False) as live:

        async def repaint() -> None:
            while True:
                await asyncio.sleep(REPAINT_S)
                live.update(board.render(), refresh=True)

        painter = asyncio.ensure_future(repaint())
        try:
            report = await attack.run(on_event=board.on_event)
        finally:
            painter.cancel()
        live.update(board.render(), refresh=True)
    return report


class _Board:
    """Folds the engine's events into two lanes (hero yellow, Doppel-9 red) and a progress bar."""

    def __init__(self, attack: Attack) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.attack = attack
        self.tally = attack.tally  # the engine keeps it current; we only read it
        self.heroes: deque[Text] = deque(maxlen=RECENT_LINES)
        self.clones: deque[Text] = deque(maxlen=RECENT_LINES)
        self.racing_since: float | None = None
        self.racing_until: float | None = None  # the rate stops counting when the audit starts
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
        )
        self.task = self.progress.add_task("starting", total=attack.plan.races)

    def on_event(self, event: RaceEvent) -> None:
        from rich.text import Text

        from registry_tui.race import (
            ContenderFinished,
            PhaseChanged,
            RaceStarted,
            SetupProgress,
        )

        if isinstance(event, ContenderFinished):
            lane = self.heroes if event.kind == "hero" else self.clones
            lane.append(_contender_line(event))
        elif isinstance(event, RaceStarted) and self.racing_since is None:
            self.racing_since = time.perf_counter()
        elif isinstance(event, PhaseChanged) and event.phase == "auditing":
            self.racing_until = time.perf_counter()
        elif isinstance(event, SetupProgress):
            from registry_tui.safe_text import safe_text

            line = Text(no_wrap=True, overflow="ellipsis")
            line.append_text(safe_text(event.username, "bold"))
            line.append("  holds its name: ")
            line.append_text(safe_text(event.hero.display_name, "yellow"))
            self.heroes.append(line)

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        t, plan = self.tally, self.attack.plan
        level = "SERIAL" if self.attack.serial == "global" else "LOCAL_SERIAL"
        split = " + ".join(self.attack.data_centres)
        guard = (
            f"IF NOT EXISTS at {level}" + (f" in {split}" if split else "")
            if plan.protected
            else "plain INSERT (control run)"
        )
        title = Text.assemble(
            ("RACE ", "bold"),
            (self.attack.run_id, "bold cyan"),
            f"  {plan.mode}  {plan.races} names x {plan.contenders_per_race} contenders, "
            f"{plan.concurrency} in flight  ",
            (guard, "bold green" if plan.protected else "bold red"),
        )

        heroes = Table.grid(padding=(0, 1))
        siege = plan.mode == "siege"
        heroes.add_row(
            Text.assemble(("holding ", "bold"), (str(t.setup_done), "green"))
            if siege  # the heroes do not race in a siege: they hold their names from the start
            else Text.assemble(
                ("won ", "bold"),
                (str(t.hero_won), "green"),
                ("   blocked ", "bold"),
                str(t.hero_blocked),
            )
        )
        for line in self.heroes:
            heroes.add_row(line)
        clones = Table.grid(padding=(0, 1))
        slipped_style = "bold red" if siege and t.clone_won else "green"
        clones.add_row(
            Text.assemble(
                ("blocked ", "bold"),
                (str(t.clone_blocked), "green"),
                ("   slipped through " if siege else "   won ", "bold"),
                (str(t.clone_won), slipped_style),
            )
        )
        for line in self.clones:
            clones.add_row(line)
        lanes = Table.grid(expand=True)
        lanes.add_column(ratio=1)
        lanes.add_column(ratio=1)
        lanes.add_row(
            Panel(heroes, title="[bold yellow]Heroes[/]", border_style="yellow"),
            Panel(clones, title="[bold red]Doppel-9[/]", border_style="red"),
        )

        until = self.racing_until or time.perf_counter()
        elapsed = until - self.racing_since if self.racing_since else 0.0
        rate = t.contenders_finished / elapsed if elapsed > 0 else 0.0
        counters = Text.assemble(
            f"attempts {t.contenders_finished}/{t.contenders_total}  {rate:,.0f}/s   ",
            ("timeouts ", "bold"),
            str(t.timeouts),
            ("   resolved by SERIAL read ", "bold"),
            str(t.resolved),
            ("   unknown ", "bold"),
            (str(t.unknown), "red" if t.unknown else ""),
            ("   audit violations ", "bold"),
            (str(t.violations), "bold red" if t.violations else "green"),
        )

        if t.phase == "setup":
            self.progress.update(
                self.task, description="heroes take their names", completed=t.setup_done
            )
        elif t.phase == "racing":
            self.progress.update(self.task, description="racing", completed=t.races_finished)
        elif t.phase == "cleanup":
            self.progress.update(self.task, description="removing what the race registered")
        else:
            self.progress.update(self.task, description="audit at SERIAL", completed=t.audit_done)
        return Group(title, lanes, counters, self.progress)


def _contender_line(event: ContenderFinished) -> Text:
    from rich.text import Text

    from registry_tui.safe_text import safe_text

    line = Text(no_wrap=True, overflow="ellipsis")
    # Who tried, so that two lines about one name never read the same.
    line.append("hero" if event.kind == "hero" else f"clone {event.contender}", style="bold")
    line.append("  ")
    line.append_text(safe_text(event.username, "bold"))
    style = {"won": "green", "blocked": "dim", "unknown": "bold red"}[event.outcome]
    line.append(f"  {event.outcome}", style=style)
    if event.resolved:
        line.append(" (SERIAL read)", style="cyan")
    line.append(f"  {event.latency_ms:.1f} ms", style="dim")
    winner = event.winner
    if event.outcome == "blocked" and winner is not None:
        line.append("  by ")
        who = winner.display_name if winner.kind is not None else str(winner.user_id)
        line.append_text(safe_text(who, "yellow" if winner.kind == "hero" else "red"))
    return line


# ------------------------------------------------------------------------------------------
# The summary


def _guarantee(report: AttackReport) -> str:
    level = "SERIAL" if report.serial == "global" else "LOCAL_SERIAL"
    where = f" across {' + '.join(report.dcs)}" if report.dcs else ""
    return f"{report.serial} ({level}){where}"


def _print_paxos(paxos: PaxosSummary) -> None:
    from registry_tui.cli import output

    output.emit_text(f"Paxos, one race in {paxos.every} traced (round trips per attempt):")
    for label, trips in (("winners", paxos.winners), ("losers", paxos.losers)):
        output.emit_text(
            f"  {label:<8} {trips.attempts:>5} traced  p50 {trips.p50:g}  max {trips.max}"
            f"  contended rounds {trips.contended_rounds}"
        )
    if paxos.unknown:
        output.emit_text(f"  unknown  {paxos.unknown:>5} traced")
    if paxos.incomplete:
        output.emit_text(f"  {paxos.incomplete} trace(s) incomplete (left out): see --json")


def _print_summary(report: AttackReport) -> None:
    from rich.panel import Panel
    from rich.table import Table

    from registry_tui.cli import output
    from registry_tui.race import VIOLATION_DETAILS_IN_JSON
    from registry_tui.safe_text import safe_text

    console = output.stdout()
    plan = report.plan
    table = Table(
        title=f"Race report {report.run_id}: {plan.mode}, "
        + ("protected (IF NOT EXISTS)" if plan.protected else "UNPROTECTED control run"),
        title_style="bold",
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    ok, bad = "green", "bold red"
    rows: list[tuple[str, str, str]] = [
        ("guarantee", _guarantee(report), ""),
        ("races (usernames)", str(report.races), ""),
        ("contenders raced", str(report.contenders), ""),
        ("told 'won'", str(report.winners), ok if report.winners == report.races else bad),
        ("  heroes / clones", f"{report.hero_wins} / {report.clone_wins}", ""),
        ("clones blocked", str(report.clones_blocked), ""),
        ("clones slipped", str(report.clones_slipped), bad if report.clones_slipped else ok),
        ("ambiguous, resolved by SERIAL read", str(report.unknown_resolved), ""),
        ("still unknown", str(report.unresolved), bad if report.unresolved else ok),
        *(
            [("  found holding its name at the audit", str(report.unknown_held), "yellow")]
            if report.unknown_held
            else []
        ),
        ("timeouts", str(report.timeouts), ""),
        ("identities overwritten", str(report.overwritten), bad if report.overwritten else ok),
        ("audit violations", str(len(report.violations)), bad if report.violations else ok),
        *(
            [("winners' profiles not written yet", str(report.profiles_unwritten), "yellow")]
            if report.profiles_unwritten
            else []
        ),
        ("attempts/s", f"{report.attempts_per_s:,.0f}", ""),
        ("clean-up after the audit", report.cleanup_summary(), ""),
        (
            "history check",
            report.history_summary(),
            bad if report.history is not None and report.history.violations else ok,
        ),
        (
            "latency p50 / p95 / p99",
            f"{report.latency.p50_ms:.1f} / {report.latency.p95_ms:.1f} / "
            f"{report.latency.p99_ms:.1f} ms",
            "",
        ),
    ]
    if plan.mode == "siege":
        rows.insert(
            6,
            ("hero rows changed", str(report.heroes_changed), bad if report.heroes_changed else ok),
        )
    for label, value, style in rows:
        table.add_row(label, value, style=style)
    console.print(table)
    if report.history is not None and report.history.violations:
        _print_check(report.history, "names")

    if report.violations:
        lines = safe_text("")
        for violation in report.violations[:VIOLATIONS_SHOWN]:
            lines.append_text(safe_text(violation.describe()))
            lines.append("\n")
        hidden = len(report.violations) - VIOLATIONS_SHOWN
        if hidden > 0:
            lines.append(
                f"... and {hidden} more (--json lists {VIOLATION_DETAILS_IN_JSON} of them)\n"
            )
        title = f"AUDIT: {len(report.violations)} VIOLATION(S)"
        if not plan.protected:
            title += (
                f" - without IF NOT EXISTS, {report.overwritten} acknowledged identities "
                "were silently overwritten"
            )
        console.print(Panel(lines, title=title, border_style="bold red", title_align="left"))
    else:
        console.print(
            f"[bold green]Audit clean:[/] every one of {report.races} names is held by the one "
            "contender told it won."
        )
