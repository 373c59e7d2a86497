"""The race panel's place in the navigation. The panel itself arrives with a later issue."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from registry_tui.tui.text import DOPPEL, HERO, MUTED
from registry_tui.tui.widgets.banner import Banner


class RaceScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back", id="race.back")]

    def compose(self) -> ComposeResult:
        yield Banner("Race")
        with Vertical(id="race-card"):
            yield Static(Text("Race panel — coming with a later issue", HERO), id="race-title")
            yield Static(
                Text.assemble(
                    "Here heroes and ",
                    ("Doppel-9", DOPPEL),
                    " clones will race for the same username at once. ",
                    ("INSERT … IF NOT EXISTS", HERO),
                    " lets exactly one of them win; the panel will count the winners per key "
                    "and show every rejected clone.\n\n",
                    ("Not built yet: this screen only keeps its place (F3) in the app.", MUTED),
                ),
                id="race-text",
            )
        yield Footer(compact=True)

    def action_back(self) -> None:
        self.dismiss()
