"""One name whose race history no order of operations explains: its excerpt as a timeline.

One row per client, a bar from each operation's invocation to its completion with what it was
told, then each operation in words (the checker's own rendering, registry_tui.proof)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Static

from registry_tui.proof import KeyVerdict, render_excerpt
from registry_tui.safe_text import safe_text
from registry_tui.tui.screens.base import Dialog
from registry_tui.tui.text import MUTED


class ExcerptScreen(Dialog[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="excerpt.close", tooltip="Back to the race audit"),
    ]

    def __init__(self, key: KeyVerdict) -> None:
        super().__init__(classes="dialog-screen")
        self.key = key

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog excerpt"):
            yield Static(
                safe_text(f"Not linearizable: {self.key.key}"), classes="dialog-title doppel"
            )
            yield Static(
                Text(
                    "No single order of these operations explains what every client was told. "
                    "Times are ms from the start of the run; ~ marks an answer after an "
                    "ambiguous try.",
                    MUTED,
                ),
                classes="dialog-hint",
            )
            with VerticalScroll(id="excerpt-scroll"):
                yield Static(id="excerpt-timeline")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (esc)", id="excerpt-close", compact=True)
        yield Footer(compact=True)  # this dialog's keys, not those of the screen behind

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        excerpt = self.key.excerpt
        if excerpt is None:
            return
        scroll = self.query_one("#excerpt-scroll", VerticalScroll)
        width = max(40, scroll.size.width - 2) if scroll.size.width else 72
        lines = render_excerpt(excerpt, width)
        self.query_one("#excerpt-timeline", Static).update(
            safe_text("\n".join(lines), keep_newlines=True)
        )

    @on(Button.Pressed, "#excerpt-close")
    def action_close(self) -> None:
        self.dismiss(None)
