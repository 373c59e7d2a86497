"""How the registry reads and writes its rows: the one seam between its rules and the driver.

`Registry` makes every database request of its operations through a `RowStore`: point reads
(`read_one`, plain or at SERIAL) and conditional writes (`write`). `DatabaseRows` is the real
one. A test that must force an interleaving or a lost answer wraps it (delays a write, sends it
with a tiny client timeout, fails a read) while every request still reaches the database; a
`ConditionalWrite` names its step so a wrapper can pick the write it means.
"""

from __future__ import annotations

import enum
import functools
from collections import namedtuple
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, NamedTuple, Protocol, TypeVar

from cassandra import InvalidRequest, Unavailable
from coodie.aio import Document
from coodie.cql_builder import build_insert_from_columns
from coodie.drivers import get_driver
from coodie.results import LWTResult

from registry_tui.core.config import Settings
from registry_tui.core.errors import (
    DatabaseUnavailable,
    is_ambiguous_write_error,
    is_unavailable_error,
    one_line,
)
from registry_tui.core.outcomes import ProfileRecord, Unknown, UserRecord
from registry_tui.core.store import (
    Connection,
    LoopFriendlyDriver,
    read_gate,
    serial_read_level,
)

# Tries of one conditional write whose earlier tries were shown (by a SERIAL read) not to
# have applied, before the outcome is reported as unknown.
WRITE_ATTEMPTS = 3

T = TypeVar("T")


class WriteStep(enum.Enum):
    """Every kind of write the registry makes. All are conditional but the two that touch
    only a profile's first version, at the fixed birth timestamp (see core/registration.py)."""

    CLAIM_EMAIL = "claim e-mail"  # INSERT claim IF NOT EXISTS
    RELEASE_CLAIM = "release claim"  # DELETE claim IF user_id = ours
    INSERT_REGISTRATION = "insert registration"  # INSERT IF NOT EXISTS: the commit point
    DELETE_REGISTRATION = "delete registration"  # DELETE IF user_id = that identity
    CREATE_PROFILE = "create profile"  # plain INSERT, version 1, at the birth timestamp
    UPDATE_PROFILE = "update profile"  # UPDATE IF version = expected
    DELETE_PROFILE = "delete profile"  # DELETE IF EXISTS
    BURY_PROFILE_BIRTH = "bury profile birth"  # plain DELETE just after the birth timestamp


Statement = Callable[[float], Awaitable[LWTResult | None]]


class ConditionalWrite(NamedTuple):
    """One conditional write: its step, the row it writes, and the statement that sends it
    with a given client-side timeout (seconds; an UPDATE runs with the execution profile's
    request timeout instead, as coodie's `update()` takes none). A named tuple: three of them
    are made per registration, and a tuple is the cheapest immutable record to build."""

    step: WriteStep
    row: Any
    statement: Statement

    def run(self, timeout: float) -> Awaitable[LWTResult | None]:
        return self.statement(timeout)  # awaited by the caller: one coroutine fewer per write


class AmbiguousWrite(Exception):
    """A conditional write failed in a way that may have applied it (timeout, lost
    connection, CAS_WRITE_UNKNOWN): a SERIAL read against its token must decide."""


class RowStore(Protocol):
    async def read_one(self, model: type[Document], serial: bool = False, **key: Any) -> Any:
        """The row of `model` at `key` (None when absent); at SERIAL when `serial`, which also
        completes any Paxos round in flight on it. Raises DatabaseUnavailable."""
        ...

    async def write(self, write: ConditionalWrite) -> LWTResult:
        """Run `write` once. Raises AmbiguousWrite when it may or may not have applied,
        DatabaseUnavailable when it surely did not (too few replicas, no host)."""
        ...


def unavailable(exc: BaseException, settings: Settings) -> DatabaseUnavailable:
    """A driver failure as the one-line DatabaseUnavailable a person sees."""
    return DatabaseUnavailable.from_error(exc, settings.describe())


