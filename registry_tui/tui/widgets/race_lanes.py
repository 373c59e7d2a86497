"""The two lanes of the race panel, as in the demo: the heroes (IF NOT EXISTS, yellow) against
Doppel-9's clones (red), each showing its newest contenders, newest at the bottom."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

from rich.text import Text
from textual.widgets import Static

from registry_tui.race import ContenderFinished, SetupProgress
from registry_tui.tui.text import MUTED
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
        self.update(Text(self.hint, MUTED))

    def show(self, events: Sequence[LaneEvent], counts: Text, prefix: str = "") -> None:
        """The newest `events` that fit; `prefix` (the run's part of every name) is left out
        of the names when the lane is too narrow for whole lines."""
        self.border_subtitle = counts
        height, width = self.content_size.height, self.content_size.width
        if height <= 0:  # hidden or not laid out yet: the next repaint fills it
            return
        if not events:
            self.update(Text(self.hint, MUTED))
            return
        newest = list(islice(events, max(len(events) - height, 0), None))
        lines = [lane_line(e) for e in newest]
        if prefix and any(line.cell_len > width for line in lines):
            lines = [lane_line(e, prefix) for e in newest]
        # One line per contender, cut rather than wrapped, so the newest stays at the bottom.
        self.update(Text("\n", no_wrap=True, overflow="ellipsis").join(lines))
