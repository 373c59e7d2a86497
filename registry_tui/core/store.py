"""The one place that builds a driver session and hands it to coodie.

Facts this module encodes (see the README's "Guarantees"):
- one default execution profile, by the guarantee chosen (Settings.serial): global = QUORUM
  for reads and commits and SERIAL for Paxos, local = LOCAL_QUORUM and LOCAL_SERIAL; and no
  retry policy, so a conditional write is never re-run blindly by the driver;
- coodie 1.9.3 runs every QuerySet on its *default* driver and records the paging state of a
  paged query in a field that any other request on that driver overwrites; so writes go through
  a second driver object on the same session (their requests never touch the readers' field),
  and a paged read takes the readers' lock exclusively (see `ReadGate`).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import functools
import itertools
import socket
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.connection import Timer
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    FallthroughRetryPolicy,
    TokenAwarePolicy,
)
from coodie.drivers import get_driver, register_driver
from coodie.drivers.cassandra import CassandraDriver

from registry_tui.core.config import Settings
from registry_tui.core.errors import DatabaseUnavailable, one_line
from registry_tui.core.models import Models, build_models
from registry_tui.core.schema import TABLES, prepare
from registry_tui.core.trace import TracedStatement, is_conditional, trace_log
from registry_tui.core.validation import ValidationError, validate_keyspace

T = TypeVar("T")

_READER_DRIVER = "registry-reads"
_connection_ids = itertools.count(1)


class ReadGate:
    """Many point reads at once, or one paged read alone (coodie 1.9.3's shared paging field)."""

    def __init__(self) -> None:
        self._readers = 0
        self._paging = False
        self._pages_waiting = 0  # a waiting page holds new point reads back: no starvation
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def point_read(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._paging and not self._pages_waiting)
            self._readers += 1
        try:
            yield
        finally:
            async with self._changed:
                self._readers -= 1
                self._changed.notify_all()

    @asynccontextmanager
    async def paged_read(self) -> AsyncIterator[None]:
        async with self._changed:
            self._pages_waiting += 1
            try:
                await self._changed.wait_for(lambda: not self._paging and self._readers == 0)
            finally:
                self._pages_waiting -= 1
                self._changed.notify_all()
            self._paging = True
        try:
            yield
        finally:
            async with self._changed:
                self._paging = False
                self._changed.notify_all()


_gates: dict[int, ReadGate] = {}


def _cancel_and_forget(timer: Timer) -> None:
    """`Timer.cancel` that also drops the callback, which a cancelled timer never calls."""
    timer.canceled = True
    timer.callback = None


def forget_answered_requests() -> None:
    """Let an answered request go as soon as its answer is delivered.

    The driver arms a timer per request (its client-side timeout) whose callback is the
    request's own bound method, and cancelling it only marks it: the timer stays in the
    reactor's queue until its deadline comes up, `request_timeout` later (6 s by default).
    Each answered request, with its message, statement, callbacks and rows, stayed alive that
    long, and as a reference cycle (request -> timer -> request) it could then only be freed by
    the cycle collector: at 1,800 requests a second, some 300,000 live objects for every
    collection to walk, 0.08-0.13 ms of client CPU per registration. A cancelled timer never
    calls its callback (`Timer.finish` looks at `canceled` first), so dropping it on cancel
    changes nothing else. Process-wide and idempotent: every session of the process gains."""
    Timer.cancel = _cancel_and_forget  # type: ignore[method-assign]


def end_reactor_promptly() -> None:
    """Let the driver's I/O thread end as soon as the process is done with it.

    When a process is done, the libev reactor's thread is still waiting on its one timer,
    armed for a request timeout seconds ahead (waking it changes nothing; disarming the timer
    ends it at once). At exit the driver's own clean-up first stops the hook that would disarm
    it (the one that reads `_shutdown`), then waits up to 5 s for the thread: a command that
    ran in a third of a second took 5.4 s to end in 15 of 60 runs of `registry users list` on
    this machine. Here the reactor is told it is shutting down first, and its own thread
    disarms the timer and ends at once. Runs at exit, before the driver's clean-up (exit hooks
    run last registered first); a process that never connected, or has no libev reactor, has
    nothing to do."""
    try:
        from cassandra.io import libevreactor
    except ImportError:  # the driver runs another reactor
        return
    loop = libevreactor._global_loop
    thread = getattr(loop, "_thread", None)
    if loop is None or thread is None or not thread.is_alive():
        return
    loop._shutdown = True  # what the driver's clean-up sets too, a moment later
    loop.notify()
    if not (loop._live_conns or loop._new_conns):  # open connections keep it running
        thread.join(1.0)


# After the driver's own exit hook, registered when this module imported cassandra.cluster:
# so this one runs first.
atexit.register(end_reactor_promptly)


class SessionHook:
    """The session as coodie's drivers see it, with two per-statement choices: a statement
    sent inside `core.trace.tracing()` carries the tracing flag (and is recorded there), and a
    conditional write without a level of its own commits at `lwt_commit` (SCYLLA_LWT_COMMIT)."""

    def __init__(self, session: Session, lwt_commit: int | None) -> None:
        self._session = session
        self._lwt_commit = lwt_commit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def execute_async(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        log = trace_log()
        if log is None and self._lwt_commit is None:  # the usual case: nothing to choose
            return self._session.execute_async(query, *args, **kwargs)
        prepared = getattr(query, "prepared_statement", None)
        text = str(getattr(prepared, "query_string", None) or getattr(query, "query_string", query))
        if (
            self._lwt_commit is not None
            and getattr(query, "consistency_level", 0) is None
            and is_conditional(text)
        ):
            query.consistency_level = self._lwt_commit
        if log is None:
            return self._session.execute_async(query, *args, **kwargs)
        future = self._session.execute_async(query, *args, trace=True, **kwargs)
        log.append(TracedStatement(text, future))
        return future


class LoopFriendlyDriver(CassandraDriver):
    """coodie 1.9.3's CassandraDriver without its ways of hurting an event loop:
    - it prepares a statement with the blocking `Session.prepare()` on the loop's thread the
      first time the statement is used: with a slow (paused) node that froze every task of the
      process for seconds (the TUI, the REST API, the race engine);
    - its callback bridge sets a result on an asyncio future that a cancelled task had already
      abandoned, which asyncio reports as an InvalidStateError traceback on stderr;
    - per request it copies its keyword arguments, binds in Python and copies the rows it got;
      here a request sends the prepared statement with its values.
    """

    def __init__(self, session: Session, default_keyspace: str, lwt_commit: str = "quorum"):
        super().__init__(session=session, default_keyspace=default_keyspace)
        self._session = SessionHook(session, _LWT_COMMIT[lwt_commit])
        self._handoff: Handoff | None = None  # the running loop's, looked up once
        # A subclass that wraps `execute_async` (a test's) sees every request through it.
        self._direct = type(self).execute_async is LoopFriendlyDriver.execute_async

    async def _prepare_off_loop(self, stmt: str) -> Any:
        prepared = self._prepared.get(stmt)
        if prepared is None:
            prepared = self._prepared[stmt] = await asyncio.to_thread(self._session.prepare, stmt)
        return prepared

    async def execute_async(  # type: ignore[override]
        self,
        stmt: str,
        params: list[Any] | tuple[Any, ...],
        consistency: str | None = None,
        timeout: float | None = None,
        fetch_size: int | None = None,
        paging_state: bytes | None = None,
    ) -> list[dict[str, Any]]:
        """The one path every statement of this driver takes (paged reads go on to coodie's
        own, which runs in a worker thread)."""
        if fetch_size is not None:
            return await super().execute_async(
                stmt,
                list(params),
                consistency=consistency,
                timeout=timeout,
                fetch_size=fetch_size,
                paging_state=paging_state,
            )
        prepared = self._prepared.get(stmt)
        if prepared is None:
            prepared = await self._prepare_off_loop(stmt)
        query: Any = prepared
        if consistency is not None:
            query = prepared.bind(params)
            query.consistency_level = getattr(ConsistencyLevel, consistency)
            params = None  # type: ignore[assignment]  # bound above
        profile = self._query_kwargs["execution_profile"]
        # The driver's request is not kept here while its answer is awaited: it is freed on
        # the driver's thread once answered, as a bare driver caller's is.
        if timeout is None:  # the profile's request_timeout
            rows = await self._wrap_future(
                self._session.execute_async(query, params, execution_profile=profile)
            )
        else:
            rows = await self._wrap_future(
                self._session.execute_async(
                    query, params, timeout=timeout, execution_profile=profile
                )
            )
        return rows if rows else []  # dicts already: the profile's row factory makes them

    def request(
        self,
        stmt: str,
        params: tuple[Any, ...],
        timeout: float,
        convert: Callable[[list[dict[str, Any]] | None], T],
    ) -> Awaitable[T]:
        """`convert(rows)` of the answer to `execute_async(stmt, params, timeout=timeout)`
        (its rows, or None or [] when it has none), as the future the driver's answer settles:
        once `stmt` is prepared (every request but its first) no coroutine of its own, and
        `convert` runs on the loop as the answer is handed over (what it raises, the future
        raises)."""
        prepared = self._prepared.get(stmt)
        if prepared is None or not self._direct:
            return self._converted(self.execute_async(stmt, params, timeout=timeout), convert)
        return self._wrap_future(
            self._session.execute_async(
                prepared,
                params,
                timeout=timeout,
                execution_profile=self._query_kwargs["execution_profile"],
            ),
            convert,
        )

    @staticmethod
    async def _converted(
        rows: Awaitable[list[dict[str, Any]]], convert: Callable[[list[dict[str, Any]]], T]
    ) -> T:
        return convert(await rows)

    async def execute_one_async(  # type: ignore[override]
        self,
        stmt: str,
        params: list[Any],
        consistency: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The first column of the first row (coodie's count()), by the same one path."""
        rows = await self.execute_async(stmt, params, consistency=consistency, timeout=timeout)
        return next(iter(rows[0].values())) if rows else None

    @property
    def execution_profile(self) -> ExecutionProfile:
        """What every request of this driver runs with: coodie's copy of the session's
        default profile (dict rows), made when the driver was built."""
        profile = self._query_kwargs.get("execution_profile")
        if not isinstance(profile, ExecutionProfile):
            raise RuntimeError("coodie kept no execution profile for this driver")
        return profile

    def _wrap_future(
        self, driver_future: Any, convert: Callable[[Any], Any] | None = None
    ) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Any] = loop.create_future()
        handoff = self._handoff
        if handoff is None or handoff.loop is not loop:
            handoff = self._handoff = Handoff.of(loop)
        driver_future.add_callbacks(
            functools.partial(handoff.put, result, False, convert),
            functools.partial(handoff.put, result, True, None),
        )
        return result


# An answer queued for the loop: its future, the value (or exception), whether it failed, and
# what turns the value into the future's result (None: the value as it is).
Answer = tuple["asyncio.Future[Any]", Any, bool, "Callable[[Any], Any] | None"]


class Handoff:
    """Answers from the driver's thread to the event loop, many per wake-up.

    The usual bridge calls `loop.call_soon_threadsafe` once per answer: each one writes a byte
    to the loop's self-pipe (a system call on the driver's thread), and wakes the loop to read
    it and run one callback. With many requests in flight, answers arrive in bursts; here the
    driver's thread queues each answer and wakes the loop only when no wake-up is pending, and
    the loop settles every queued answer in one go.

    Why it never loses an answer: the loop clears `_pending` *before* it empties the queue, so
    an answer queued after the queue was found empty sees `_pending` false and wakes the loop
    again (at worst one wake-up too many, which finds the queue empty).
    """

    __slots__ = ("_pending", "_queue", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._queue: collections.deque[Answer] = collections.deque()
        self._pending = False

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Handoff:
        handoff = _handoffs.get(loop)
        if handoff is None:
            handoff = _handoffs[loop] = cls(loop)
        return handoff

    def put(
        self,
        future: asyncio.Future[Any],
        failed: bool,
        convert: Callable[[Any], Any] | None,
        value: Any,
    ) -> None:
        """On the driver's thread: queue an answer (an exception when `failed`; a value that
        `convert`, when given, turns into the result on the loop); wake the loop unless a
        wake-up is due."""
        self._queue.append((future, value, failed, convert))
        if not self._pending:
            self._pending = True
            try:
                self.loop.call_soon_threadsafe(self._settle_all)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                self._queue.clear()

    def _settle_all(self) -> None:
        """On the loop: hand every queued answer to its future."""
        self._pending = False
        while (answer := self._next()) is not None:
            future, value, failed, convert = answer
            if future.done():  # the awaiting task was cancelled meanwhile
                continue
            if failed:
                future.set_exception(value)
            elif convert is None:
                future.set_result(value)
            else:
                try:
                    converted = convert(value)
                except Exception as exc:  # the awaiting task gets it, as if raised in it
                    future.set_exception(exc)
                else:
                    future.set_result(converted)

    def _next(self) -> Answer | None:
        """The oldest queued answer, None when there is none."""
        return self._queue.popleft() if self._queue else None


_handoffs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Handoff] = (
    weakref.WeakKeyDictionary()
)


def read_gate() -> ReadGate:
    """One gate per event loop: every QuerySet in the process shares coodie's default driver."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(id(loop))
    if gate is None:
        gate = _gates[id(loop)] = ReadGate()
    return gate


# The guarantee -> (commit and read level, Paxos level, the serial read's level by name).
# The one place these are chosen: every LWT runs with the execution profile below, and every
# resolving read and audit with `serial_read_level`.
_LEVELS = {
    "global": (ConsistencyLevel.QUORUM, ConsistencyLevel.SERIAL, "SERIAL"),
    "local": (ConsistencyLevel.LOCAL_QUORUM, ConsistencyLevel.LOCAL_SERIAL, "LOCAL_SERIAL"),
}
# SCYLLA_LWT_COMMIT -> the commit level of a conditional write (None: the guarantee's own).
_LWT_COMMIT: dict[str, int | None] = {"quorum": None, "any": ConsistencyLevel.ANY}


def serial_read_level(settings: Settings) -> str:
    """The consistency of a read that decides (SERIAL or LOCAL_SERIAL), by the guarantee."""
    return _LEVELS[settings.serial][2]


def execution_profile(settings: Settings) -> ExecutionProfile:
    commit, paxos, _ = _LEVELS[settings.serial]
    return ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.local_dc)),
        retry_policy=FallthroughRetryPolicy(),
        consistency_level=commit,
        serial_consistency_level=paxos,
        request_timeout=settings.request_timeout,
    )


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    ca, cert, key = settings.ssl_ca_file, settings.ssl_cert_file, settings.ssl_key_file
    if not (ca or cert or key):
        return None
    if key and not cert:
        raise ValidationError(
            "tls", "SCYLLA_SSL_KEY_FILE is set without SCYLLA_SSL_CERT_FILE (its certificate)"
        )
    for variable, path in (
        ("SCYLLA_SSL_CA_FILE", ca),
        ("SCYLLA_SSL_CERT_FILE", cert),
        ("SCYLLA_SSL_KEY_FILE", key),
    ):
        if path is not None and not path.is_file():
            raise ValidationError("tls", f"{variable}: no such file: {path}")
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
    except (OSError, ssl.SSLError) as exc:
        raise ValidationError(
            "tls", f"SCYLLA_SSL_CA_FILE {ca}: not a usable CA bundle ({exc})"
        ) from None
    # Contact points are often IPs; the CA still authenticates the server.
    context.check_hostname = False
    if cert:
        try:
            context.load_cert_chain(str(cert), str(key) if key else None)
        except (OSError, ssl.SSLError) as exc:
            where = f"the key {key}" if key else "no key (set SCYLLA_SSL_KEY_FILE)"
            raise ValidationError(
                "tls", f"cannot use the client certificate {cert} with {where} ({exc})"
            ) from None
    return context


def cluster_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `cassandra.cluster.Cluster` built from our settings."""
    options: dict[str, Any] = {
        "contact_points": list(settings.hosts),
        "port": settings.port,
        "execution_profiles": {EXEC_PROFILE_DEFAULT: execution_profile(settings)},
        "connect_timeout": settings.connect_timeout,
        "control_connection_timeout": settings.connect_timeout,
        "reconnection_policy": ExponentialReconnectionPolicy(0.5, 10.0),
        "idle_heartbeat_interval": 5,
        "idle_heartbeat_timeout": 5,
    }
    if settings.username:
        options["auth_provider"] = PlainTextAuthProvider(
            username=settings.username, password=settings.password or ""
        )
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    return options


def _register_reader(session: Session, keyspace: str, lwt_commit: str = "quorum") -> None:
    register_driver(
        _READER_DRIVER,
        LoopFriendlyDriver(session=session, default_keyspace=keyspace, lwt_commit=lwt_commit),
        default=True,
    )


def serve_reads_from(connection: Connection) -> None:
    """Make `connection` the one that runs coodie's reads (there is one per process). Only
    needed where several connections come and go in one process, as in tests."""
    settings = connection.settings
    _register_reader(connection.session, settings.keyspace, settings.lwt_commit)


@dataclass
class Connection:
    settings: Settings
    cluster: Cluster
    session: Session
    models: Models
    name: str
    closed: bool = field(default=False)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.cluster.shutdown()

    def hosts_up(self) -> list[str]:
        return [str(h.address) for h in self.cluster.metadata.all_hosts() if h.is_up]

    def data_centres(self) -> list[str]:
        return _data_centres(self.cluster)

    def keyspace_data_centres(self) -> list[str]:
        """The DCs the keyspace replicates to (every DC for SimpleStrategy)."""
        meta = self.cluster.metadata.keyspaces.get(self.settings.keyspace)
        options = dict(
            getattr(getattr(meta, "replication_strategy", None), "dc_replication_factors", {}) or {}
        )
        return sorted(options) if options else self.data_centres()

    def warnings(self) -> list[str]:
        """What a person should know about this connection's guarantee, one line each."""
        found = []
        spans = self.keyspace_data_centres()
        if self.settings.serial == "local" and len(spans) > 1:
            found.append(
                f"SCYLLA_SERIAL=local: names and e-mails are unique per data centre only "
                f"(keyspace {self.settings.keyspace} spans {', '.join(spans)}); "
                "use --serial global for one owner in the whole cluster"
            )
        return found


def _data_centres(cluster: Cluster) -> list[str]:
    return sorted({h.datacenter for h in cluster.metadata.all_hosts() if h.datacenter})


def write_profile(connection: Connection) -> ExecutionProfile:
    """The execution profile `connection`'s writes run with. Its request_timeout is the
    client-side timeout of a write that names none (coodie's `update()` names none)."""
    driver = get_driver(connection.name)
    if not isinstance(driver, LoopFriendlyDriver):
        raise RuntimeError(f"{connection.name} is not a registry connection")
    return driver.execution_profile


def _resolve_hosts(settings: Settings) -> None:
    """Every contact point must resolve: the driver would otherwise fail with a bare
    UnresolvableContactPoints."""
    for host in settings.hosts:
        try:
            socket.getaddrinfo(host, settings.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise DatabaseUnavailable(
                f"cannot resolve host {host!r} ({exc.args[-1] if exc.args else exc}); "
                "check SCYLLA_HOSTS / --hosts",
                settings.describe(),
            ) from None


def _load_own_schema(cluster: Cluster, keyspace: str) -> None:
    """The driver's schema metadata for the registry's keyspace and tables only.

    By default the driver reads the schema of every keyspace of the cluster when it connects
    (tens of queries' worth of rows: the system and virtual keyspaces alone are 100 tables),
    though the registry looks at one keyspace: its layout detection, its replication (the
    data centres, token-aware routing's replicas). So the connection is made without schema
    metadata, which is then switched on (from here on the driver follows schema changes as
    usual) and loaded for that keyspace and the registry's tables. A schema change made
    elsewhere in the moment between the two is seen by the layout detection's own reads,
    which look up a missing table again before deciding anything."""
    cluster.schema_metadata_enabled = True
    cluster.refresh_keyspace_metadata(keyspace, max_schema_agreement_wait=0)
    if keyspace not in cluster.metadata.keyspaces:
        return  # created later, by this registry or another: the driver follows that
    for table in TABLES:
        cluster.refresh_table_metadata(keyspace, table, max_schema_agreement_wait=0)


def _connect_blocking(settings: Settings) -> tuple[Cluster, Session]:
    _resolve_hosts(settings)
    forget_answered_requests()
    cluster = Cluster(**cluster_options(settings), schema_metadata_enabled=False)
    try:
        session = cluster.connect()
        _load_own_schema(cluster, settings.keyspace)
    except Exception as exc:
        known = _data_centres(cluster)
        cluster.shutdown()
        if settings.local_dc and known and settings.local_dc not in known:
            raise _unknown_local_dc(settings.local_dc, known) from None
        raise DatabaseUnavailable(
            f"cannot connect to {settings.describe()}: {one_line(exc)}", settings.describe()
        ) from None
    known = _data_centres(cluster)
    if settings.local_dc and known and settings.local_dc not in known:
        cluster.shutdown()
        raise _unknown_local_dc(settings.local_dc, known)
    return cluster, session


def _unknown_local_dc(local_dc: str, known: list[str]) -> ValidationError:
    return ValidationError(
        "local_dc",
        f"SCYLLA_LOCAL_DC {local_dc!r} is not a data centre of this cluster; "
        f"its data centres: {', '.join(known)}",
    )


async def open_connection(
    settings: Settings, *, create_schema: bool = True, serve_reads: bool = True
) -> Connection:
    """Connect, make sure the keyspace and tables exist, and register coodie drivers.

    `serve_reads=False` opens a second, write-only connection (e.g. Doppel-9 editing "from
    elsewhere"): its writes use its own session, while reads stay on the main connection, so
    closing it never leaves coodie's default driver on a closed session.
    """
    validate_keyspace(settings.keyspace)
    cluster, session = await asyncio.to_thread(_connect_blocking, settings)
    name = f"registry-{next(_connection_ids)}"
    # Writers: this connection's own driver object; readers: coodie's default driver.
    register_driver(
        name,
        LoopFriendlyDriver(
            session=session, default_keyspace=settings.keyspace, lwt_commit=settings.lwt_commit
        ),
    )
    if serve_reads:
        _register_reader(session, settings.keyspace, settings.lwt_commit)
    models = build_models(name, settings.keyspace)
    connection = Connection(settings, cluster, session, models, name)
    if create_schema:
        try:
            await ensure_schema(connection)
        except (DatabaseUnavailable, ValidationError):  # ValidationError: foreign tables
            connection.close()
            raise
        except Exception as exc:
            connection.close()
            raise DatabaseUnavailable(
                f"cannot prepare keyspace {settings.keyspace}: {one_line(exc)}",
                settings.describe(),
            ) from None
    return connection


async def ensure_schema(connection: Connection) -> None:
    # Layout detection, v2 creation and the schema version live in core/schema.py, which
    # knows a connection only as a type: the import runs this way alone.
    await prepare(connection)
