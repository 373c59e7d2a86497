"""The connection-profile picker: the named profiles of the user's config file."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from registry_tui.tui.text import MUTED


class ProfilePicker(ModalScreen[str | None]):
    """Dismisses with the chosen profile's name, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="profiles.cancel"),
    ]

    def __init__(self, names: list[str], source: str) -> None:
        super().__init__(classes="dialog-screen")
        self.names = names
        self.source = source

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Static("Connection profiles", classes="dialog-title", markup=False)
            yield Static(Text(self.source, MUTED), classes="dialog-body")
            yield OptionList(
                *(Option(Text(name), id=name) for name in self.names), id="profile-options"
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
