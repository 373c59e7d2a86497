"""A one-line question in a modal: the dimension to filter by, the username to jump to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Static


class PromptScreen(ModalScreen[str | None]):
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
