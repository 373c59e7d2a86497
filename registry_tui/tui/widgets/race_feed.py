"""The race panel's view of a running attack: the engine's events folded into what the panel
shows, bounded however long the attack runs.

No Textual here (rich only). The screen appends events to a buffer as the engine emits them and
hands them to `RaceFeed.apply` in batches from a timer; widgets then read the feed. Only the
newest lines are kept: a 100 000-race attack holds as much memory as a ten-race one.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from rich.text import Text

from registry_tui.race import (
    AttackFinished,
    AttackPlan,
    AttackReport,
    AttackStarted,
    ContenderFinished,
    LiveTally,
    PhaseChanged,
    RaceEvent,
    RaceFinished,
    RaceStarted,
    SetupProgress,
    contender_label,
)
from registry_tui.safe_text import safe_text
from registry_tui.tui.text import DOPPEL, HERO, MUTED, OK

LANE_KEEP = 64  # newest contender lines kept per lane (a lane shows as many as fit)
LATENCY_KEEP = 240  # newest latencies behind the sparkline and its percentiles
LOG_PENDING_MAX = 400  # results waiting for the next repaint; beyond it the oldest are skipped

PHASE_WORDS = {
    "setup": "heroes take names",
    "racing": "racing",
    "auditing": "audit at SERIAL",
    "cleanup": "removing what the race registered",
    "done": "done",
}


@dataclass(frozen=True)
class Counters:
    """The panel's counters; at the end they equal the report's (`Counters.of_report`).

    Every attempt is counted once: attempts = won + blocked + unknown. In a siege the
    attempts are the clones' (a clone's win is a slip past a hero), and the heroes that took
    their names at setup are counted apart, as `held`."""

    attempts: int
    attempts_total: int
    won: int  # attempts told "won" (siege: clones that slipped past a hero)
    blocked: int
    unknown: int  # still unknown after the SERIAL read
    resolved: int  # ambiguous attempts a SERIAL read decided
    timeouts: int
    violations: int
    siege: bool = False
    held: int = 0  # siege: heroes holding their names since setup

    @property
    def slipped(self) -> int:
        return self.won if self.siege else 0

    @classmethod
    def of(cls, tally: LiveTally) -> Counters:
        siege = tally.plan is not None and tally.plan.mode == "siege"
        return cls(
            attempts=tally.contenders_finished,
            attempts_total=tally.contenders_total,
            won=tally.hero_won + tally.clone_won,
            blocked=tally.hero_blocked + tally.clone_blocked,
            unknown=tally.unknown,
            resolved=tally.resolved,
            timeouts=tally.timeouts,
            violations=tally.violations,
            siege=siege,
            held=tally.setup_done if siege else 0,
        )

    @classmethod
    def of_report(cls, report: AttackReport) -> Counters:
        siege = report.mode == "siege"
        return cls(
            attempts=report.contenders,
            attempts_total=report.plan.contenders,
            won=report.clone_wins if siege else report.winners,
            blocked=report.heroes_blocked + report.clones_blocked,
            unknown=report.unresolved,
            resolved=report.unknown_resolved,
            timeouts=report.timeouts,
            violations=len(report.violations),
            siege=siege,
            held=report.hero_wins if siege else 0,
        )

    def parts(self, *, protected: bool = True) -> list[Text]:
        """The counters in groups that are never cut apart: what the attempts came to, the
        siege's heroes, the timeouts and what resolved them, the audit's violations."""
        bad = DOPPEL
        # In a control run every contender is "won": that many winners is the point, in red.
        won_style = OK if protected or not self.attempts else bad
        if self.siege:
            won_style = bad if self.won else OK
        what = "clone attempts" if self.siege else "attempts"
        outcome = Text(no_wrap=True)
        outcome.append(f"{what} ", MUTED)
        outcome.append(f"{self.attempts:,}/{self.attempts_total:,}", "bold")
        outcome.append(" = ", MUTED)
        for index, (label, value, style) in enumerate(
            (
                ("slipped" if self.siege else "won", self.won, won_style),
                ("blocked", self.blocked, "bold"),
                ("unknown", self.unknown, bad if self.unknown else OK),
            )
        ):
            if index:
                outcome.append(" + ", MUTED)
            outcome.append(f"{label} ", MUTED)
            outcome.append(f"{value:,}", style)
        parts = [outcome]
        if self.siege:
            parts.append(Text.assemble(("heroes holding ", MUTED), (f"{self.held:,}", HERO)))
        parts.append(
            Text.assemble(
                ("timeouts ", MUTED),
                (f"{self.timeouts:,}", "bold"),
                (" (", MUTED),
                (f"{self.resolved:,}", "bold"),
                (" resolved by SERIAL read)", MUTED),
            )
        )
        parts.append(
            Text.assemble(
                ("violations ", MUTED), (f"{self.violations:,}", bad if self.violations else OK)
            )
        )
        return parts

    def render(self, width: int = 0, *, protected: bool = True) -> Text:
        """One line, or as many as `width` needs, never cutting a group (0: one line)."""
        return fit(self.parts(protected=protected), width)


def fit(parts: list[Text], width: int, gap: str = "  ·  ") -> Text:
    """`parts` on one line when it is `width` wide or more (or `width` is 0), else on as
    many lines as needed, each part whole where it fits."""
    out = Text(no_wrap=True, overflow="ellipsis")
    used = 0
    for part in parts:
        if used and width and used + len(gap) + part.cell_len > width:
            out.append("\n")
            used = 0
        elif used:
            out.append(gap, MUTED)
            used += len(gap)
        out.append_text(part)
        used += part.cell_len
    return out


@dataclass(frozen=True)
class RaceResult:
    """One username's race once it is over, with the contenders told they won it."""

    finished: RaceFinished
    winners: tuple[ContenderFinished, ...]


