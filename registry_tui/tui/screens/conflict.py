"""The database refused a save (UPDATE … IF version = n): show what you started from, what you
typed and what it holds now (read at SERIAL), field by field, and let the person choose."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Static

from registry_tui.core.outcomes import ProfileRecord
from registry_tui.safe_text import safe_text
from registry_tui.tui.screens.base import Dialog
from registry_tui.tui.text import DOPPEL, MUTED, when


class ConflictChoice(Enum):
    TAKE_THEIRS = "take theirs"
    OVERWRITE = "overwrite with mine"
    KEEP_EDITING = "keep editing"


@dataclass(frozen=True)
class Draft:
    """What the person typed, and the version it was based on."""

    bio: str
    status: str
    base: ProfileRecord


class ConflictScreen(Dialog[ConflictChoice]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "t",
            "choose('TAKE_THEIRS')",
            "Take theirs",
            id="conflict.take_theirs",
            tooltip="Reload: the editor shows what the database holds now",
        ),
        Binding(
            "o",
            "choose('OVERWRITE')",
            "Overwrite with mine",
            id="conflict.overwrite",
            tooltip="Save your text again, against the database's current version",
        ),
        Binding(
            "k,escape",
            "choose('KEEP_EDITING')",
            "Keep editing",
            id="conflict.keep",
            tooltip="Close this and keep your text; nothing is saved",
        ),
    ]

    def __init__(
        self,
        draft: Draft,
        current: ProfileRecord,
        expected_version: int,
        *,
        unknown: bool = False,
    ) -> None:
        """`unknown`: the save's outcome is unknown (no answer in time, and the row as it is
        now does not show whether it applied), not refused; the same choices, worded so."""
        super().__init__(classes="dialog-screen")
        self.draft = draft
        self.current = current
        self.expected_version = expected_version
        self.unknown = unknown

    def _hint(self) -> Text:
        if self.unknown:
            return Text.assemble(
                ("UPDATE … IF version = ", MUTED),
                (str(self.expected_version), "bold"),
                (" got no answer in time. The database now holds version ", MUTED),
                (str(self.current.version), DOPPEL),
                (" (read at SERIAL): yours may have been version ", MUTED),
                (str(self.expected_version + 1), "bold"),
                (
                    " before a later save replaced it, or never applied. Nothing proves which.",
                    MUTED,
                ),
            )
        return Text.assemble(
            ("UPDATE … IF version = ", MUTED),
            (str(self.expected_version), "bold"),
            (" was refused: someone saved first. The database now holds version ", MUTED),
            (str(self.current.version), DOPPEL),
            (" (read at SERIAL).", MUTED),
        )

    def compose(self) -> ComposeResult:
        started, current, draft = self.draft.base, self.current, self.draft
        title = "Outcome unknown" if self.unknown else "Version conflict"
        with Vertical(classes="dialog conflict"):
            yield Static(title, classes="dialog-title doppel", markup=False)
            yield Static(self._hint(), classes="dialog-hint")
            with VerticalScroll(id="conflict-scroll"), Grid(id="conflict-grid"):
                for heading in ("", "You started from", "You typed", "Database now"):
                    yield Static(heading, classes="conflict-heading", markup=False)
                yield from self._row(
                    "version", str(started.version), "—", str(current.version), compare=False
                )
                yield from self._row("status", started.status, draft.status, current.status)
                yield from self._row("bio", started.bio or "", draft.bio, current.bio or "")
                yield from self._row(
                    "updated",
                    when(started.updated_at),
                    "—",
                    when(current.updated_at),
                    compare=False,
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    "Reload: take what it holds (t)" if self.unknown else "Take theirs (t)",
                    id="conflict-take-theirs",
                    variant="primary",
                    compact=True,
                )
                yield Button(
                    "Retry with mine (o)" if self.unknown else "Overwrite with mine (o)",
                    id="conflict-overwrite",
                    variant="error",
                    compact=True,
                )
                yield Button("Keep editing (k)", id="conflict-keep", compact=True)
        yield Footer(compact=True)  # this dialog's keys, not those of the screen behind

    def _row(
        self, name: str, started: str, typed: str, now: str, *, compare: bool = True
    ) -> list[Static]:
        mine = compare and typed != started
        theirs = started != now
        return [
            Static(name, classes="conflict-field", markup=False),
            Static(self._value(started), classes="conflict-cell"),
            Static(self._value(typed), classes="conflict-cell" + (" -mine" if mine else "")),
            Static(self._value(now), classes="conflict-cell" + (" -theirs" if theirs else "")),
        ]

    @staticmethod
    def _value(value: str) -> Text:
        return safe_text(value, keep_newlines=True) if value else Text("(empty)", MUTED)

    def on_mount(self) -> None:
        self.query_one("#conflict-keep", Button).focus()

    @on(Button.Pressed, "#conflict-take-theirs")
    def _take(self) -> None:
        self.dismiss(ConflictChoice.TAKE_THEIRS)

    @on(Button.Pressed, "#conflict-overwrite")
    def _overwrite(self) -> None:
        self.dismiss(ConflictChoice.OVERWRITE)

    @on(Button.Pressed, "#conflict-keep")
    def _keep(self) -> None:
        self.dismiss(ConflictChoice.KEEP_EDITING)

    def action_choose(self, choice: str) -> None:
        self.dismiss(ConflictChoice[choice])
