"""The race panel's plan: mode, R, K, C and the guard, checked as you type against the
engine's own limits (`AttackPlan` is the only rulebook; nothing here repeats a number)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Checkbox, Input, Label, Select

from registry_tui.core.validation import ValidationError
from registry_tui.race import CONTROL_TABLE, MODES, RACES_MAX, AttackPlan, Mode
from registry_tui.tui.text import DOPPEL, HERO, MUTED
from registry_tui.tui.widgets.race_feed import fit


@dataclass(frozen=True)
class SizeField:
    option: str  # the engine's (and the CLI's) name for it, as in ValidationError.field
    attribute: str  # the AttackPlan field
    letter: str
    tooltip: str


SIZES = (
    SizeField("usernames", "races", "R", "R: how many usernames to race"),
    SizeField("clones", "clones", "K", "K: Doppel-9 clones per race, besides the hero"),
    SizeField("concurrency", "concurrency", "C", "C: races in flight at once"),
)
DEFAULT_PLAN = AttackPlan()
# The guarantee raced: the registry's (global: SERIAL; split across two DCs when the cluster
# has them), LOCAL_SERIAL split across two DCs (each DC can crown its own winner), or the
# control. Labels short enough for the closed box (it shows the whole label, never a cut one).
GUARD_LABELS = {
    "global": "IF NOT EXISTS",
    "local-dcs": "LOCAL_SERIAL",
    "plain": "plain INSERT",
}
GUARDS = tuple((label, value) for value, label in GUARD_LABELS.items())


def offered_guards(data_centres: Sequence[str]) -> tuple[list[tuple[str, str]], str]:
    """The guards this cluster can run, and why any other is not offered ("" if none)."""
    if len(data_centres) > 1:
        return list(GUARDS), ""
    offered = [(label, value) for label, value in GUARDS if value != "local-dcs"]
    where = f"one data centre ({data_centres[0]})" if data_centres else "no data centre known"
    why = f"No LOCAL_SERIAL guard: this cluster has {where}, where it is the same as SERIAL."
    return offered, why


def whole(text: str) -> int:
    """The typed number, or -1 (which every limit refuses) when it is not a whole number."""
    try:
        return int(text.strip())
    except ValueError:
        return -1


def check_size(size: SizeField, text: str) -> ValidationError | None:
    """The engine's verdict on one size, the others left at their defaults."""
    try:
        AttackPlan(**{size.attribute: whole(text)})  # type: ignore[arg-type]
    except ValidationError as exc:
        return exc
    return None


class PlanLimit(Validator):
    def __init__(self, size: SizeField) -> None:
        super().__init__()
        self.size = size

    def validate(self, value: str) -> ValidationResult:
        problem = check_size(self.size, value)
        return self.failure(problem.message, value) if problem else self.success()


def describe(
    plan: AttackPlan, guard: str = "global", data_centres: Sequence[str] = (), width: int = 0
) -> Text:
    """The plan in a line (or two, when `width` is narrower): the guard chosen, how many
    attempts, and where they land."""
    split = " + ".join(data_centres[:2])
    what = Text(no_wrap=True)
    if not plan.protected:
        what.append("plain INSERT", DOPPEL)
        what.append(" (control run)", MUTED)
    elif guard == "local-dcs":
        what.append("IF NOT EXISTS at LOCAL_SERIAL", HERO)
        what.append(f" in {split}: a winner per DC possible", MUTED)
    else:
        what.append("IF NOT EXISTS at SERIAL", HERO)
        if len(data_centres) > 1:
            what.append(f", split over {split}", MUTED)
    names = "fresh names" if plan.mode == "land-grab" else "names heroes hold"
    size = Text(no_wrap=True)
    size.append(f"{plan.mode}: ", MUTED)
    size.append(f"{plan.races:,} {names} × {plan.contenders_per_race} = ")
    size.append(f"{plan.contenders:,} attempts", "bold")
    flight = Text(f"{plan.concurrency} in flight", MUTED)
    if plan.protected and plan.keep:
        where = Text("on the registry; the winners stay registered (keep)", MUTED)
    elif plan.protected:
        where = Text("on the registry, then removed by identity", MUTED)
    else:
        where = Text(f"on scratch table {CONTROL_TABLE}, never the registry", MUTED)
    return fit([what, size, flight, where], width, gap=" · ")