LogItem = RaceResult | Text


class RaceFeed:
    """Everything the panel shows about the current (or last) attack."""

    def __init__(self) -> None:
        self.reset()

    def reset(self, plan: AttackPlan | None = None) -> None:
        self.tally = LiveTally(plan=plan)
        self.plan = plan
        self.run_id = ""
        self.username_prefix = ""
        self.table = ""
        self.report: AttackReport | None = None
        self.heroes: deque[ContenderFinished | SetupProgress] = deque(maxlen=LANE_KEEP)
        self.clones: deque[ContenderFinished] = deque(maxlen=LANE_KEEP)
        self.latencies: deque[float] = deque(maxlen=LATENCY_KEEP)
        self._log: deque[LogItem] = deque(maxlen=LOG_PENDING_MAX)
        self._log_skipped = 0
        self._won_in_flight: dict[int, list[ContenderFinished]] = {}
        self.racing_since: float | None = None
        self.racing_until: float | None = None

    # ---------------------------------------------------------------- folding

    def apply(self, event: RaceEvent) -> None:
        self.tally.apply(event)
        if isinstance(event, ContenderFinished):
            (self.heroes if event.kind == "hero" else self.clones).append(event)
            self.latencies.append(event.latency_ms)
            if event.outcome == "won":
                self._won_in_flight.setdefault(event.race, []).append(event)
        elif isinstance(event, RaceFinished):
            winners = tuple(self._won_in_flight.pop(event.race, ()))
            self._note(RaceResult(event, winners))
        elif isinstance(event, RaceStarted):
            if self.racing_since is None:
                self.racing_since = time.perf_counter()
        elif isinstance(event, SetupProgress):
            self.heroes.append(event)
        elif isinstance(event, PhaseChanged):
            if event.phase == "auditing":
                self.racing_until = time.perf_counter()
            self._note(Text(f"— {PHASE_WORDS[event.phase]} —", MUTED))
        elif isinstance(event, AttackStarted):
            self.plan = event.plan
            self.run_id = event.run_id
            self.username_prefix = event.username_prefix
            self.table = event.table
            first = "heroes take their names" if event.plan.mode == "siege" else "racing"
            self._note(
                Text.assemble(
                    ("— run ", MUTED),
                    (event.run_id, "bold"),
                    (f" on {event.table}: {first} —", MUTED),
                )
            )
        elif isinstance(event, AttackFinished):
            self.report = event.report

    def _note(self, item: LogItem) -> None:
        if len(self._log) == self._log.maxlen:
            self._log_skipped += 1  # the screen fell behind: the oldest pending line goes
        self._log.append(item)

    def stop_clock(self) -> None:
        """The attack ended (or was stopped) before its audit: the rate stops counting."""
        if self.racing_since is not None and self.racing_until is None:
            self.racing_until = time.perf_counter()

    def note(self, text: Text) -> None:
        """A line of the panel's own (stopped, failed…) in the results log."""
        self._note(text)

    def take_log(self) -> tuple[list[LogItem], int]:
        """The log lines since the last call, and how many were skipped to stay bounded."""
        items, skipped = list(self._log), self._log_skipped
        self._log.clear()
        self._log_skipped = 0
        return items, skipped

    # ---------------------------------------------------------------- reading

    @property
    def counters(self) -> Counters:
        return Counters.of(self.tally)

    @property
    def attempts_per_s(self) -> float:
        if self.report is not None:  # the engine's own clock, once it has reported
            return self.report.attempts_per_s
        # Live, an estimate: events are timed when a repaint folds them (within ~100 ms).
        if self.racing_since is None:
            return 0.0
        until = self.racing_until or time.perf_counter()
        elapsed = until - self.racing_since
        return self.tally.contenders_finished / elapsed if elapsed > 0 else 0.0

    def progress(self) -> tuple[str, int, int]:
        """(what is progressing, done, total) for the progress bar."""
        t = self.tally
        total = t.races_total
        if t.phase == "setup":
            return "heroes take names", t.setup_done, total
        if t.phase == "racing":
            return "racing", t.races_finished, total
        if t.phase == "auditing":
            return "audit at SERIAL", t.audit_done, total
        if t.phase == "cleanup":
            return "removing what the race registered", total, total
        return "done", total, total


