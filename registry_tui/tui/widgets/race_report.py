"""The audit of the race panel: the last run's verdict, and the last protected run beside the
last unprotected control run, so what IF NOT EXISTS buys is one glance away."""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from registry_tui.proof import CheckReport, KeyVerdict
from registry_tui.race import AttackReport
from registry_tui.race.churn import ChurnReport
from registry_tui.safe_text import safe_text
from registry_tui.tui.text import DOPPEL, HERO, MUTED, OK

VIOLATIONS_SHOWN = 5
HISTORY_KEYS_LISTED = 50
NOT_RUN = Text("—", MUTED)


def verdict(report: AttackReport) -> Text:
    """What the audit found, in a sentence or two; violations loudly."""
    kind = "protected" if report.protected else "unprotected control"
    about = Text.assemble(
        (f" {report.mode}, {kind}, run ", MUTED), (report.run_id, "bold"), (": ", MUTED)
    )
    if report.clean:
        return Text.assemble(
            ("AUDIT CLEAN", OK),
            about,
            f"each of the {report.races:,} names is held by the one contender told it won; "
            f"{report.overwritten:,} overwritten.",
        )
    count = len(report.violations)
    text = Text(f" AUDIT: {count:,} VIOLATION{'S' if count != 1 else ''} ", f"{DOPPEL} reverse")
    text.append_text(about)
    if not report.protected:
        text.append(
            f"without IF NOT EXISTS, {report.overwritten:,} acknowledged identities were "
            "silently overwritten.",
            DOPPEL,
        )
    else:
        text.append(
            f"{report.winners:,} told they won for {report.races:,} names; "
            f"{report.overwritten:,} acknowledged identities lost.",
            DOPPEL,
        )
    return text


def _count(value: int, bad: bool) -> Text:
    return Text(f"{value:,}", DOPPEL if bad else OK)


Row = tuple[str, Callable[[AttackReport], Text | str]]


def cleanup(report: AttackReport) -> Text:
    """What the run removed after its audit (its own registrations, by identity)."""
    done = report.cleanup
    style = MUTED if done.kept else DOPPEL if done.failed else OK
    return Text(report.cleanup_summary(), style)


def history(report: AttackReport) -> Text:
    """The linearizability check of the run's whole history, in a few words."""
    check = report.history
    if check is None:
        return NOT_RUN
    if check.violations:
        return Text(f"{check.violations:,} names not linearizable", DOPPEL)
    if check.unknown:
        return Text(f"{check.unknown:,} undecided", DOPPEL)
    return Text(f"{check.operations:,} ops, linearizable", OK)


ROWS: tuple[Row, ...] = (
    ("run", lambda r: f"{r.run_id} {r.mode} {r.races:,}×{r.plan.contenders_per_race}"),
    ("attempts", lambda r: f"{r.contenders:,}"),
    (
        "told they won",
        lambda r: Text.assemble(
            _count(r.winners, r.winners != r.races), (f" for {r.races:,} names", MUTED)
        ),
    ),
    ("blocked", lambda r: f"{r.heroes_blocked + r.clones_blocked:,}"),
    ("clones slipped", lambda r: _count(r.clones_slipped, r.clones_slipped > 0)),
    (
        "still unknown",
        lambda r: Text.assemble(
            _count(r.unresolved, r.unresolved > 0),
            (f", {r.unknown_held:,} took the name" if r.unknown_held else "", MUTED),
        ),
    ),
    ("overwritten", lambda r: _count(r.overwritten, r.overwritten > 0)),
    ("audit violations", lambda r: _count(len(r.violations), not r.clean)),
    ("history check", history),
    ("attempts/s", lambda r: f"{r.attempts_per_s:,.0f}"),
    (
        "latency p50 / p99",
        lambda r: f"{r.latency.p50_ms:.1f} / {r.latency.p99_ms:.1f} ms",
    ),
    ("clean-up", cleanup),
)


def comparison(protected: AttackReport | None, control: AttackReport | None) -> Table:
    """The last protected run beside the last control run, row by row."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False, padding=(0, 1))
    table.add_column("", style=MUTED, no_wrap=True)
    table.add_column(Text("IF NOT EXISTS", HERO), no_wrap=True, overflow="ellipsis")
    table.add_column(Text("plain INSERT (control)", DOPPEL), no_wrap=True, overflow="ellipsis")
    for label, cell in ROWS:
        table.add_row(
            label,
            cell(protected) if protected else NOT_RUN,
            cell(control) if control else NOT_RUN,
        )
    return table


def violation_lines(report: AttackReport) -> Text:
    out = Text()
    for violation in report.violations[:VIOLATIONS_SHOWN]:
        if out:
            out.append("\n")
        out.append("✗ ", DOPPEL)
        out.append_text(safe_text(violation.describe()))
    hidden = len(report.violations) - VIOLATIONS_SHOWN
    if hidden > 0:
        out.append(f"\n… and {hidden:,} more (`registry race --json` lists them)", MUTED)
    return out


def churn_table(report: ChurnReport) -> Table:
    """What a churn's calls were answered, and what its clean-up did."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False, padding=(0, 1))
    table.add_column("call", style=MUTED, no_wrap=True)
    table.add_column("answer", no_wrap=True, overflow="ellipsis")
    table.add_column("count", justify="right", no_wrap=True)
    for (op, answer), count in sorted(report.answers.items()):
        style = DOPPEL if answer in ("Unknown", "error") else ""
        table.add_row(op, Text(answer, style), f"{count:,}")
    done = Text(report.cleanup_summary(), DOPPEL if report.cleanup_failed else OK)
    table.add_row("clean-up", done, "")
    return table


