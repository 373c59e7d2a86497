"""The only module of the CLI that writes: results to stdout, diagnostics to stderr."""

from __future__ import annotations

import json
import sys
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


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit_json_array(items: Iterable[Any]) -> None:
    """Stream a JSON array item by item: a large listing never sits in memory whole."""
    out = sys.stdout
    out.write("[")
    for index, item in enumerate(items):
        out.write(("," if index else "") + json.dumps(item, ensure_ascii=False))
    out.write("]\n")
    out.flush()


def show(renderable: RenderableType) -> None:
    stdout().print(renderable)


def diagnose(message: str, style: str = "yellow") -> None:
    """A one-line diagnostic on stderr; the message is shown literally, never as markup."""
    stderr().print(printable(message), style=style, markup=False, highlight=False)


def fail(message: str) -> None:
    diagnose(f"error: {message}", style="bold red")