# ------------------------------------------------------------------------------------------
# Lines. Usernames and display names come from the database: safe_text only.


def lane_line(event: ContenderFinished | SetupProgress, prefix: str = "") -> Text:
    """One contender in its lane: outcome, who it is, the name (without `prefix`, the run's
    part every name shares, when the lane is narrow), who holds it, then the latency, so a
    narrow lane cuts only the least useful part."""
    line = Text(no_wrap=True, overflow="ellipsis")
    name = event.username
    if prefix and name.startswith(prefix) and len(name) > len(prefix):
        name = "…" + name[len(prefix) :]
    if isinstance(event, SetupProgress):
        line.append("holds   ", OK)
        line.append_text(safe_text(name, "bold"))
        line.append(" (setup)", MUTED)
        return line
    style = {"won": OK, "blocked": MUTED, "unknown": DOPPEL}[event.outcome]
    line.append(f"{event.outcome:<8}", style)
    if event.kind == "clone":  # the hero lane holds only heroes: no need to say so
        line.append(f"{contender_label(event.contender)} ", DOPPEL)
    line.append_text(safe_text(name, "bold"))
    winner = event.winner
    if event.outcome == "blocked" and winner is not None:
        line.append(" by ")
        if winner.kind is None or winner.contender is None:
            line.append(str(winner.user_id), DOPPEL)
        else:
            who = contender_label(winner.contender)
            line.append(who, HERO if winner.kind == "hero" else DOPPEL)
    if event.resolved:
        line.append(" SERIAL", "bold")
    line.append(f" {event.latency_ms:.0f} ms", MUTED)
    if event.dc:  # across data centres: where the attempt was coordinated
        line.append(f" {event.dc}", MUTED)
    if event.note:
        line.append("  ")
        line.append_text(safe_text(event.note, MUTED))
    return line


def result_line(result: RaceResult, plan: AttackPlan | None) -> Text:
    """One username's race in the results log: who won it, how many were turned away."""
    finished, winners = result.finished, result.winners
    siege = plan is not None and plan.mode == "siege"
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append_text(safe_text(finished.username, "bold"))
    line.append("  ")
    if siege and winners:
        slipped = (
            f"{contender_label(winners[0].contender)} SLIPPED"
            if len(winners) == 1
            else f"{len(winners)} clones SLIPPED"
        )
        line.append(f"{slipped} past the hero", DOPPEL)
    elif len(winners) > 1:
        line.append(f"{len(winners)} told they won", DOPPEL)
        line.append(" — one row survives, the rest are silently overwritten", MUTED)
    elif len(winners) == 1:
        (winner,) = winners
        hero = winner.kind == "hero"
        line.append("won by ", MUTED)
        if winner.winner is None:  # cannot happen for a winner; say who, not nothing
            line.append(contender_label(winner.contender), HERO if hero else DOPPEL)
        else:
            if hero:
                line.append("hero ", HERO)
            line.append_text(safe_text(winner.winner.display_name, HERO if hero else DOPPEL))
    elif siege and not finished.unknown:
        line.append("held by its hero", HERO)
    else:
        line.append("no winner told", DOPPEL)
    if finished.blocked:
        line.append(f" · {finished.blocked} blocked", MUTED)
    if finished.unknown:
        line.append(f" · {finished.unknown} unknown", DOPPEL)
    line.append(f" · {finished.elapsed_ms:.0f} ms", MUTED)
    return line
