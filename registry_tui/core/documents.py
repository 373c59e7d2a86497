"""The JSON documents of the demo's REST API, built from typed outcomes.

One mapping for every front end that speaks JSON (the CLI's --json, the REST server): each
outcome becomes (HTTP status, document, exit code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.outcomes import (
    CleanupFinished,
    Deleted,
    EmailOwner,
    EmailTaken,
    Invalid,
    NotFound,
    ProfileRecord,
    Registered,
    Unknown,
    Updated,
    UsernameTaken,
    UserRecord,
    VersionConflict,
)


@dataclass(frozen=True)
class Answer:
    status: int  # the demo's HTTP status for this outcome
    document: Any
    exit_code: ExitCode


def registration_doc(user: UserRecord) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "dimension": user.dimension,
        "registered_at": user.registered_at.isoformat() if user.registered_at else None,
        "user_id": str(user.user_id),
    }


def profile_doc(profile: ProfileRecord) -> dict[str, Any]:
    return {
        "user_id": str(profile.user_id),
        "username": profile.username,
        "bio": profile.bio,
        "status": profile.status,
        "version": profile.version,
        "updated_at": profile.updated_at.isoformat() if profile.updated_at else None,
    }


def email_owner_doc(owner: EmailOwner) -> dict[str, Any]:
    return {
        "email": owner.email,
        "username": owner.username,
        "user_id": str(owner.user_id),
        "state": owner.state,
    }


def invalid_doc(invalid: Invalid, path_fields: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The shape FastAPI gives a failed parameter validation (422); `path_fields` names the
    fields an endpoint takes in its path rather than its query string."""
    where = "path" if invalid.field in path_fields else "query"
    return {
        "detail": [{"loc": [where, invalid.field], "msg": invalid.message, "type": "value_error"}]
    }


def unknown_doc(unknown: Unknown) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "error": "outcome_unknown",
        "operation": unknown.operation,
        "key": unknown.key,
        "reason": unknown.reason,
    }
    if unknown.user_id is not None:
        detail["user_id"] = str(unknown.user_id)
    if unknown.current_read:
        # The row as the resolving SERIAL read found it (null: no row).
        current = unknown.current
        if isinstance(current, UserRecord):
            detail["current"] = registration_doc(current)
        elif isinstance(current, ProfileRecord):
            detail["current"] = profile_doc(current)
        else:
            detail["current"] = None
    return {"detail": detail}


def unavailable_doc(message: str) -> dict[str, Any]:
    return {"detail": {"error": "database_unavailable", "message": message}}


def answer(outcome: object, path_fields: frozenset[str] = frozenset()) -> Answer:
    """Map any registry outcome to the demo's status code and document."""
    doc: Any
    if isinstance(outcome, Registered):
        return Answer(201, {"applied": True, "username": outcome.user.username}, ExitCode.OK)
    if isinstance(outcome, UsernameTaken):
        doc = {
            "detail": {"error": "username_taken", "existing": registration_doc(outcome.existing)}
        }
        return Answer(409, doc, ExitCode.REFUSED)
    if isinstance(outcome, EmailTaken):
        doc = {"detail": {"error": "email_taken", "existing": email_owner_doc(outcome.owner)}}
        return Answer(409, doc, ExitCode.REFUSED)
    if isinstance(outcome, Deleted):
        doc = {"applied": True, "username": outcome.user.username}
        if outcome.leftovers:
            doc["leftovers"] = list(outcome.leftovers)
        return Answer(204, doc, ExitCode.OK)
    if isinstance(outcome, CleanupFinished):
        # The registration was already gone: this delete removed what an earlier one left.
        doc = {
            "applied": True,
            "username": outcome.username,
            "user_id": str(outcome.user_id),
            "finished": "an earlier delete's clean-up",
        }
        if outcome.leftovers:
            doc["leftovers"] = list(outcome.leftovers)
        return Answer(204, doc, ExitCode.OK)
    if isinstance(outcome, Updated):
        doc = {
            "applied": True,
            "user_id": str(outcome.profile.user_id),
            "version": outcome.profile.version,
        }
        return Answer(200, doc, ExitCode.OK)
    if isinstance(outcome, VersionConflict):
        doc = {"detail": {"error": "version_conflict", "existing": profile_doc(outcome.current)}}
        return Answer(409, doc, ExitCode.REFUSED)
    if isinstance(outcome, NotFound):
        message = "User not found" if outcome.what == "user" else "Profile not found"
        return Answer(404, {"detail": message}, ExitCode.REFUSED)
    if isinstance(outcome, Invalid):
        return Answer(422, invalid_doc(outcome, path_fields), ExitCode.INVALID)
    if isinstance(outcome, Unknown):
        return Answer(504, unknown_doc(outcome), ExitCode.UNKNOWN)
    if isinstance(outcome, UserRecord):
        return Answer(200, registration_doc(outcome), ExitCode.OK)
    if isinstance(outcome, ProfileRecord):
        return Answer(200, profile_doc(outcome), ExitCode.OK)
    raise TypeError(f"no document for {type(outcome).__name__}")