class PlanForm(Horizontal):
    """Mode, sizes and guard in one row. Posts `PlanForm.Changed` with the plan or the errors."""

    class Changed(Message):
        def __init__(self, plan: AttackPlan | None, errors: tuple[ValidationError, ...]) -> None:
            super().__init__()
            self.plan = plan
            self.errors = errors

    TOOLTIPS: ClassVar[dict[str, str]] = {
        "mode": "land-grab: fresh names, exactly one contender wins each. "
        "siege: names heroes already hold, every clone must be blocked.",
        "guard": "IF NOT EXISTS: the registry's path, at SERIAL (contenders split across two "
        "data centres when the cluster has them). LOCAL_SERIAL: IF NOT EXISTS with each of "
        "two DCs running its own Paxos, so two can crown a winner (offered on a cluster of "
        "two DCs). plain INSERT: the control run, on a scratch table, where the last write "
        "wins.",
        "keep": "Keep the winners registered after the audit. Unticked, the race removes what "
        "it registered (by identity), leaving the registry as it found it.",
    }

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self._offered = [value for _, value in GUARDS]
        self.data_centres: list[str] = []  # the connected cluster's, as last offered

    def compose(self) -> ComposeResult:
        mode: Select[str] = Select(
            [(m, m) for m in MODES],
            value=DEFAULT_PLAN.mode,
            allow_blank=False,
            compact=True,
            id="race-mode",
        )
        mode.tooltip = self.TOOLTIPS["mode"]
        yield mode
        for size in SIZES:
            yield Label(size.letter, classes="race-size-label", markup=False)
            field = Input(
                str(getattr(DEFAULT_PLAN, size.attribute)),
                restrict=r"[0-9]*",
                max_length=len(str(RACES_MAX)) + 1,  # room to type one too many
                validators=[PlanLimit(size)],
                validate_on=["changed"],
                compact=True,
                id=f"race-{size.option}",
                classes="race-size",
            )
            field.tooltip = size.tooltip
            yield field
        guard: Select[str] = Select(
            GUARDS, value="global", allow_blank=False, compact=True, id="race-guard"
        )
        guard.tooltip = self.TOOLTIPS["guard"]
        yield guard
        keep = Checkbox("keep", value=False, compact=True, id="race-keep")
        keep.tooltip = self.TOOLTIPS["keep"]
        yield keep

    def offer(self, data_centres: Sequence[str]) -> str:
        """Offer the guards the cluster can run; returns why any other is absent."""
        self.data_centres = list(data_centres)
        guard = self.query_one("#race-guard", Select)
        offered, why = offered_guards(data_centres)
        chosen = guard.value
        values = [value for _, value in offered]
        if self._offered != values:
            self._offered = values
            with guard.prevent(Select.Changed):
                guard.set_options(offered)
                guard.value = chosen if chosen in values else "global"
        guard.tooltip = self.TOOLTIPS["guard"] + (f"\n{why}" if why else "")
        return why

    @property
    def guarantee(self) -> str:
        """The guard chosen: "global", "local-dcs" or "plain"."""
        return str(self.query_one("#race-guard", Select).value)

    def read(self) -> tuple[AttackPlan | None, tuple[ValidationError, ...]]:
        """The plan the form describes, or every size the engine refuses (and no plan)."""
        errors = []
        values: dict[str, int] = {}
        for size in SIZES:
            text = self.query_one(f"#race-{size.option}", Input).value
            problem = check_size(size, text)
            if problem is not None:
                errors.append(problem)
            values[size.attribute] = whole(text)
        if errors:
            return None, tuple(errors)
        mode: Mode = (
            "siege" if self.query_one("#race-mode", Select).value == "siege" else "land-grab"
        )
        protected = self.query_one("#race-guard", Select).value != "plain"
        keep = self.query_one("#race-keep", Checkbox).value
        try:
            plan = AttackPlan(
                races=values["races"],
                clones=values["clones"],
                concurrency=values["concurrency"],
                mode=mode,
                protected=protected,
                keep=keep,
            )
            return plan, ()
        except ValidationError as exc:  # a rule spanning fields, should the engine grow one
            return None, (exc,)

    def field_for(self, error: ValidationError) -> Input | None:
        for size in SIZES:
            if size.option == error.field:
                return self.query_one(f"#race-{size.option}", Input)
        return None

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event: Message) -> None:
        event.stop()
        self.post_message(self.Changed(*self.read()))
