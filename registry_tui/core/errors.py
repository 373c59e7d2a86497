"""Driver failures, sorted into what they mean for the person waiting."""

from __future__ import annotations

from cassandra import (
    AuthenticationFailed,
    ConsistencyLevel,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
    WriteType,
)
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionBusy, ConnectionException
from cassandra.protocol import ErrorMessage

CAS_WRITE_UNKNOWN = 0x1700


class DatabaseUnavailable(Exception):
    """The database cannot be reached, is too slow, or refuses us. Nothing was decided."""

    def __init__(self, message: str, hosts: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hosts = hosts


def is_ambiguous_write_error(exc: BaseException) -> bool:
    """True when a conditional write failed in a way that may still have applied it."""
    if isinstance(exc, WriteTimeout | OperationTimedOut | ReadTimeout):
        return True
    if isinstance(exc, ConnectionException | ConnectionBusy):
        # The connection died (reset, heartbeat timeout) with the request possibly sent.
        return True
    if isinstance(exc, NoHostAvailable):
        # The request may have reached a host whose connection then died.
        return True
    if isinstance(exc, ErrorMessage) and getattr(exc, "code", None) == CAS_WRITE_UNKNOWN:
        return True
    return isinstance(exc, ConnectionError | OSError)


def is_unavailable_error(exc: BaseException) -> bool:
    return isinstance(
        exc,
        Unavailable
        | NoHostAvailable
        | OperationTimedOut
        | ReadTimeout
        | WriteTimeout
        | AuthenticationFailed
        | ConnectionException
        | ConnectionBusy
        | ConnectionError
        | OSError,
    ) or (isinstance(exc, ErrorMessage) and getattr(exc, "code", None) == CAS_WRITE_UNKNOWN)


def one_line(exc: BaseException) -> str:
    """A driver error as one short line, without the password or a traceback."""
    if isinstance(exc, NoHostAvailable):
        errors = getattr(exc, "errors", {}) or {}
        if errors:
            host, err = next(iter(errors.items()))
            text = _short(err)
            if isinstance(err, AuthenticationFailed) or "authenticat" in text.lower():
                return f"authentication failed at {host}: check SCYLLA_USERNAME/SCYLLA_PASSWORD"
            return f"no host answered ({host}: {text})"
        return "no host answered"
    if isinstance(exc, AuthenticationFailed):
        return "authentication failed: check SCYLLA_USERNAME/SCYLLA_PASSWORD"
    if isinstance(exc, Unavailable):
        return (
            f"not enough live replicas for {_cl(exc.consistency)}: "
            f"{exc.alive_replicas} of {exc.required_replicas} needed are up"
        )
    if isinstance(exc, WriteTimeout):
        kind = "CAS write" if exc.write_type == WriteType.CAS else "write"
        return (
            f"{kind} timed out at {_cl(exc.consistency)}: "
            f"{exc.received_responses} of {exc.required_responses} replicas answered"
        )
    if isinstance(exc, ReadTimeout):
        return (
            f"read timed out at {_cl(exc.consistency)}: "
            f"{exc.received_responses} of {exc.required_responses} replicas answered"
        )
    if isinstance(exc, OperationTimedOut):
        return "the database did not answer in time"
    return _short(exc)


def _cl(level: object) -> str:
    return str(ConsistencyLevel.value_to_name.get(level, level))  # type: ignore[call-overload]


def _short(exc: object) -> str:
    text = str(exc).replace("\n", " ").strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
