"""Every theme Textual offers is readable: the app's own colours (the hero's yellow, Doppel-9's
red, the success green, the brand badge) measured as WCAG contrast ratios against what they are
drawn on, in every theme, on the screen as rendered; and the chosen theme is kept in the config
file and used next time (always a temporary config directory, never the real one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.segment import Segment
from textual.color import Color
from textual.geometry import Region
from textual.theme import BUILTIN_THEMES
from textual.widget import Widget

from registry_tui.core.profiles import load_theme, save_theme
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.palette import BRANDS, GROUNDS, MIN_CONTRAST, contrast, theme_colours
from registry_tui.tui.screens.help import HelpScreen
from tests.tui.conftest import RunApp
from tests.tui.helpers import users_loaded, wait_for

THEMES = sorted(BUILTIN_THEMES)
# The terminal's own palette decides these two: nothing to measure.
ANSI_THEMES = {"ansi-dark", "ansi-light"}


@pytest.mark.parametrize("theme", THEMES)
def test_the_app_colours_reach_aa_contrast_on_every_ground_of_every_theme(theme: str) -> None:
    variables = _theme_variables(theme)
    dark = BUILTIN_THEMES[theme].dark
    colours = {name: Color.parse(value) for name, value in theme_colours(variables, dark).items()}
    if theme in ANSI_THEMES:
        grounds = [Color(0, 0, 0) if dark else Color(255, 255, 255)]
    else:
        grounds = [Color.parse(variables[name]) for name in GROUNDS]
    for name in BRANDS:
        for ground in grounds:
            ratio = contrast(colours[name], ground)
            assert ratio >= MIN_CONTRAST, f"{theme}: ${name} on {ground.hex} is {ratio:.2f}:1"
    badge = contrast(colours["hero-ink"], colours["hero"])
    assert badge >= MIN_CONTRAST, f"{theme}: the brand badge is {badge:.2f}:1"


def _theme_variables(theme: str) -> dict[str, str]:
    definition = BUILTIN_THEMES[theme]
    return {**definition.to_color_system().generate(), **definition.variables}


def _coloured_segments(app: RegistryApp, widget: Widget) -> list[Segment]:
    """The widget's first line as it reaches the terminal (the app's line filters applied)."""
    width = widget.size.width
    strip = widget.render_lines(Region(0, 0, width, 1))[0]
    segments = list(strip)
    for line_filter in app.get_line_filters():
        segments = line_filter.apply(segments, Color.parse(app.theme_variables["background"]))
    return [s for s in segments if s.text.strip() and s.style is not None and s.style.color]


APP_COLOURS = (*BRANDS, "hero-ink")


def _worst(app: RegistryApp, widget: Widget) -> tuple[float, str]:
    """The lowest contrast of the text drawn in one of the app's own colours (the theme's own
    foreground is the theme's business)."""
    background = Color.parse(app.theme_variables["background"])
    ours = {Color.parse(app.theme_variables[name]).hex for name in APP_COLOURS}
    worst = (99.0, "")
    for segment in _coloured_segments(app, widget):
        style = segment.style
        assert style is not None and style.color is not None
        fg = Color.from_rich_color(style.color)
        if style.dim or fg.hex not in ours:
            continue
        bg = Color.from_rich_color(style.bgcolor) if style.bgcolor else background
        if style.reverse:
            fg, bg = bg, fg
        ratio = contrast(fg, bg)
        worst = min(worst, (ratio, f"{segment.text!r} {fg.hex} on {bg.hex}"))
    return worst


@pytest.mark.db
@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_every_theme_draws_the_app_colours_readably(
    run_app: RunApp, size: tuple[int, int]
) -> None:
    """The brand badge, the link indicator, the users table's header ($hero) and the help's
    keys (Rich text in the hero's colour) in each theme, measured on the rendered lines."""
    async with run_app(size=size) as (app, pilot):
        screen = await users_loaded(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_keys = app.screen.query_one("#help-keys")
        for theme in THEMES:
            if theme in ANSI_THEMES:
                continue
            app.theme = theme
            await pilot.pause()
            checks = {
                "brand badge": screen.query_one(".banner .brand"),
                "link indicator": screen.query_one(".banner .indicator"),
                "users header": screen.table,
                "help keys": help_keys,
            }
            for what, widget in checks.items():
                ratio, where = _worst(app, widget)
                assert where, f"{theme}: nothing coloured in the {what}"
                assert ratio >= MIN_CONTRAST, f"{theme}: {what} {where} is {ratio:.2f}:1"


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME and XDG_CONFIG_HOME for the config file; the real one is never read."""
    monkeypatch.delenv("REGISTRY_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "registry-tui" / "config.toml"


@pytest.mark.db
@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_the_chosen_theme_is_saved_and_used_next_time(
    run_app: RunApp, config_home: Path, size: tuple[int, int]
) -> None:
    config_home.parent.mkdir(parents=True)
    config_home.write_text('[profiles.local]\nhosts = "127.0.0.1"\n')
    async with run_app(size=size, remember_theme=True) as (app, pilot):
        await users_loaded(pilot)
        assert app.theme == "textual-dark"  # nothing saved yet: the default
        app.theme = "nord"  # what the palette's Theme command does
        await pilot.pause()
    assert load_theme() == "nord"
    assert config_home.read_text().startswith('[profiles.local]\nhosts = "127.0.0.1"\n')

    async with run_app(size=size, remember_theme=True) as (app, pilot):
        await users_loaded(pilot)
        assert app.theme == "nord"


@pytest.mark.db
async def test_a_saved_theme_that_no_longer_exists_means_the_default(
    run_app: RunApp, config_home: Path
) -> None:
    save_theme("no-such-theme")
    async with run_app(remember_theme=True) as (app, pilot):
        await users_loaded(pilot)
        assert app.theme == "textual-dark"


@pytest.mark.db
async def test_tests_and_embedders_neither_read_nor_write_the_config(
    run_app: RunApp, config_home: Path
) -> None:
    save_theme("dracula")
    async with run_app() as (app, pilot):
        await users_loaded(pilot)
        assert app.theme == "textual-dark"
        app.theme = "gruvbox"
        await pilot.pause()
    assert load_theme() == "dracula"
