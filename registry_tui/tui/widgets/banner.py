"""The top line of every screen: the registry's name, where you are, the link state."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from registry_tui.tui.widgets.indicator import ConnectionIndicator


class Banner(Horizontal):
    def __init__(self, section: str) -> None:
        super().__init__(classes="banner")
        self.section = section

    def compose(self) -> ComposeResult:
        yield Static("IDENTITY REGISTRY", classes="brand", markup=False)
        yield Static("Dimension-6 // The Identity Wars", classes="tagline", markup=False)
        yield Static(self.section, classes="section", markup=False)
        yield ConnectionIndicator(classes="indicator")
