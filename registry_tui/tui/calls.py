"""How a screen runs one registry operation: whatever happens comes back as a value.

Workers return what `guarded` gives them and post it to their screen; they never touch a
widget and never let an exception escape (an escaped exception would print a traceback).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from registry_tui.core.errors import DatabaseUnavailable, one_line
from registry_tui.core.validation import ValidationError

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """A call that raised instead of returning an outcome. Nothing was decided by it."""

    message: str
    # True: the database could not be reached or answered too slowly (worth retrying).
    unavailable: bool = True
    # True: retrying cannot help (e.g. an invalid keyspace name in the settings).
    permanent: bool = False


async def guarded(call: Awaitable[T]) -> T | Failure:
    """Await one registry operation; a raised error becomes a `Failure` in one line."""
    try:
        return await call
    except DatabaseUnavailable as exc:
        return Failure(exc.message)
    except ValidationError as exc:
        return Failure(f"{exc.field}: {exc.message}", unavailable=False, permanent=True)
    except Exception as exc:  # a driver surprise must reach the person as a line, not a trace
        return Failure(one_line(exc), unavailable=False)
