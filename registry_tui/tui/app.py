"""The registry as a terminal app: `run_tui(settings)` is the whole entry point.

The app owns the database handle and the link state; screens own their workers. It starts on
the connection screen (which retries with backoff until the database answers) and shows the
users once connected. A lost connection mid-session only changes the status indicator."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.theme import Theme

from registry_tui.core.config import Settings
from registry_tui.core.logs import quiet_driver_logs
from registry_tui.core.profiles import load_theme, save_theme
from registry_tui.core.session import Database
from registry_tui.core.validation import ValidationError
from registry_tui.tui.link import Link, LinkState
from registry_tui.tui.messages import Connected, LinkTrouble
from registry_tui.tui.palette import BrandRecolour, theme_colours
from registry_tui.tui.screens.connection import RETRY_DELAYS, ConnectionScreen
from registry_tui.tui.screens.help import HelpScreen, screen_keys
from registry_tui.tui.screens.race import RaceScreen
from registry_tui.tui.screens.users import UsersScreen

HEALTH_INTERVAL_S = 5.0
DEFAULT_THEME = "textual-dark"


class RegistryApp(App[int]):
    TITLE = "Identity Registry"
    CSS_PATH = "registry.tcss"
    # Textual declares this one without ClassVar; "-narrow" hides what 80 columns cannot fit.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (100, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="app.quit",
            priority=True,
            tooltip="Close the connections and leave",
        ),
        Binding(
            "f1,question_mark",
            "help",
            "Help",
            id="app.help",
            tooltip="The keys of this screen",
        ),
        Binding("f2", "users", "Users", id="app.users", tooltip="Back to the users table"),
        Binding(
            "f9",
            "adopt",
            "Adopt keyspace",
            id="app.adopt",
            tooltip="Bring this keyspace to schema v2, as `registry adopt` does",
        ),
        Binding(
            "f3",
            "race",
            "Race",
            id="app.race",
            tooltip="The race panel: heroes race clones, then audit",
        ),
    ]

    link: reactive[Link] = reactive(Link(LinkState.CONNECTING), always_update=True)

    def __init__(
        self,
        settings: Settings,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        health_interval: float = HEALTH_INTERVAL_S,
        remember_theme: bool = False,
    ) -> None:
        """`remember_theme`: start with the theme saved in the config file, and save the one
        chosen (the command palette's Theme) there for next time."""
        super().__init__()
        self.settings = settings
        self.database = Database(settings)
        self.retry_delays = retry_delays
        self.health_interval = health_interval
        self.remember_theme = remember_theme
        saved = load_theme() if remember_theme else None
        self.theme = saved if saved in self.available_themes else DEFAULT_THEME

    # ---------------------------------------------------------------- colours

    def get_css_variables(self) -> dict[str, str]:
        """Textual's variables for the theme, plus the app's own colours made readable on it
        ($hero, $doppel, $ok, $muted, $hero-ink); Rich-styled text gets the same shades."""
        variables = super().get_css_variables()
        colours = theme_colours(variables, self.current_theme.dark)
        if not hasattr(self, "brand_recolour"):  # this runs first inside App.__init__
            self.brand_recolour = BrandRecolour()
            self._filters.insert(0, self.brand_recolour)  # before NO_COLOR's monochrome
        self.brand_recolour.use(colours)
        self.theme_variables = {**variables, **colours}
        return self.theme_variables

    def _theme_changed(self, theme: Theme) -> None:
        if not self.remember_theme:
            return
        try:
            save_theme(theme.name)
        except ValidationError as exc:
            self.notify(
                f"Theme not saved: {exc.message}", severity="warning", markup=False, timeout=6
            )

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.link = Link(LinkState.CONNECTING, self.settings.hosts)
        self.push_screen(ConnectionScreen(self.database, self.retry_delays))

    def use_profile(self, name: str) -> None:
        """Connect with the profile `name` (under the environment), from the connection
        screen. A profile that cannot be used is one notification; nothing changes."""
        from registry_tui.core.config import settings_from_env
        from registry_tui.core.profiles import profile_env

        try:
            settings = settings_from_env(profile_env(name))
        except ValidationError as exc:
            self.notify(f"{exc.field}: {exc.message}", severity="error", markup=False)
            return
        self.run_worker(self._reconnect(settings), group="profile", exclusive=True)

    async def _reconnect(self, settings: Settings) -> None:
        await self.database.close()
        self.settings = settings
        self.database = Database(settings)
        self.link = Link(LinkState.CONNECTING, settings.hosts)
        await self.switch_screen(ConnectionScreen(self.database, self.retry_delays))

    async def on_unmount(self) -> None:
        await self.database.close()

    # ---------------------------------------------------------------- the link

    @on(Connected)
    async def _connected(self) -> None:
        self.check_link()
        self._offer_adoption()
        self.set_interval(self.health_interval, self.check_link)
        # Whatever was opened over the connection screen meanwhile (help, race) gives way.
        while not isinstance(self.screen, ConnectionScreen):
            await self.pop_screen()
        await self.switch_screen(UsersScreen(self.database))

    @on(LinkTrouble)
    def _trouble(self, message: LinkTrouble) -> None:
        self.check_link(message.detail)

    def check_link(self, detail: str = "") -> None:
        """Driver state only (no query): which hosts hold a live connection right now."""
        if not self.database.connected:  # still on the connection screen
            state = LinkState.OFFLINE if detail else LinkState.CONNECTING
            self.link = Link(state, self.settings.hosts, detail)
            return
        up = tuple(self.database.hosts_up())
        connection = self.database.connection
        warnings = connection.warnings() if connection is not None else []
        if up:
            self.link = Link(LinkState.ONLINE, up, detail, " ".join(warnings))
        else:
            self.link = Link(
                LinkState.OFFLINE,
                self.settings.hosts,
                detail or "no host answers; the driver keeps reconnecting",
            )

    # ---------------------------------------------------------------- adoption

    @property
    def needs_adoption(self) -> bool:
        connection = self.database.connection
        if connection is None:
            return False
        from registry_tui.core.schema import known_layout

        layout = known_layout(connection)
        return layout is not None and layout.needs_adoption

    def _offer_adoption(self) -> None:
        connection = self.database.connection
        if connection is None or not self.needs_adoption:
            return
        from registry_tui.core.schema import known_layout

        layout = known_layout(connection)
        assert layout is not None
        self.sub_title = "needs adoption: F9"
        self.notify(
            f"{layout.describe()}: reads work, writes are refused until it is adopted. "
            "Press F9 to adopt it now (what `registry adopt` does).",
            title="Keyspace needs adoption",
            severity="warning",
            timeout=3600,
            markup=False,
        )
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """False hides a key from the footer (and ignores it) where it would do nothing or
        would yank a dialog away without its answer."""
        screen = self.screen
        if action == "adopt":
            return self.needs_adoption
        if action == "help":
            return not isinstance(screen, HelpScreen)
        if action in ("users", "race") and isinstance(screen, ModalScreen):
            return False
        if action == "users":
            return not isinstance(screen, UsersScreen) and any(
                isinstance(s, UsersScreen) for s in self.screen_stack
            )
        if action == "race":
            return not isinstance(screen, RaceScreen)
        return True

    def action_adopt(self) -> None:
        self.run_worker(self._adopt(), group="adopt", exclusive=True, exit_on_error=False)

    async def _adopt(self) -> None:
        from registry_tui.core.adopt import adopt
        from registry_tui.tui.calls import Failure, guarded

        connection = self.database.connection
        if connection is None:
            return
        self.notify("Adopting the keyspace…", markup=False)
        report = await guarded(adopt(connection))
        if isinstance(report, Failure):
            self.notify(
                f"Adoption stopped: {report.message}. Press F9 to finish it.",
                severity="error",
                markup=False,
            )
            return
        self.clear_notifications()
        done = (
            f"Adopted: {report.rows_seen} rows seen, {report.adopted} adopted, "
            f"{report.already_current} already current, {len(report.conflicts)} conflict(s)."
        )
        if report.conflicts:
            names = ", ".join(c.username for c in report.conflicts[:5])
            done += f" Kept readable, not adopted: {names}. See `registry adopt` for the list."
        self.sub_title = ""
        self.notify(done, severity="warning" if report.conflicts else "information", markup=False)
        self.refresh_bindings()

    # ---------------------------------------------------------------- navigation

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        name = type(self.screen).__name__.removesuffix("Screen") or "App"
        self.push_screen(HelpScreen(name, screen_keys(self.screen)))

    def action_users(self) -> None:
        if not any(isinstance(s, UsersScreen) for s in self.screen_stack):
            self.notify("Not connected yet.", severity="warning", markup=False)
            return
        while not isinstance(self.screen, UsersScreen):
            self.pop_screen()

    def action_race(self) -> None:
        # One race panel per session, installed so that popping it keeps it alive: its
        # attack (a worker of that screen) and its last reports outlive leaving the panel.
        if not self.is_screen_installed("race"):
            self.install_screen(RaceScreen(self.database), "race")
        race = self.get_screen("race")
        if race in self.screen_stack:
            while self.screen is not race:
                self.pop_screen()
        else:
            self.push_screen(race)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette offers every action of the screen it was opened from (each of our
        bindings has an id), each once, then Textual's own (theme, screenshot…)."""
        titles: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.id is None or not binding.description or binding.description in titles:
                continue
            titles.add(binding.description)
            yield SystemCommand(
                binding.description,
                binding.tooltip or f"Key: {self.get_key_display(binding)}",
                partial(self.run_action, binding.action, active.node),
            )
        for command in super().get_system_commands(screen):
            # Textual's "Keys" panel says what our Help (F1) says.
            if command.title not in titles and command.title != "Keys":
                yield command


def run_tui(settings: Settings) -> int:
    """Open the app and return its exit code (0 when the person quits)."""
    quiet_driver_logs()  # a log line on the terminal would tear through the screen
    app = RegistryApp(settings, remember_theme=True)
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
