"""The one classification of driver errors (errors.classify) and the helpers built on it."""

from __future__ import annotations

import asyncio

import pytest
from cassandra import (
    AuthenticationFailed,
    ConsistencyLevel,
    InvalidRequest,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteFailure,
    WriteTimeout,
    WriteType,
)
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionBusy, ConnectionException
from cassandra.protocol import ErrorMessage, ServerError

from registry_tui.core.errors import (
    CAS_WRITE_UNKNOWN,
    DatabaseUnavailable,
    ErrorKind,
    classify,
    is_ambiguous_write_error,
    is_unavailable_error,
)

AMBIGUOUS = ErrorKind.AMBIGUOUS
UNAVAILABLE = ErrorKind.UNAVAILABLE
REJECTED = ErrorKind.REJECTED
OTHER = ErrorKind.OTHER

CASES: list[tuple[BaseException, ErrorKind]] = [
    (WriteTimeout("cas timeout", write_type=WriteType.CAS), AMBIGUOUS),
    (WriteTimeout("commit timeout", write_type=WriteType.SIMPLE), AMBIGUOUS),
    (ReadTimeout("precondition read timeout"), AMBIGUOUS),
    (OperationTimedOut("client gave up"), AMBIGUOUS),
    (ConnectionException("connection reset"), AMBIGUOUS),
    (ConnectionBusy("too many requests in flight"), AMBIGUOUS),
    (NoHostAvailable("no host", {"127.0.0.1:9042": OSError("refused")}), AMBIGUOUS),
    (ConnectionResetError("reset by peer"), AMBIGUOUS),
    (TimeoutError(), AMBIGUOUS),
    (ErrorMessage(CAS_WRITE_UNKNOWN, "CAS write unknown", None), AMBIGUOUS),
    (Unavailable("2 of 3 down", ConsistencyLevel.SERIAL, 2, 1), UNAVAILABLE),
    (AuthenticationFailed("bad credentials"), UNAVAILABLE),
    (DatabaseUnavailable("cannot connect", "127.0.0.1"), UNAVAILABLE),
    (InvalidRequest("unknown column"), REJECTED),
    (WriteFailure("replica failed"), REJECTED),
    (ServerError(0x0000, "boom", None), REJECTED),
    (ErrorMessage(0x1001, "overloaded", None), REJECTED),
    (ValueError("a bug of ours"), OTHER),
    (KeyError("user_id"), OTHER),
    (asyncio.CancelledError(), OTHER),
]


@pytest.mark.parametrize(("exc", "kind"), CASES, ids=lambda v: type(v).__name__)
def test_classify(exc: BaseException, kind: ErrorKind) -> None:
    assert classify(exc) is kind


@pytest.mark.parametrize(("exc", "kind"), CASES, ids=lambda v: type(v).__name__)
def test_a_write_is_ambiguous_only_when_it_may_have_applied(
    exc: BaseException, kind: ErrorKind
) -> None:
    assert is_ambiguous_write_error(exc) is (kind is AMBIGUOUS)


@pytest.mark.parametrize(("exc", "kind"), CASES, ids=lambda v: type(v).__name__)
def test_a_read_without_an_answer_is_unavailable(exc: BaseException, kind: ErrorKind) -> None:
    assert is_unavailable_error(exc) is (kind in (AMBIGUOUS, UNAVAILABLE))


def test_an_unavailable_error_becomes_one_line_naming_the_hosts() -> None:
    exc = Unavailable("x", ConsistencyLevel.SERIAL, 2, 1)
    made = DatabaseUnavailable.from_error(exc, "127.0.0.1:9042")
    assert made.message == "not enough live replicas for SERIAL: 1 of 2 needed are up"
    assert made.hosts == "127.0.0.1:9042"


def test_an_existing_database_unavailable_is_passed_on_unchanged() -> None:
    first = DatabaseUnavailable("cannot connect", "node-a")
    assert DatabaseUnavailable.from_error(first, "node-b") is first
