"""Errors that end a front end: one line to show, an exit code and a JSON document each.

Every `registry` command and `python -m registry_tui.tui` ask here, so the same error reads
the same everywhere. Pure: no typer, no rich, and no driver (see `failure_of`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry_tui.core.documents import invalid_doc, unavailable_doc
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.outcomes import Invalid
from registry_tui.core.validation import ValidationError

START_A_DATABASE = "is a database running? `make db-up` starts one"


@dataclass(frozen=True)
class Failure:
    exit_code: ExitCode
    message: str  # one line; a front end shows it as "error: <message>"
    document: dict[str, Any] | None = None  # what --json prints, when there is a document


def invalid_input(field: str, message: str, label: Callable[[str], str] = str) -> Failure:
    """A field that breaks its rule. `label` names the field as the person typed it (a CLI
    flag, say); the document keeps the field's own name, as the REST API does."""
    return Failure(
        ExitCode.INVALID, f"invalid {label(field)}: {message}", invalid_doc(Invalid(field, message))
    )


def database_unavailable(message: str) -> Failure:
    line = message if "authentication" in message else f"{message}; {START_A_DATABASE}"
    return Failure(ExitCode.UNAVAILABLE, line, unavailable_doc(message))


def failure_of(exc: BaseException, label: Callable[[str], str] = str) -> Failure | None:
    """How `exc` ends a front end, or None when it is a bug that must show as one."""
    if isinstance(exc, ValidationError):
        return invalid_input(exc.field, exc.message, label)
    if isinstance(exc, KeyboardInterrupt):
        return Failure(ExitCode.INTERRUPTED, "interrupted")
    # errors.py loads the driver, and a DatabaseUnavailable cannot exist before it is loaded:
    # looking it up rather than importing it keeps a failing `registry` command quick.
    errors = sys.modules.get("registry_tui.core.errors")
    if errors is not None and isinstance(exc, errors.DatabaseUnavailable):
        return database_unavailable(exc.message)
    schema = sys.modules.get("registry_tui.core.schema")
    if schema is not None and isinstance(exc, schema.NeedsAdoption):
        return needs_adoption(exc.message)
    adoption = sys.modules.get("registry_tui.core.adopt")
    if adoption is not None and isinstance(exc, adoption.AdoptionRefused):
        return Failure(ExitCode.INVALID, exc.message, needs_adoption_doc(exc.message))
    return None


def needs_adoption_doc(message: str) -> dict[str, Any]:
    return {"detail": {"error": "needs_adoption", "message": message}}


def needs_adoption(message: str) -> Failure:
    """A write refused on a keyspace `registry adopt` has not brought to v2 yet."""
    return Failure(ExitCode.REFUSED, message, needs_adoption_doc(message))
