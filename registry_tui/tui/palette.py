"""The app's own colours (the hero's yellow, Doppel-9's red, success green, muted grey), made
readable on every Textual theme.

The brand colours are tuned for a dark background; on a light theme the hero's yellow is
nearly invisible. For each theme, each brand colour is darkened (light themes) or lightened
(dark ones) just enough to reach WCAG's 4.5:1 against every background the app writes it on
($background, $surface, $panel and their shades). The stylesheet reads the results as $hero,
$doppel, $ok, $muted and $hero-ink (text on a $hero background); text written as Rich styles
(text.py's HERO, DOPPEL, OK, MUTED) is recoloured on its way to the screen by `BrandRecolour`,
a line filter."""

from __future__ import annotations

from collections.abc import Mapping

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color, ColorParseError
from textual.filter import LineFilter

HERO_BRAND = "#ffcc33"
DOPPEL_BRAND = "#ff4d5e"
OK_BRAND = "#4cc764"
MUTED_BRAND = "#9e9e9e"  # secondary text: hints, labels, what a number counts
BRANDS: Mapping[str, str] = {
    "hero": HERO_BRAND,
    "doppel": DOPPEL_BRAND,
    "ok": OK_BRAND,
    "muted": MUTED_BRAND,
}
# WCAG 2 AA for normal text.
MIN_CONTRAST = 4.5
# The theme variables the app's text sits on (the table's rows and header use the surface's
# shades, and a focused widget tints its ground 5% towards the foreground).
GROUNDS = ("background", "surface", "panel", "surface-lighten-1", "surface-darken-1")
FOCUS_TINT = 0.05


def luminance(colour: Color) -> float:
    """WCAG relative luminance."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def contrast(one: Color, other: Color) -> float:
    """WCAG contrast ratio, 1 to 21."""
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable(colour: Color, grounds: list[Color], dark: bool) -> Color:
    """`colour`, lightened (dark theme) or darkened (light theme) by the least step that
    reaches MIN_CONTRAST against every ground; black or white if nothing in between does."""
    for step in range(51):
        amount = step / 50
        if not step:
            candidate = colour
        else:
            candidate = colour.lighten(amount) if dark else colour.darken(amount)
        if all(contrast(candidate, ground) >= MIN_CONTRAST for ground in grounds):
            return candidate
    return Color(255, 255, 255) if dark else Color(0, 0, 0)


def _solid(value: str, fallback: Color) -> Color:
    """A theme variable as an opaque colour (ANSI themes leave the colour to the terminal: the
    fallback, black or white, stands in for it)."""
    try:
        colour = Color.parse(value)
    except ColorParseError:
        return fallback
    return fallback if colour.ansi is not None or colour.a == 0 else fallback + colour


def theme_colours(variables: Mapping[str, str], dark: bool) -> dict[str, str]:
    """The app's variables for a theme whose Textual variables are `variables`."""
    fallback = Color(0, 0, 0) if dark else Color(255, 255, 255)
    grounds = [_solid(variables.get(name, ""), fallback) for name in GROUNDS]
    foreground = _solid(variables.get("foreground", ""), fallback.inverse)
    grounds += [ground.blend(foreground, FOCUS_TINT) for ground in grounds]
    made = {name: readable(Color.parse(brand), grounds, dark) for name, brand in BRANDS.items()}
    hero = made["hero"]
    ink = max((Color(0, 0, 0), Color(255, 255, 255)), key=lambda c: contrast(c, hero))
    return {**{name: c.hex for name, c in made.items()}, "hero-ink": ink.hex}


class BrandRecolour(LineFilter):
    """Swaps the brand colours in Rich-styled text for the current theme's readable ones."""

    def __init__(self) -> None:
        super().__init__(enabled=True)
        self._swap: dict[tuple[int, int, int], RichColor] = {}
        self._styles: dict[Style, Style] = {}

    def use(self, colours: Mapping[str, str]) -> None:
        swap: dict[tuple[int, int, int], RichColor] = {}
        for name, brand in BRANDS.items():
            source = Color.parse(brand)
            target = Color.parse(colours[name])
            if (source.r, source.g, source.b) != (target.r, target.g, target.b):
                swap[(source.r, source.g, source.b)] = target.rich_color
        self._swap = swap
        self._styles = {}

    def _restyle(self, style: Style) -> Style:
        done = self._styles.get(style)
        if done is None:
            colour = style.color
            triplet = colour.triplet if colour is not None else None
            key = tuple(triplet) if triplet is not None else None
            target = self._swap.get(key) if key is not None else None  # type: ignore[arg-type]
            done = style + Style(color=target) if target is not None else style
            if len(self._styles) > 4096:  # styles come and go with the data shown
                self._styles.clear()
            self._styles[style] = done
        return done

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if not self._swap:
            return segments
        return [
            Segment(text, self._restyle(style), control)
            if style is not None and style.color is not None
            else Segment(text, style, control)
            for text, style, control in segments
        ]
