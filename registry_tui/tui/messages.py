"""Messages that travel from screens to the app."""

from __future__ import annotations

from textual.message import Message


class Connected(Message):
    """The main connection is open: the app shows the registry."""


class LinkTrouble(Message):
    """A call found the database unreachable: the app re-checks the link now."""

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail
