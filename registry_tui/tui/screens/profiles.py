"""The connection-profile picker: the named profiles of the user's config file, the active one
marked, and what the environment overrides in each (environment variables win over a profile)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from registry_tui.safe_text import safe_text
from registry_tui.tui.screens.base import Dialog
from registry_tui.tui.text import DOPPEL, HERO, MUTED


class ProfilePicker(Dialog[str | None]):
    """Dismisses with the chosen profile's name, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="profiles.cancel"),
    ]

    def __init__(
        self,
        names: list[str],
        source: str,
        *,
        active: str | None = None,
        overridden: Mapping[str, Sequence[str]] | None = None,
        environment: Sequence[str] = (),
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.names = names
        self.source = source
        self.active = active
        # Per profile: its settings the environment overrides, as `key (VARIABLE=value)`.
        self.overridden = dict(overridden or {})
        # The connection variables set in the environment (`VARIABLE=value`): every profile
        # runs under them.
        self.environment = tuple(environment)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Static("Connection profiles", classes="dialog-title", markup=False)
            yield Static(Text(self.source, MUTED), classes="dialog-body")
            if self.environment:
                yield Static(
                    Text.assemble(
                        ("Set in the environment, used whatever the profile says: ", MUTED),
                        safe_text(", ".join(self.environment), DOPPEL),
                    ),
                    classes="dialog-body",
                    id="profile-env-note",
                )
            yield OptionList(*(self._option(name) for name in self.names), id="profile-options")

    def _option(self, name: str) -> Option:
        label = Text.assemble(
            ("● " if name == self.active else "  ", HERO),
            safe_text(name, "bold" if name == self.active else ""),
            ("  (active)" if name == self.active else "", HERO),
        )
        overridden = self.overridden.get(name) or ()
        if overridden:
            label.append("\n    the environment overrides ", MUTED)
            label.append_text(safe_text(", ".join(overridden), DOPPEL))
        return Option(label, id=name)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.active in self.names:
            options.highlighted = self.names.index(self.active)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
