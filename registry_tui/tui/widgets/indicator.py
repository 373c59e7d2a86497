"""The connection indicator in every banner: follows `RegistryApp.link`, never fatal."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from registry_tui.tui.link import Link, LinkState
from registry_tui.tui.text import HERO, MUTED, clip

_MARKS = {
    LinkState.CONNECTING: ("◌", "connecting"),
    LinkState.ONLINE: ("●", "online"),
    LinkState.OFFLINE: ("○", "offline"),
}


class ConnectionIndicator(Static):
    def on_mount(self) -> None:
        # The app owns the link; every screen's indicator follows it.
        self.watch(self.app, "link", self.show_link, init=True)

    def show_link(self, link: Link) -> None:
        mark, word = _MARKS[link.state]
        for state in LinkState:
            self.set_class(state is link.state, f"-{state.value}")
        hosts = clip(", ".join(link.hosts), 28) if link.hosts else ""
        label = Text.assemble(f"{mark} {word}", (f" · {hosts}" if hosts else "", MUTED))
        if link.warning:  # e.g. the local guarantee on a keyspace spanning several DCs
            label.append(" · unique per DC only", style=HERO)
        self.update(label)
        self.tooltip = " ".join(part for part in (link.warning, link.detail) if part) or None