class DatabaseRows:
    """The real RowStore: requests through coodie on the connection, each with `timeout`
    (default: the connection's request timeout)."""

    def __init__(self, connection: Connection, *, timeout: float | None = None) -> None:
        self.settings = connection.settings
        self.timeout = self.settings.request_timeout if timeout is None else timeout

    async def read_one(self, model: type[Document], serial: bool = False, **key: Any) -> Any:
        query = model.find(**key).timeout(self.timeout)
        if serial:
            query = query.consistency(serial_read_level(self.settings))
        try:
            async with read_gate().point_read():
                return await query.first()
        except Exception as exc:
            if is_unavailable_error(exc):
                raise unavailable(exc, self.settings) from None
            raise

    async def write(self, write: ConditionalWrite) -> LWTResult:
        try:
            result = await write.run(self.timeout)
        except Unavailable as exc:  # decided before any replica wrote anything
            raise unavailable(exc, self.settings) from None
        except InvalidRequest:
            raise
        except Exception as exc:
            if is_ambiguous_write_error(exc):
                raise AmbiguousWrite(one_line(exc)) from None
            raise
        if result is None:  # coodie returns None only for batched writes; we never batch
            raise RuntimeError("conditional write returned no result")
        return result


APPLIED = LWTResult(applied=True)  # frozen: one answer shared by every applied write


class Insert:
    """One INSERT of a coodie document class, the CQL built once by coodie's builder and sent
    through the class's coodie driver: the statement `Document.insert()` (`if_not_exists`) or
    `save(timestamp=...)` sends, without the per-row work of a document. Its rows are `Row`s:
    value tuples named by the document's columns, in the document's order, handed to the
    driver as they are. For the registration's hot path (a document validates and copies each
    value; these values come validated); any other write uses the documents' own methods."""

    def __init__(
        self, model: type[Document], *, if_not_exists: bool = False, timestamp: int | None = None
    ) -> None:
        self.model = model
        self.columns = tuple(model.model_fields)
        settings: Any = model.Settings
        self.cql, _ = build_insert_from_columns(
            model.table_name(),
            settings.keyspace,
            self.columns,
            [],
            if_not_exists=if_not_exists,
            timestamp=timestamp,
        )
        self.connection: str = settings.connection
        self.conditional = if_not_exists
        self.Row: Any = namedtuple(f"{model.__name__}Row", self.columns)  # type: ignore[misc]

    def document(self, row: tuple[Any, ...]) -> Document:
        """The coodie document holding `row`'s values (for a write that needs its methods)."""
        return self.model(**row._asdict())  # type: ignore[attr-defined]

    def send(self, row: tuple[Any, ...], timeout: float) -> Awaitable[LWTResult]:
        """Send `row` (a tuple, as the driver's own binding takes it): the answer as an
        LWTResult, read from the rows as they are handed to the loop."""
        driver: LoopFriendlyDriver = get_driver(self.connection)  # type: ignore[assignment]
        return driver.request(self.cql, row, timeout, self._result)

    def _result(self, rows: list[dict[str, Any]] | None) -> LWTResult:
        if not self.conditional or not rows:
            return APPLIED
        answer = rows[0]
        if answer.get("[applied]", True):
            return APPLIED
        existing = {key: value for key, value in answer.items() if key != "[applied]"}
        return LWTResult(applied=False, existing=existing or None)


async def resolve(read: Callable[[], Awaitable[T]]) -> T | Unknown:
    """The SERIAL read that decides an ambiguous write, or Unknown when it fails too."""
    try:
        return await read()
    except DatabaseUnavailable as exc:
        return Unknown("resolve", "", f"the SERIAL read failed too ({exc.message})")


# ---------------------------------------------------------------------------------------------
# Rows as records


def aware(value: datetime | None) -> datetime | None:
    """A timestamp from the driver (naive, UTC) as an aware datetime."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _getter(row: Any) -> Any:
    """Field access for a driver row (dict) and a coodie document alike."""
    return row.get if isinstance(row, dict) else functools.partial(getattr, row)


def user_record(row: Any) -> UserRecord:
    get = _getter(row)
    key = get("username")
    typed = _optional(row, "username_typed")
    return UserRecord(
        username=typed or key,
        email=get("email"),
        display_name=get("display_name"),
        dimension=get("dimension"),
        registered_at=aware(get("registered_at")),  # type: ignore[arg-type]  # never null
        user_id=get("user_id"),
        username_key=key if typed and typed != key else "",
    )


def _optional(row: Any, column: str) -> Any:
    """A column that rows written before schema v2 (or a conditional write's answer) lack."""
    if isinstance(row, dict):
        return row.get(column)
    return getattr(row, column, None)


def profile_record(row: Any) -> ProfileRecord:
    get = _getter(row)
    return ProfileRecord(
        user_id=get("user_id"),
        username=get("username"),
        bio=get("bio"),
        status=get("status"),
        version=get("version"),
        updated_at=aware(get("updated_at")),
    )