class RaceAudit(VerticalScroll):
    """The verdict of the last run, the side-by-side comparison, the first violations, and
    the names whose history no order explains (enter opens one as a timeline)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._violating: list[KeyVerdict] = []

    def compose(self) -> ComposeResult:
        yield Static(id="race-verdict")
        yield Static(id="race-history")
        yield Static(id="race-comparison")
        yield Static(id="race-violations")
        yield OptionList(id="race-history-keys")

    def on_mount(self) -> None:
        self.show(None, None, None)

    def show(
        self,
        latest: AttackReport | None,
        protected: AttackReport | None,
        control: AttackReport | None,
        note: Text | None = None,
    ) -> None:
        if note is not None:
            head = note
        elif latest is not None:
            head = verdict(latest)
        else:
            head = Text(
                "No audit yet. Run a protected attack and an unprotected control "
                "(plain INSERT) to compare them here.",
                MUTED,
            )
        self.query_one("#race-verdict", Static).update(head)
        self.query_one("#race-comparison", Static).update(comparison(protected, control))
        violations = self.query_one("#race-violations", Static)
        violations.update(violation_lines(latest) if latest is not None else Text())
        violations.display = latest is not None and not latest.clean
        self._show_history(latest if note is None else None)

    def _show_history(self, latest: AttackReport | None) -> None:
        if latest is None or latest.history is None:
            self.query_one("#race-history", Static).display = False
            self.query_one("#race-history-keys", OptionList).display = False
            self._violating = []
            return
        self._show_check_lines(latest.history, latest.history_summary())

    def show_churn(
        self, report: ChurnReport, check: CheckReport | None, note: Text | None = None
    ) -> None:
        """A churn's verdict: its history check, and what its calls were answered (not the
        land-grab comparison, which says nothing about it)."""
        about = f"  churn {report.run_id}: {report.operations:,} calls"
        if check is None:
            head = Text.assemble(("HISTORY NOT CHECKED", DOPPEL), (about, MUTED))
        else:
            about += f", {check.operations:,} operations on {len(check.keys):,} keys"
            head = Text.assemble(
                ("HISTORY ", "bold"),
                ("LINEARIZABLE", OK)
                if check.verdict == "linearizable"
                else (check.verdict.upper(), DOPPEL),
                (about, MUTED),
            )
        if note is not None:
            head = Text.assemble(head, "\n", note)
        self.query_one("#race-verdict", Static).update(head)
        self.query_one("#race-comparison", Static).update(churn_table(report))
        self.query_one("#race-violations", Static).display = False
        if check is None:
            self.query_one("#race-history", Static).display = False
            self.query_one("#race-history-keys", OptionList).display = False
            self._violating = []
            return
        summary = (
            f"{check.linearizable:,} linearizable, {check.violations:,} not, "
            f"{check.unknown:,} undecided; {check.stale_reads:,} stale plain reads; "
            f"checked in {check.seconds:.2f} s"
        )
        self._show_check_lines(check, summary)

    def _show_check_lines(self, check: CheckReport, summary: str) -> None:
        line = self.query_one("#race-history", Static)
        keys = self.query_one("#race-history-keys", OptionList)
        keys.clear_options()
        self._violating = []
        line.display = True
        if not check.violations:
            line.update(Text.assemble(("History: ", "bold"), (summary, OK)))
            keys.display = False
            return
        line.update(
            Text.assemble(
                ("History: ", "bold"),
                (summary, DOPPEL),
                ("  enter on a key shows why, as a timeline", MUTED),
            )
        )
        self._violating = check.violating()[:HISTORY_KEYS_LISTED]
        keys.add_options(
            Option(safe_text(f"✗ {k.key}: {k.checked} operations no order explains"), id=str(i))
            for i, k in enumerate(self._violating)
        )
        keys.display = True

    @on(OptionList.OptionSelected, "#race-history-keys")
    def _open_excerpt(self, event: OptionList.OptionSelected) -> None:
        from registry_tui.tui.screens.history import ExcerptScreen

        key = self._violating[int(event.option_id or 0)]
        if key.excerpt is not None:
            self.app.push_screen(ExcerptScreen(key))
