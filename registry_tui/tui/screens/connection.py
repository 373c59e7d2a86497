"""Shown until the first connection succeeds: what was tried, why it failed, what to do.

Retries with backoff run from here; the app stays usable (help, race panel, quit)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from registry_tui.core.registry import Registry
from registry_tui.core.session import Database
from registry_tui.safe_text import safe_text
from registry_tui.tui.calls import Failure, guarded
from registry_tui.tui.messages import Connected, LinkTrouble
from registry_tui.tui.screens.base import ReportsFailures
from registry_tui.tui.text import DOPPEL, HERO, MUTED
from registry_tui.tui.widgets.banner import Banner

# Seconds to wait after each failed attempt; the last value repeats.
RETRY_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 15, 30)


class ConnectionScreen(ReportsFailures, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry now", id="connection.retry", tooltip="Try to connect now"),
        Binding(
            "p",
            "profiles",
            "Profiles",
            id="connection.profiles",
            tooltip="Connect with a named profile from the config file",
        ),
    ]

    class Attempted(Message):
        def __init__(self, outcome: Registry | Failure) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self, database: Database, retry_delays: Sequence[float] = RETRY_DELAYS) -> None:
        super().__init__()
        self.database = database
        self.retry_delays = tuple(retry_delays) or RETRY_DELAYS
        self.attempts = 0
        self.last_failure: Failure | None = None
        self._retry_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Banner("Connection")
        with Vertical(id="connection-card"):
            yield Static(id="connection-title")
            yield Static(id="connection-hosts")
            yield Static(id="connection-profile")
            yield Static(id="connection-error")
            yield Static(id="connection-help")
            yield Static(id="connection-next")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        settings = self.database.settings
        hosts = ", ".join(f"{h}:{settings.port}" for h in settings.hosts)
        self.query_one("#connection-hosts", Static).update(
            Text.assemble(
                ("Hosts  ", MUTED),
                safe_text(hosts, "bold"),
                ("  keyspace ", MUTED),
                safe_text(self.database.settings.keyspace),
            )
        )
        self.query_one("#connection-profile", Static).update(self._profile_line())
        self.query_one("#connection-help", Static).update(
            Text.assemble(
                ("No database running? Start one with ", MUTED),
                ("make db-up", HERO),
                (" (or point SCYLLA_HOSTS / SCYLLA_PORT at yours).", MUTED),
            )
        )
        self.connect()

    def _profile_line(self) -> Text:
        """The active profile, and which of its settings the environment overrides."""
        from registry_tui.core.profiles import ProfileError, load_profile, overridden_by_env

        name = self.database.settings.profile
        if not name:
            return Text("Profile  none: settings from the environment and defaults", MUTED)
        line = Text.assemble(("Profile  ", MUTED), safe_text(name, "bold"))
        try:
            overridden = overridden_by_env(load_profile(name))
        except ProfileError:
            return line  # the file changed since: the settings in use are shown above
        if overridden:
            line.append("  the environment overrides ", MUTED)
            line.append_text(safe_text(", ".join(overridden), DOPPEL))
        return line

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return not self.is_connecting
        return True

    @property
    def is_connecting(self) -> bool:
        return any(w.is_running for w in self.workers if w.group == "connect")

    def action_retry(self) -> None:
        if not self.is_connecting:
            self.connect()

    def action_profiles(self) -> None:
        from registry_tui.core.profiles import (
            PROFILE_KEYS,
            ProfileError,
            config_path,
            overridden_by_env,
            read_profiles,
        )
        from registry_tui.tui.screens.profiles import ProfilePicker

        path = config_path()
        try:
            profiles = read_profiles(path)
        except ProfileError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        if not profiles:
            found = "holds no profiles" if path.exists() else "is not found"
            self.notify(f"the config file {path} {found}", markup=False)
            return
        names = sorted(profiles)
        overridden = {name: overridden_by_env(profiles[name]) for name in names}

        def chosen(name: str | None) -> None:
            if name:
                self.app.use_profile(name)  # type: ignore[attr-defined]

        picker = ProfilePicker(
            names,
            f"from {path}",
            active=self.database.settings.profile,
            overridden=overridden,
            environment=[
                f"{variable}={os.environ[variable]}"
                for variable in PROFILE_KEYS.values()
                if os.environ.get(variable)
            ],
        )
        self.app.push_screen(picker, chosen)

    def connect(self) -> None:
        if self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None
        self.attempts += 1
        self._show_attempt()
        self._attempt()

    @work(group="connect", exclusive=True, exit_on_error=False)
    async def _attempt(self) -> None:
        self.post_message(self.Attempted(await guarded(self.database.connect())))

    @on(Attempted)
    def _on_attempted(self, message: Attempted) -> None:
        self.refresh_bindings()
        if isinstance(message.outcome, Registry):
            self.post_message(Connected())
            return
        failure = message.outcome
        self.last_failure = failure
        self.post_message(LinkTrouble(failure.message))
        self.query_one("#connection-title", Static).update(
            Text("Cannot reach the database", style=DOPPEL)
        )
        self.query_one("#connection-error", Static).update(
            Text.assemble(("Error  ", MUTED), safe_text(failure.message))
        )
        if failure.permanent:
            self._set_next(
                Text("Retrying will not help: fix the setting above and start again.", MUTED)
            )
            return
        delay = self.retry_delays[min(self.attempts - 1, len(self.retry_delays) - 1)]
        self._retry_timer = self.set_timer(delay, self.connect)
        self._set_next(
            Text.assemble(
                (f"Attempt {self.attempts} failed. Next attempt in {delay:g} s", MUTED),
                ("  ·  r retry now  ·  ctrl+q quit", MUTED),
            )
        )

    def _show_attempt(self) -> None:
        if self.last_failure is None:
            self.query_one("#connection-title", Static).update(
                Text("Connecting to the registry…", style=HERO)
            )
        self._set_next(Text(f"Attempt {self.attempts}: connecting…", MUTED))
        self.refresh_bindings()

    def _set_next(self, text: Text) -> None:
        self.query_one("#connection-next", Static).update(text)
