"""Driver failures, sorted into what they mean for the person waiting."""

from __future__ import annotations

import enum

from cassandra import (
    AuthenticationFailed,
    ConsistencyLevel,
    DriverException,
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

    @classmethod
    def from_error(cls, exc: BaseException, hosts: str) -> DatabaseUnavailable:
        """The one-line form of a database failure (an existing one is passed on as it is)."""
        if isinstance(exc, DatabaseUnavailable):
            return exc
        return cls(one_line(exc), hosts)


class ErrorKind(enum.Enum):
    """What a failure means for the person waiting on it."""

    AMBIGUOUS = "ambiguous"  # the request may have reached the database: a write may have applied
    UNAVAILABLE = "unavailable"  # refused before anything was written: too few replicas, login
    REJECTED = "rejected"  # the database answered with an error of its own (invalid, failure)
    OTHER = "other"  # not a failure of the database conversation: a bug, raised as it is


# Timeouts and lost connections: the request may have been sent and even applied. A
# NoHostAvailable may come from a host whose connection died after the request reached it.
_AMBIGUOUS = (
    WriteTimeout
    | ReadTimeout
    | OperationTimedOut
    | ConnectionException
    | ConnectionBusy
    | NoHostAvailable
    | ConnectionError
    | OSError
)
_UNAVAILABLE = Unavailable | AuthenticationFailed | DatabaseUnavailable


def classify(exc: BaseException) -> ErrorKind:
    """The one classification of driver errors, for reads and conditional writes alike."""
    if isinstance(exc, ErrorMessage) and getattr(exc, "code", None) == CAS_WRITE_UNKNOWN:
        # Protocol v5's CAS_WRITE_UNKNOWN has no driver class: it arrives as a bare message.
        return ErrorKind.AMBIGUOUS
    if isinstance(exc, _AMBIGUOUS):
        return ErrorKind.AMBIGUOUS
    if isinstance(exc, _UNAVAILABLE):
        return ErrorKind.UNAVAILABLE
    if isinstance(exc, DriverException | ErrorMessage):
        return ErrorKind.REJECTED
    return ErrorKind.OTHER


def is_ambiguous_write_error(exc: BaseException) -> bool:
    """True when a conditional write failed in a way that may still have applied it."""
    return classify(exc) is ErrorKind.AMBIGUOUS


def is_unavailable_error(exc: BaseException) -> bool:
    """True when a read got no answer: for a read, an ambiguous failure decided nothing either."""
    return classify(exc) in (ErrorKind.AMBIGUOUS, ErrorKind.UNAVAILABLE)


def one_line(exc: BaseException) -> str:
    """A driver error as one short line, without the password or a traceback."""
    if isinstance(exc, NoHostAvailable):
        errors = getattr(exc, "errors", {}) or {}
        if errors and not isinstance(errors, dict):  # some driver paths give a bare list
            return f"no host answered ({_short(errors[0] if errors else exc)})"
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
