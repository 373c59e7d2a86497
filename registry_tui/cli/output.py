"""The only module of the CLI that writes: results to stdout, diagnostics to stderr."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable
from typing import Any

from rich.console import Console, RenderableType

from registry_tui.safe_text import printable

_stdout: Console | None = None
_stderr: Console | None = None


def stdout() -> Console:
    global _stdout
    if _stdout is None:
        _stdout = Console(highlight=False)
    return _stdout


def stderr() -> Console:
    global _stderr
    if _stderr is None:
        _stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    return _stderr


# json.dumps escapes C0 controls only. These are escaped too, so that a document printed to a
# terminal can never drive it (C1 controls such as CSI U+009B, DEL) or reorder or hide what it
# shows (bidi overrides, zero-width characters): the JSON still decodes to the exact value.
_ESCAPED_IN_JSON = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def to_json(document: Any) -> str:
    """One JSON document, safe to print: non-ASCII text stays readable, every control or
    format character is a \\u escape (they can only occur inside strings)."""
    text = json.dumps(document, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(
        _escape(ch) if unicodedata.category(ch) in _ESCAPED_IN_JSON else ch for ch in text
    )


def emit_json(document: Any) -> None:
    sys.stdout.write(to_json(document) + "\n")
    sys.stdout.flush()


class JsonArray:
    """A JSON array written item by item, so a long listing never sits in memory whole."""

    def __init__(self) -> None:
        self._written = 0
        sys.stdout.write("[")

    def extend(self, items: Iterable[Any]) -> None:
        for item in items:
            sys.stdout.write(("," if self._written else "") + to_json(item))
            self._written += 1
        sys.stdout.flush()

    def close(self) -> None:
        sys.stdout.write("]\n")
        sys.stdout.flush()


def emit_text(line: str) -> None:
    """One plain line on stdout (e.g. the version), never styled or wrapped."""
    sys.stdout.write(printable(line) + "\n")
    sys.stdout.flush()


def show(renderable: RenderableType) -> None:
    stdout().print(renderable)


def diagnose(message: str, style: str = "yellow") -> None:
    """A one-line diagnostic on stderr; the message is shown literally, never as markup."""
    stderr().print(printable(message), style=style, markup=False, highlight=False)


def fail(message: str) -> None:
    diagnose(f"error: {message}", style="bold red")
