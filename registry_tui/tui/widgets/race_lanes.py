"""The two lanes of the race panel, as in the demo: the heroes (IF NOT EXISTS, yellow) against
Doppel-9's clones (red), each showing its newest contenders, newest at the bottom."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

from rich.text import Text
from textual.widgets import Static

from registry_tui.race import ContenderFinished, SetupProgress
from registry_tui.tui.widgets.race_feed import lane_line

LaneEvent = ContenderFinished | SetupProgress


class RaceLane(Static):
    """A bordered column of contender lines; only the lines that fit are ever rendered."""

    def __init__(self, title: Text, hint: str, *, id: str, classes: str) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = title
        self.hint = hint

    def on_mount(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.border_subtitle = None
        self.update(Text(self.hint, "dim"))

    def show(self, events: Sequence[LaneEvent], counts: Text) -> None:
        self.border_subtitle = counts
        height = self.content_size.height
        if height <= 0:  # hidden or not laid out yet: the next repaint fills it
            return
        if not events:
            self.update(Text(self.hint, "dim"))
            return
        newest = islice(events, max(len(events) - height, 0), None)
        # One line per contender, cut rather than wrapped, so the newest stays at the bottom.
        shown = Text("\n", no_wrap=True, overflow="ellipsis").join(lane_line(e) for e in newest)
        self.update(shown)
