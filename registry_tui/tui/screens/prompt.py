"""Questions in a modal: one line (PromptScreen), or a field over a list of choices that
narrows as you type (PickScreen: find a name, pick a dimension, what to copy, a sort)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from registry_tui.safe_text import printable
from registry_tui.tui.screens.base import Dialog


class PromptScreen(Dialog[str | None]):
    """Dismisses with the text typed (possibly empty) on enter, or None on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel")
    ]

    def __init__(
        self,
        title: str,
        hint: str,
        *,
        value: str = "",
        placeholder: str = "",
        suggestions: Iterable[str] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="dialog-screen")
        self._title = title
        self._hint = hint
        self._value = value
        self._placeholder = placeholder
        self._suggestions = sorted(set(suggestions))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._hint, classes="dialog-hint", markup=False)
            yield Input(
                value=self._value,
                placeholder=self._placeholder,
                suggester=SuggestFromList(self._suggestions, case_sensitive=False)
                if self._suggestions
                else None,
                id="prompt-input",
            )
            yield Static("enter: go  ·  escape: cancel", classes="dialog-keys", markup=False)
        yield Footer(compact=True)  # this dialog's keys, not those of the screen behind

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Choice:
    label: str  # what is shown and matched (any case, anywhere in it)
    value: str  # what picking it answers


@dataclass(frozen=True)
class Picked:
    value: str
    chosen: bool  # True: an option of the list; False: the text as typed (enter in the field)


def matching(choices: Sequence[Choice], typed: str) -> list[Choice]:
    """The choices whose label holds `typed` in any case: those that start with it first."""
    wanted = typed.strip().casefold()
    if not wanted:
        return list(choices)
    starts = [c for c in choices if c.label.casefold().startswith(wanted)]
    inside = [c for c in choices if wanted in c.label.casefold() and c not in starts]
    return starts + inside


class PickScreen(Dialog[Picked | None]):
    """A field over a list of choices that narrows as you type (any case, anywhere in a
    label). Enter on a highlighted choice answers it; enter in the field answers the text as
    typed (down: into the list). Escape: None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="pick.cancel"),
        Binding("down", "into_list", "Choices", id="pick.into_list", key_display="↓"),
    ]
    SHOWN = 200  # choices listed at most (the count says how many match)

    def __init__(
        self,
        title: str,
        hint: str,
        choices: Sequence[Choice],
        *,
        value: str = "",
        placeholder: str = "",
        keys: str = "type to narrow  ·  ↓ ⏎: pick  ·  ⏎ in the field: as typed  ·  esc: cancel",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="dialog-screen")
        self._title = title
        self._hint = hint
        self._choices = list(choices)
        self._value = value
        self._placeholder = placeholder
        self._keys = keys
        self._listed: list[Choice] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt pick"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._hint, classes="dialog-hint", markup=False)
            yield Input(value=self._value, placeholder=self._placeholder, id="pick-input")
            yield Static(id="pick-count", classes="dialog-hint", markup=False)
            yield OptionList(id="pick-choices")
            yield Static(self._keys, classes="dialog-keys", markup=False)
        yield Footer(compact=True)  # this dialog's keys, not those of the screen behind

    def on_mount(self) -> None:
        self.query_one(OptionList).styles.max_height = 12
        self._narrow(self._value)

    @property
    def shown(self) -> list[Choice]:
        """The choices listed now, in order."""
        return self._listed

    @on(Input.Changed, "#pick-input")
    def _typed(self, event: Input.Changed) -> None:
        self._narrow(event.value)

    def _narrow(self, typed: str) -> None:
        found = matching(self._choices, typed)
        self._listed = found[: self.SHOWN]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(Text(printable(c.label))) for c in self._listed])
        count = f"{len(found):,} of {len(self._choices):,} match"
        if len(found) > self.SHOWN:
            count += f" (the first {self.SHOWN} listed)"
        self.query_one("#pick-count", Static).update(count)

    @on(Input.Submitted, "#pick-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(Picked(event.value.strip(), chosen=False))

    @on(OptionList.OptionSelected, "#pick-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Picked(self._listed[event.option_index].value, chosen=True))

    def action_into_list(self) -> None:
        options = self.query_one(OptionList)
        if self._listed and not options.has_focus:
            options.focus()
            options.highlighted = 0

    def action_cancel(self) -> None:
        self.dismiss(None)
