"""A yes/no question whose body says exactly what will happen."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Static

from registry_tui.tui.screens.base import Dialog


class ConfirmScreen(Dialog[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Do what the question says"),
        Binding(
            "n,escape",
            "answer(False)",
            "No",
            id="confirm.no",
            tooltip="Close the question; nothing changes",
        ),
    ]

    def __init__(
        self, title: str, body: Text, *, yes: str, no: str = "Cancel", danger: bool = True
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body
        self._yes = yes
        self._no = no
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    f"{self._yes} (y)",
                    id="confirm-yes",
                    variant="error" if self._danger else "primary",
                    compact=True,
                )
                yield Button(f"{self._no} (n)", id="confirm-no", compact=True)
        yield Footer(compact=True)  # this dialog's keys, not those of the screen behind

    def on_mount(self) -> None:
        # Cancel is the safe default: a stray enter does not delete anything.
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no_pressed(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
