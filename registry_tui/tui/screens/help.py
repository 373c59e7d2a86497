"""F1 / ?: the keys of the screen you are on, from its live bindings (so never out of date)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from registry_tui.tui.text import HERO, MUTED


@dataclass(frozen=True)
class KeyHelp:
    keys: str
    description: str
    tooltip: str


def screen_keys(screen: Screen[object]) -> list[KeyHelp]:
    """Our bindings active on `screen` (each has an id; a focused widget's own editing keys
    have none), one line per action with all of its keys."""
    app = screen.app
    by_action: dict[tuple[int, str], tuple[list[str], Binding]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.id is None or not binding.description or binding.system:
            continue
        key = (id(active.node), binding.action)
        keys, _ = by_action.setdefault(key, ([], binding))
        display = app.get_key_display(binding)
        if display not in keys:
            keys.append(display)
    return [
        KeyHelp(" / ".join(keys), binding.description, binding.tooltip)
        for keys, binding in by_action.values()
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,f1,question_mark,q",
            "close",
            "Close",
            id="help.close",
            tooltip="Back to the screen these keys belong to",
        )
    ]

    def __init__(self, screen_name: str, keys: list[KeyHelp]) -> None:
        super().__init__(classes="dialog-screen")
        self.screen_name = screen_name
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style=HERO, no_wrap=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(style=MUTED)
        for item in self.keys:
            table.add_row(Text(item.keys), Text(item.description), Text(item.tooltip))
        with Vertical(classes="dialog help"):
            yield Static(f"Keys — {self.screen_name}", classes="dialog-title", markup=False)
            with VerticalScroll(id="help-scroll"):
                yield Static(table, id="help-keys")
            yield Static(
                "ctrl+p: command palette (every action by name)  ·  escape: close",
                classes="dialog-keys",
                markup=False,
            )
        yield Footer(compact=True)  # this dialog's keys, not those of the screen behind

    def action_close(self) -> None:
        self.dismiss()
