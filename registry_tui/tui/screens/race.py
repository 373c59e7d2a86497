"""The race panel (F3): heroes and Doppel-9 clones released at once on the same usernames,
watched live, then audited.

The attack is the engine's (`registry_tui.race`), the same one `registry race` runs: this screen
only chooses the plan, starts and stops it, and shows its events. They arrive by the thousand
per second, so the engine's sink only appends them to a buffer; a timer folds the buffer into a
`RaceFeed` and repaints every widget once per tick.

The app keeps one instance of this screen for the whole session (an installed screen outlives
being popped), so the attack's worker, its buffer and the last reports survive leaving the
panel: F2 to the users and F3 back finds the attack still running.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter, deque
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Button,
    ContentSwitcher,
    Footer,
    Input,
    ProgressBar,
    RichLog,
    Select,
    Sparkline,
    Static,
)
from textual.worker import Worker, WorkerState

from registry_tui.core.errors import one_line
from registry_tui.core.registry import Registry
from registry_tui.core.session import Database
from registry_tui.core.store import Connection
from registry_tui.core.validation import ValidationError
from registry_tui.proof import CheckReport, HistoryRecorder, check_history
from registry_tui.race import (
    Attack,
    AttackPlan,
    AttackReport,
    RaceEvent,
    across_data_centres,
    percentile,
)
from registry_tui.race.churn import Churn, ChurnPlan, ChurnReport
from registry_tui.safe_text import printable
from registry_tui.tui.calls import Failure, guarded
from registry_tui.tui.screens.base import ReportsFailures
from registry_tui.tui.screens.paxos import TRACE_RACES, TRACE_SAMPLE, PaxosScreen
from registry_tui.tui.text import DOPPEL, HERO, MUTED, OK
from registry_tui.tui.widgets.banner import Banner
from registry_tui.tui.widgets.race_feed import RaceFeed, RaceResult, fit, result_line
from registry_tui.tui.widgets.race_lanes import RaceLane
from registry_tui.tui.widgets.race_plan import SIZES, PlanForm, describe
from registry_tui.tui.widgets.race_report import RaceAudit, verdict

REPAINT_S = 0.1
LOG_MAX_LINES = 2000
LOG_LINES_PER_TICK = 200  # beyond this a tick writes the newest and says how many it skipped
ATTACK_GROUP = "race-attack"


@dataclass
class RepaintStats:
    """How long the UI spends folding and painting, per tick (the responsiveness test reads
    it; a person never sees it)."""

    ticks: int = 0
    events: int = 0
    busiest_events: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    def add(self, events: int, ms: float) -> None:
        self.ticks += 1
        self.events += events
        self.busiest_events = max(self.busiest_events, events)
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)


class RaceScreen(ReportsFailures, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s",
            "start",
            "Start",
            id="race.start",
            tooltip="Release the heroes and Doppel-9's clones on the plan above",
        ),
        Binding(
            "ctrl+x",
            "stop",
            "Stop",
            id="race.stop",
            tooltip="Stop: races in flight finish, what ran is audited and removed (unless "
            "keep); again: skip the audit, still remove; a third time: leave now and say what "
            "stays",
        ),
        Binding(
            "ctrl+j",
            "churn",
            "Churn",
            id="race.churn",
            tooltip="Jepsen's churn: 16 clients on 5 names and 5 e-mails for 10 s (register, "
            "read, delete, edit), every answer checked for linearizability",
        ),
        Binding(
            "ctrl+r",
            "switch_view",
            "Live/Audit",
            id="race.view",
            tooltip="Switch between the live lanes and the audit (protected beside control)",
        ),
        Binding(
            "enter",
            "paxos",
            "Paxos",
            id="race.paxos",
            tooltip="The traced names of the last attack: each attempt's Paxos rounds side by side",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="race.back",
            tooltip="Leave the panel; a running attack goes on (F3 comes back to it)",
        ),
    ]

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database
        self.feed = RaceFeed()
        self.plan: AttackPlan | None = AttackPlan()
        self.running = False
        self.stopping = False
        self.stop_presses = 0  # 1: stop after the audit and clean-up, 2: skip the audit, 3: now
        self._attack_running: Attack | None = None
        self._churn_running: Churn | None = None
        self.last_report: AttackReport | None = None
        # The last churn, while it is the newest run: the audit shows it, not the races.
        self.last_churn: tuple[ChurnReport, CheckReport | None] | None = None
        self.last_attack: Attack | None = None  # its traced attempts: enter shows them
        self.reports: dict[bool, AttackReport] = {}  # protected? -> the last report of that kind
        self.ended: str = ""  # how the last attack ended: "done", "stopped", "failed"
        self.stats = RepaintStats()
        self._buffer: deque[RaceEvent] = deque()
        self._worker: Worker[AttackReport | Failure] | None = None
        self._ticker: Timer | None = None
        self._audit_note: Text | None = None
        self._stale = False  # events folded since the last paint
        # A churn run (ctrl+j): its plan, its answers so far, when it started.
        self.churn_plan = ChurnPlan()
        self._churning = False
        self._churn_answers: Counter[str] = Counter()
        self._churn_since = 0.0
        self._running_guard = "global"

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Banner("Race")
        with Vertical(id="race-panel"):
            with Horizontal(id="race-controls"):
                yield PlanForm(id="race-plan")
                yield Button("Start", id="race-start", variant="warning", compact=True)
                yield Button("Stop", id="race-stop", variant="error", compact=True, disabled=True)
            yield Static(id="race-plan-line")
            with Horizontal(id="race-progress-row"):
                yield Static(id="race-phase")
                yield ProgressBar(total=1, show_eta=False, id="race-progress")
                yield Static(id="race-rate")
            yield Static(id="race-counters")
            with Horizontal(id="race-latency-row"):
                yield Static("latency", id="race-latency-label", markup=False)
                yield Sparkline([], summary_function=max, id="race-sparkline")
                yield Static(id="race-latency")
            with ContentSwitcher(initial="race-live", id="race-views"):
                with Vertical(id="race-live"):
                    with Horizontal(id="race-lanes"):
                        yield RaceLane(
                            Text("IF NOT EXISTS · Heroes", HERO),
                            "Heroes land here.",
                            id="race-lane-heroes",
                            classes="race-lane",
                        )
                        yield RaceLane(
                            Text("Doppel-9 attack", DOPPEL),
                            "Doppel-9's clones land here.",
                            id="race-lane-doppel",
                            classes="race-lane",
                        )
                    yield RichLog(
                        max_lines=LOG_MAX_LINES,
                        min_width=20,
                        markup=False,
                        wrap=True,  # notes wrap; a result line is cut (no_wrap) instead
                        id="race-log",
                    )
                yield RaceAudit(id="race-audit")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#race-log", RichLog).border_title = Text("Results per username")
        self.query_one("#race-audit", RaceAudit).border_title = Text("Audit")
        why = self._offer_guards()

        def hints() -> None:  # once laid out: wrapped at the log's own width
            intro = "Each race: one hero, K Doppel-9 clones, one username, one instant."
            self._note_in_log(Text(intro, MUTED))
            self._note_in_log(Text("Choose the plan above, then ctrl+s.", MUTED))
            if why:
                self._note_in_log(Text(why, MUTED))

        self.call_after_refresh(hints)
        self._ticker = self.set_interval(REPAINT_S, self._repaint, pause=True)
        self._show_plan(*self.query_one(PlanForm).read())
        self._paint()
        # Never open on Start: an Enter meant for something else would start a race. The
        # first field of the plan; Enter there opens its list.
        self.query_one("#race-mode", Select).focus()

    def _offer_guards(self) -> str:
        """Offer the guards the connected cluster can run; why any other is absent."""
        form = self.query_one(PlanForm)
        if not self.database.connected:
            form.offer(form.data_centres)
            return ""  # nothing known of the cluster yet: nothing to explain
        return form.offer(self.database.registry.connection.data_centres())

    def on_resize(self) -> None:
        # The plan line and the counters wrap to the new width (each part kept whole).
        self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        if not self.running:
            self._show_plan(*self.query_one(PlanForm).read())
        else:
            self._show_running_plan()
        self._paint()

    # ---------------------------------------------------------------- the plan

    @on(PlanForm.Changed)
    def _plan_changed(self, message: PlanForm.Changed) -> None:
        self._show_plan(message.plan, message.errors)

    def _show_plan(self, plan: AttackPlan | None, errors: tuple[ValidationError, ...]) -> None:
        self.plan = plan
        if self.running:
            return  # the plan line describes the running attack
        line = self.query_one("#race-plan-line", Static)
        line.set_class(bool(errors), "-error")
        if plan is not None:
            form = self.query_one(PlanForm)
            line.update(describe(plan, form.guarantee, form.data_centres, line.size.width))
            if not self.feed.run_id:
                self._paint()  # "attempts 0/N" follows the plan until a run starts
            return
        letters = {size.option: size.letter for size in SIZES}
        text = Text(no_wrap=True, overflow="ellipsis")
        for error in errors:
            if text:
                text.append(" · ")
            text.append(f"{letters.get(error.field, error.field)}: ", "bold")
            text.append(printable(error.message))
        line.update(text)

    # ---------------------------------------------------------------- start / stop

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("start", "churn"):
            return True if not self.running else None
        if action == "stop":
            return True if self.running and self.stop_presses < 3 else None
        return True

    @on(Button.Pressed, "#race-start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#race-stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    @on(Input.Submitted)
    def _enter_in_a_size(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        if self.running:
            self.notify("An attack is already running (ctrl+x stops it).", markup=False)
            return
        form = self.query_one(PlanForm)
        plan, errors = form.read()
        self._show_plan(plan, errors)
        if plan is None:
            field = form.field_for(errors[0]) if errors else None
            if field is not None:
                field.focus()
            self.notify(
                "Fix the plan first; nothing was started.", severity="warning", markup=False
            )
            return
        if not self.database.connected:
            self.notify("Not connected yet.", severity="warning", markup=False)
            return
        self.feed.reset(plan)
        self.last_churn = None
        self._buffer.clear()
        self.stats = RepaintStats()
        self.running, self.stopping, self.ended = True, False, ""
        self.stop_presses = 0
        self._audit_note = None
        self.query_one("#race-log", RichLog).clear()
        for lane in self.query(RaceLane):
            lane.clear()
        guard = self.query_one(PlanForm).guarantee
        self._running_guard = guard
        # The hero lane names the write the heroes race with: the control run has no guard.
        self.query_one("#race-lane-heroes", RaceLane).border_title = (
            Text("plain INSERT · Heroes", DOPPEL)
            if not plan.protected
            else Text("LOCAL_SERIAL · Heroes", HERO)
            if guard == "local-dcs"
            else Text("IF NOT EXISTS · Heroes", HERO)
        )
        self._set_controls()
        self.query_one("#race-views", ContentSwitcher).current = "race-live"
        self._show_running_plan()
        self._paint()
        assert self._ticker is not None
        self._ticker.resume()
        self._worker = self._attack(plan, guard)

    def _show_running_plan(self) -> None:
        """The plan line while a run goes on: the run's, whatever the form says meanwhile."""
        line = self.query_one("#race-plan-line", Static)
        if self._churning:
            plan = self.churn_plan
            line.update(
                Text(f"churn · {plan.clients} clients · {plan.seconds:g} s · {plan.mix} mix", HERO)
            )
        elif self.feed.plan is not None:
            dcs = self.query_one(PlanForm).data_centres
            line.update(describe(self.feed.plan, self._running_guard, dcs, line.size.width))

    # ---------------------------------------------------------------- churn

    def action_churn(self) -> None:
        if self.running:
            self.notify("A run is already going (ctrl+x stops it).", markup=False)
            return
        if not self.database.connected:
            self.notify("Not connected yet.", severity="warning", markup=False)
            return
        plan = self.churn_plan
        self.running, self.stopping, self.ended = True, False, ""
        self.stop_presses = 0
        self._churning = True
        self._churn_answers = Counter()
        self._churn_since = time.monotonic()
        self._audit_note = None
        self.query_one("#race-log", RichLog).clear()
        self._note_in_log(
            Text(
                f"Churn: {plan.clients} clients on {plan.names} names and {plan.emails} e-mails "
                f"(mixed case) for {plan.seconds:g} s: register, SERIAL reads, delete by "
                "identity, edits IF version = n. Every call is recorded, then every key's "
                "history is checked.",
                MUTED,
            )
        )
        self._set_controls()
        self.query_one("#race-views", ContentSwitcher).current = "race-live"
        self._show_running_plan()
        assert self._ticker is not None
        self._ticker.resume()
        self._worker = self._churn(plan, self.query_one(PlanForm).guarantee)  # type: ignore[assignment]

    @work(group=ATTACK_GROUP, exclusive=True, exit_on_error=False)
    async def _churn(
        self, plan: ChurnPlan, guarantee: str
    ) -> tuple[ChurnReport, CheckReport | None] | Failure:
        return await guarded(self._run_churn(plan, guarantee))

    async def _run_churn(
        self, plan: ChurnPlan, guarantee: str
    ) -> tuple[ChurnReport, CheckReport | None]:
        connection = self.database.registry.connection
        recorder = HistoryRecorder()

        def answered(op: str, answer: str) -> None:
            self._churn_answers[f"{op} {answer}"] += 1

        if guarantee == "local-dcs" or len(connection.data_centres()) > 1:
            serial = "local" if guarantee == "local-dcs" else "global"
            async with across_data_centres(connection, serial=serial) as across:
                registries = [across[0][1], across[1][1]]
                churn = Churn(registries, plan, recorder, on_answer=answered)
                self._churn_running = churn
                report = await churn.run()
        else:
            churn = Churn([Registry(connection)], plan, recorder, on_answer=answered)
            self._churn_running = churn
            report = await churn.run()
        if churn.audit_skipped:
            return report, None
        check = await asyncio.to_thread(check_history, recorder.history())
        return report, check

    def _churn_finished(self, report: ChurnReport, check: CheckReport | None) -> None:
        note = None
        if report.stopped or check is None:
            checked = "history checked" if check is not None else "history not checked"
            note = Text.assemble(
                ("Stopped", "bold"),
                f" churn {report.run_id} after {report.elapsed_s:.1f} of "
                f"{report.plan.seconds:g} s ({checked}); clean-up: {report.cleanup_summary()}.",
            )
        self._churning = False
        self.last_churn = (report, check)
        self.query_one("#race-views", ContentSwitcher).current = "race-audit"
        self._ended("stopped" if note is not None else "done", note)

    def _paint_churn(self) -> None:
        plan, answers = self.churn_plan, self._churn_answers
        elapsed = min(time.monotonic() - self._churn_since, plan.seconds)
        if self.last_churn is not None and not self._churning:
            elapsed = self.last_churn[0].elapsed_s  # the churn's own clock, once it ended
        what = "stopping…" if self.stopping else "churning"
        if elapsed >= plan.seconds and not self.stopping:
            what = "clean-up, check…"
        if not self.running:
            what = self.ended or "done"
        self.query_one("#race-phase", Static).update(Text(what, "bold"))
        self.query_one("#race-progress", ProgressBar).update(total=plan.seconds, progress=elapsed)
        calls = sum(answers.values())
        self.query_one("#race-rate", Static).update(
            Text(f"{calls / max(elapsed, 0.1):,.0f}/s", MUTED)
        )
        # What the calls were answered (reads and calls that found nobody are in "calls" only).
        groups = (
            ("register", ("Registered", "UsernameTaken", "EmailTaken")),
            ("delete", ("Deleted",)),
            ("edit", ("Updated", "VersionConflict")),
        )
        op_of = {"edit": "update"}
        parts = [Text.assemble(("calls ", MUTED), (f"{calls:,}", "bold"))]
        for label, kinds in groups:
            part = Text(f"{label}: ", MUTED)
            for index, kind in enumerate(kinds):
                if index:
                    part.append(" ", MUTED)
                part.append(f"{kind} ", MUTED)
                part.append(f"{answers[f'{op_of.get(label, label)} {kind}']:,}", "bold")
            parts.append(part)
        unknown = sum(n for k, n in answers.items() if k.endswith(" Unknown"))
        shown_unknown = (f"{unknown:,}", DOPPEL if unknown else OK)
        parts.append(Text.assemble(("unknown ", MUTED), shown_unknown))
        counters = self.query_one("#race-counters", Static)
        counters.update(fit(parts, counters.size.width))

    @work(group=ATTACK_GROUP, exclusive=True, exit_on_error=False)
    async def _attack(self, plan: AttackPlan, guarantee: str) -> AttackReport | Failure:
        connection = self.database.registry.connection
        if plan.protected and (guarantee == "local-dcs" or len(connection.data_centres()) > 1):
            serial = "local" if guarantee == "local-dcs" else "global"
            return await guarded(self._across(connection, plan, serial))
        return await guarded(
            self._run(Attack(connection, plan, trace_sample=TRACE_SAMPLE, trace_races=TRACE_RACES))
        )

    async def _across(self, connection: Connection, plan: AttackPlan, serial: str) -> AttackReport:
        async with across_data_centres(connection, serial=serial) as across:
            attack = Attack(
                connection, plan, across=across, trace_sample=TRACE_SAMPLE, trace_races=TRACE_RACES
            )
            return await self._run(attack)

    async def _run(self, attack: Attack) -> AttackReport:
        # The engine's sink runs on this loop, synchronously, thousands of times a second:
        # it only appends. Cancelling this worker cancels the attack (the engine cleans up).
        # The app's and the driver's long-lived objects (100k+) sit out the attack. Without
        # this the collector's full passes over them stall this loop - keys, repaints and the
        # attack itself - for 100-400 ms each (10,000 attempts on a busy two-core machine:
        # 36 passes, 6.6 s of a 24 s attack; frozen, 2.4 s of 12 s). Unfrozen at the end, so
        # nothing is kept for good.
        gc.freeze()
        self._attack_running = self.last_attack = attack
        try:
            return await attack.run(on_event=self._buffer.append)
        finally:
            gc.unfreeze()

    def action_paxos(self) -> None:
        attack = self.last_attack
        traced = attack.traced if attack is not None else []
        self.app.push_screen(PaxosScreen(traced, attack.paxos if attack is not None else None))

    def action_stop(self) -> None:
        """First press: the attack stops as it ends (in-flight races finish, audit, clean-up);
        second: no audit, the clean-up still runs; third: leave now, saying what stays."""
        if not self.running or self._worker is None or self.stop_presses >= 3:
            return
        self.stop_presses += 1
        self.stopping = True
        attack = self._attack_running
        keeps = self.feed.plan is not None and (self.feed.plan.keep or not self.feed.plan.protected)
        if self._churning:
            self._stop_churn()
        elif attack is None or self.stop_presses == 3:
            self.stop_presses = 3
            self._worker.cancel()
        elif self.stop_presses == 1:
            attack.stop()
            then = "nothing is removed (keep)" if keeps else "what ran is removed"
            self.feed.note(
                Text(
                    f"Stopping: races in flight finish, what ran is audited, then {then}. "
                    "ctrl+x again skips the audit.",
                    MUTED,
                )
            )
        else:
            attack.stop(skip_audit=True)
            self.feed.note(
                Text(
                    "Skipping the audit"
                    + ("" if keeps else "; still removing what the race registered")
                    + ". ctrl+x again leaves now.",
                    MUTED,
                )
            )
        self._stale = True
        self._set_controls()
        self._paint()

    def _stop_churn(self) -> None:
        """As an attack's stop: calls in flight finish, then the clean-up and the history
        check; again: no check, the clean-up still runs; a third time: leave now."""
        assert self._worker is not None
        churn = self._churn_running
        if churn is None or self.stop_presses >= 3:
            self.stop_presses = 3
            self._worker.cancel()
            return
        if self.stop_presses == 1:
            churn.stop()
            keep = churn.plan.keep
            then = "nothing is removed (keep)" if keep else "what it registered is removed"
            self._note_in_log(
                Text(
                    f"Stopping: calls in flight finish, then {then} and the history so far is "
                    "checked. ctrl+x again skips the check.",
                    MUTED,
                )
            )
        else:
            churn.stop(skip_audit=True)
            self._note_in_log(
                Text(
                    "Skipping the history check"
                    + ("" if churn.plan.keep else "; still removing what the churn registered")
                    + f". ctrl+x again leaves now: {churn.left_behind()}.",
                    MUTED,
                )
            )

    def _left_behind(self) -> str:
        """What a run cancelled outright leaves, and how to remove it."""
        churn, attack = self._churn_running, self._attack_running
        if churn is not None and self._churning:
            return churn.left_behind() + "."
        if attack is None:
            return "nothing was registered."
        if attack.plan.keep or not attack.plan.protected:
            return "nothing to remove (keep, or the control run's scratch table)."
        return (
            f"names {attack.username_prefix}* may stay registered: "
            f"`registry race --cleanup {attack.run_id}` removes them."
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker is not self._worker or not event.worker.is_finished:
            return
        self._worker = None
        self._repaint()  # whatever the engine emitted before it ended
        outcome = event.worker.result if event.state is WorkerState.SUCCESS else None
        if isinstance(outcome, AttackReport):
            self._finished(outcome)
        elif isinstance(outcome, tuple):
            self._churn_finished(*outcome)
        elif self._churning:
            self._churning = False
            if isinstance(outcome, Failure):
                self.report_failure(outcome, "finish the churn")
                detail = f"{outcome.message}; ended before its clean-up: {self._left_behind()}"
            elif event.state is WorkerState.CANCELLED:
                detail = "stopped; " + self._left_behind()
            else:
                error = event.worker.error
                detail = one_line(error) if error is not None else "the churn ended unexpectedly"
            self._ended("stopped", Text(f"Churn: {printable(detail)}", DOPPEL))
        elif isinstance(outcome, Failure):
            self.report_failure(outcome, "finish the attack")
            detail = f"{outcome.message}; ended before its clean-up: {self._left_behind()}"
            self._ended("failed", Text(f"Attack failed: {printable(detail)}", DOPPEL))
        elif event.state is WorkerState.CANCELLED:
            t = self.feed.tally
            self._ended(
                "stopped",
                Text.assemble(
                    ("Stopped", "bold"),
                    f" after {t.races_finished:,} of {t.races_total:,} races and "
                    f"{t.contenders_finished:,} attempts, without audit or clean-up: "
                    + self._left_behind(),
                ),
            )
        else:
            error = event.worker.error
            detail = one_line(error) if error is not None else "the attack ended unexpectedly"
            self._ended("failed", Text(f"Attack failed: {printable(detail)}", DOPPEL))

    def _finished(self, report: AttackReport) -> None:
        self.last_report = report
        self.reports[report.protected] = report
        self.feed.note(verdict(report))
        self.query_one("#race-views", ContentSwitcher).current = "race-audit"
        if report.stopped_after is not None:
            audit = "audited" if report.audited else "not audited"
            self._ended(
                "stopped",
                Text.assemble(
                    ("Stopped", "bold"),
                    f" after {report.stopped_after:,} of {report.plan.races:,} races ({audit}); "
                    f"clean-up: {report.cleanup_summary()}.",
                ),
            )
            return
        self._ended("done", None)

    def _ended(self, how: str, note: Text | None) -> None:
        self.running = self.stopping = False
        self._attack_running = self._churn_running = None
        self.ended = how
        self.feed.stop_clock()
        if self._ticker is not None:
            self._ticker.pause()
        self._audit_note = note
        if note is not None:
            self.feed.note(note)
        self._paint()
        self._show_audit()
        self._set_controls()
        self._show_plan(*self.query_one(PlanForm).read())
        # Never on Start after a run: an Enter meant for something else would race again.
        shown = self.query_one("#race-views", ContentSwitcher).current
        self.query_one("#race-audit" if shown == "race-audit" else "#race-log").focus()

    def _set_controls(self) -> None:
        self.query_one(PlanForm).disabled = self.running
        self.query_one("#race-start", Button).disabled = self.running
        stop = self.query_one("#race-stop", Button)
        stop.disabled = not self.running or self.stop_presses >= 3
        if self.running and not self.stopping:
            stop.focus()
        self.refresh_bindings()

    # ---------------------------------------------------------------- views

    def action_switch_view(self) -> None:
        switcher = self.query_one("#race-views", ContentSwitcher)
        switcher.current = "race-audit" if switcher.current == "race-live" else "race-live"
        # Lanes fill to their height, which they only know once laid out again.
        self.call_after_refresh(self._paint)

    def action_back(self) -> None:
        self.dismiss()

    def _show_audit(self) -> None:
        audit = self.query_one("#race-audit", RaceAudit)
        if self.last_churn is not None:
            audit.show_churn(*self.last_churn, self._audit_note)
            return
        audit.show(
            self.last_report, self.reports.get(True), self.reports.get(False), self._audit_note
        )

    # ---------------------------------------------------------------- the repaint

    def _repaint(self) -> None:
        """One tick: fold every buffered event, then paint every widget once. While the
        panel is out of sight (the person looks at the users) only the folding happens."""
        if self._churning:  # no events: the churn's counters and clock, every tick
            if self.is_current:
                self._paint()
            return
        started = time.perf_counter()
        count = len(self._buffer)
        if count:
            buffer, apply = self._buffer, self.feed.apply
            for _ in range(count):
                apply(buffer.popleft())
            self._stale = True
        if self._stale and self.is_current:
            self._paint()
        self.stats.add(count, (time.perf_counter() - started) * 1000)

    def on_screen_resume(self) -> None:
        if not self.running:
            self._offer_guards()  # connected since, or to another cluster
        if self._stale:
            self._paint()

    def _paint(self) -> None:
        self._stale = False
        if self._churning or self.last_churn is not None:
            self._paint_churn()
            self._write_log()
            return
        feed, tally = self.feed, self.feed.tally
        plan = feed.plan or self.plan
        protected = plan.protected if plan is not None else True
        counters = feed.counters
        if plan is not None and not feed.run_id:  # before the first run: the plan's size
            counters = replace(counters, attempts_total=plan.contenders)
        shown = self.query_one("#race-counters", Static)
        shown.update(counters.render(shown.size.width, protected=protected))

        what, done, total = feed.progress()
        phase = self.query_one("#race-phase", Static)
        if self.stopping:
            what = "stopping…"
        elif self.running and not feed.run_id:  # nothing from the engine yet
            what = "starting…"
        elif not self.running:
            what = {"done": "done", "stopped": "stopped", "failed": "failed"}.get(
                self.ended, "ready"
            )
            if not self.ended:
                done, total = 0, 1
        phase.update(Text(what, DOPPEL if what in ("failed", "stopped") else "bold"))
        self.query_one("#race-progress", ProgressBar).update(total=max(total, 1), progress=done)
        rate = self.query_one("#race-rate", Static)
        rate.update(Text(f"{feed.attempts_per_s:,.0f}/s", MUTED) if feed.racing_since else Text(""))

        latencies = list(feed.latencies)
        self.query_one("#race-sparkline", Sparkline).data = latencies
        summary = Text(no_wrap=True)
        if latencies:
            ordered = sorted(latencies)
            # The window behind the sparkline, not the whole run (the audit has that).
            p50, worst = percentile(ordered, 50), ordered[-1]
            summary.append(f"recent p50 {p50:.0f} · max {worst:.0f} ms", MUTED)
        self.query_one("#race-latency", Static).update(summary)

        siege = plan is not None and plan.mode == "siege"
        prefix = feed.username_prefix
        self.query_one("#race-lane-heroes", RaceLane).show(
            feed.heroes,
            Text(f" holding {tally.setup_done:,} ", HERO)
            if siege
            else Text(f" won {tally.hero_won:,} · blocked {tally.hero_blocked:,} ", HERO),
            prefix,
        )
        self.query_one("#race-lane-doppel", RaceLane).show(
            feed.clones,
            Text.assemble(
                (f" blocked {tally.clone_blocked:,} · ", OK),
                # A clone's land-grab win is fair; in a siege it is a slip.
                (f"slipped {tally.clone_won:,} ", DOPPEL if tally.clone_won else OK)
                if siege
                else (f"won {tally.clone_won:,} ", "bold"),
            ),
            prefix,
        )
        self._write_log()

    def _log_width(self) -> int:
        """The results log's width, also while it is hidden behind the audit."""
        log = self.query_one("#race-log", RichLog)
        return log.scrollable_content_region.width or max(20, self.size.width - 5)

    def _note_in_log(self, text: Text) -> None:
        """A note of the panel's own in the results log, wrapped at the log's width."""
        self.query_one("#race-log", RichLog).write(text, width=self._log_width())

    def _write_log(self) -> None:
        items, skipped = self.feed.take_log()
        if len(items) > LOG_LINES_PER_TICK:
            skipped += len(items) - LOG_LINES_PER_TICK
            items = items[-LOG_LINES_PER_TICK:]
        log = self.query_one("#race-log", RichLog)
        if skipped:
            items.insert(0, Text(f"… {skipped:,} results not shown (see the counters)", MUTED))
        plan = self.feed.plan
        # Cut every line at the log's width (the default measures against the console's).
        width = self._log_width()
        for item in items:
            if isinstance(item, RaceResult):
                line = result_line(item, plan)
                line.no_wrap, line.overflow = True, "ellipsis"
            else:  # a note (how a run ended, what it left): wrapped, never cut
                line = item
            log.write(line, width=width)
