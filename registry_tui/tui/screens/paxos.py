"""One raced name's traced attempts, side by side: how Paxos decided it.

The race panel traces every attempt of one race in TRACE_SAMPLE (see `race.paxos`); this
screen lists the traced names and, for the chosen one, a column per contender (the winner
first): each statement of its registration, then each Paxos round with its length as a bar on
one scale for all columns, who answered, and what a competing ballot refused. Above: round
trips per winning and per losing attempt (p50 / max) over every traced attempt."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from registry_tui.proof.paxos import PaxosTrace
from registry_tui.race.paxos import PaxosSummary, TracedAttempt
from registry_tui.safe_text import safe_text
from registry_tui.tui.text import DOPPEL, HERO, MUTED, OK

# The race panel traces every attempt of one race in this many, at most TRACE_RACES races (the
# traces are read after the races, before the audit: a cap keeps a big attack's audit prompt).
TRACE_SAMPLE = 10
TRACE_RACES = 5
BAR_CELLS = 12  # the longest round of the name fills this many cells
COLUMN = 34  # cells per contender: the view scrolls sideways past the screen's width
_SHORT = {"prepare+read": "prep+read", "not awaited": "async"}


def contender_name(index: int) -> str:
    return "hero" if index == 0 else f"clone {index}"


def _order(attempts: Sequence[TracedAttempt]) -> list[TracedAttempt]:
    rank = {"won": 0, "blocked": 1}
    return sorted(attempts, key=lambda a: (rank.get(a.outcome, 2), a.contender))


def _statement_title(label: str) -> str:
    words = label.split()
    table = words[1] if len(words) > 1 else label
    return f"{words[0].lower() if words else ''} {table}".strip()


def attempt_column(attempt: TracedAttempt, longest_us: int) -> Text:
    """One contender's registration: statements, their rounds, a bar per round."""
    style = OK if attempt.outcome == "won" else DOPPEL if attempt.outcome == "blocked" else MUTED
    text = Text()
    text.append(f"{contender_name(attempt.contender)} · {attempt.outcome}\n", style)
    text.append(
        f"{attempt.round_trips} round trips · {attempt.latency_ms:.0f} ms\n",
        MUTED,
    )
    if not attempt.complete:
        # A statement that timed out has no verdict; under load the server also drops trace
        # events: say so rather than show fewer rounds as if they were all.
        text.append("no verdict traced: timeout or dropped\n", DOPPEL)
    for label, trace in attempt.statements:
        text.append(_statement_title(label), "bold")
        text.append(f" {_verdict(trace)}\n", MUTED)
        for r in trace.rounds:
            cells = max(1, round(BAR_CELLS * r.elapsed_us / longest_us)) if longest_us else 1
            flag = r.outcome if r.outcome != "ok" else ""
            text.append(f" {_SHORT.get(r.name, r.name):<9}", HERO if r.awaited else MUTED)
            text.append(f"{r.elapsed_us / 1000:>7.1f}ms ", MUTED)
            text.append("█" * cells, DOPPEL if flag in ("pre-empted", "refused") else OK)
            if flag:
                text.append(
                    f" {_SHORT.get(flag, flag)}", DOPPEL if flag != "not awaited" else MUTED
                )
            text.append("\n")
            if r.answered_by or r.refused_by:
                who = ",".join(_tail(a) for a in r.answered_by) or "-"
                refused = " ✗" + ",".join(_tail(a) for a in r.refused_by) if r.refused_by else ""
                text.append(f"   by {who}{refused}\n", MUTED)
    return text


def _tail(address: str) -> str:
    """'.2' for 127.0.0.2: columns are narrow, and every replica here shares the prefix."""
    head, _, last = address.rpartition(".")
    return f".{last}" if head else address


def _verdict(trace: PaxosTrace) -> str:
    if not trace.paxos:
        return "plain"
    return f"{trace.result}, {trace.round_trips} RT"


def summary_line(summary: PaxosSummary | None, traced: int) -> Text:
    if summary is None or not traced:
        return Text(
            f"No traced attempt yet: the panel traces every attempt of one race in "
            f"{TRACE_SAMPLE}; start an attack (ctrl+s) and come back.",
            MUTED,
        )
    line = Text(f"{traced} traced attempts · round trips per attempt  ")
    line.append(f"won p50 {summary.winners.p50:g} max {summary.winners.max}", OK)
    line.append("  ·  ")
    line.append(f"lost p50 {summary.losers.p50:g} max {summary.losers.max}", DOPPEL)
    if summary.unknown:
        line.append(f"  ·  unknown {summary.unknown}", MUTED)
    return line


class PaxosScreen(Screen[None]):
    """The traced names of the last attack; enter shows one's attempts side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q",
            "close",
            "Back",
            id="paxos.close",
            tooltip="Back to the race panel",
        ),
    ]

    def __init__(
        self,
        traced: Sequence[TracedAttempt],
        summary: PaxosSummary | None = None,
        username: str | None = None,
    ) -> None:
        super().__init__()
        self.traced = list(traced)
        self.summary = summary
        self.by_name: dict[str, list[TracedAttempt]] = {}
        for attempt in self.traced:
            self.by_name.setdefault(attempt.username, []).append(attempt)
        self.columns: list[Text] = []  # what the timeline shows: one per attempt
        self.username = username if username in self.by_name else None
        if self.username is None and self.by_name:
            self.username = next(iter(self.by_name))

    def compose(self) -> ComposeResult:
        yield Static(Text("Paxos rounds per attempt", "bold"), id="paxos-title")
        yield Static(summary_line(self.summary, len(self.traced)), id="paxos-summary")
        with Horizontal(id="paxos-body"):
            yield OptionList(
                *(Option(safe_text(name), id=name) for name in self.by_name),
                id="paxos-names",
            )
            with ScrollableContainer(id="paxos-scroll"):
                yield Static(id="paxos-timeline")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        names = self.query_one("#paxos-names", OptionList)
        if self.username is not None:
            names.highlighted = list(self.by_name).index(self.username)
        names.focus()
        self.show(self.username)

    @on(OptionList.OptionHighlighted, "#paxos-names")
    @on(OptionList.OptionSelected, "#paxos-names")
    def _chosen(self, event: OptionList.OptionHighlighted | OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.show(event.option.id)

    def show(self, username: str | None) -> None:
        self.username = username
        timeline = self.query_one("#paxos-timeline", Static)
        attempts = _order(self.by_name.get(username, [])) if username else []
        if not attempts:
            self.columns = []
            timeline.update(Text("Nothing traced to show.", MUTED))
            return
        longest = max(
            (r.elapsed_us for a in attempts for _, t in a.statements for r in t.rounds),
            default=0,
        )
        grid = Table.grid(padding=(0, 1))
        for _ in attempts:
            grid.add_column(no_wrap=True, width=COLUMN, overflow="ellipsis")
        self.columns = [attempt_column(a, longest) for a in attempts]
        grid.add_row(*self.columns)
        title = Text("")
        title.append_text(safe_text(username or "", "bold"))
        title.append(
            "  winner first · bars: one scale · async: commit not awaited · ✗ refused",
            MUTED,
        )
        table = Table.grid()
        table.add_row(title)
        table.add_row(grid)
        timeline.styles.width = max(COLUMN + 1, len(attempts) * (COLUMN + 1))
        timeline.update(table)

    def action_close(self) -> None:
        self.dismiss(None)
