"""Fault tests: a 3-node cluster (CQL 9142, keyspace RF=3) and a PasswordAuthenticator node
(CQL 9242), both started by `make test-faults` beside the shared dev node, which is never
touched here. Nodes are killed (SIGKILL), paused (SIGSTOP), resumed and restarted only through
`scripts/cassandra_local.py`, and every test leaves all three cluster nodes running.

The audit here trusts neither the race engine nor the registry: it reads every name at SERIAL
after the cluster has healed, and scans the tables at consistency ALL (which needs every
replica of every range, so it succeeds only once the restarted node serves again).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cassandra import ConsistencyLevel, DriverException
from cassandra.connection import ConnectionException
from cassandra.query import SimpleStatement

from registry_tui.core.config import Settings, parse_lwt_commit
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import ProfileRecord, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection, open_connection

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "scripts" / "cassandra_local.py"
sys.path.insert(0, str(REPO / "scripts"))

from cassandra_local import cql_answers  # noqa: E402

CLUSTER_HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
CLUSTER_PORT = 9142
# SCYLLA_LWT_COMMIT=any runs the fault tests with conditional writes committed at ANY (the
# cluster's nodes then need `up --paxos-purging repaired`; see docs/guarantees.md).
LWT_COMMIT = parse_lwt_commit(os.environ.get("SCYLLA_LWT_COMMIT") or "quorum")
AUTH_HOST, AUTH_PORT = "127.0.0.1", 9242
AUTH_USER, AUTH_PASSWORD = "cassandra", "cassandra"
NODES = (1, 2, 3)
REGISTRY_CLI = Path(sys.executable).parent / "registry"
HEAL_BUDGET_S = 120.0

_T = TypeVar("_T")


def _missing(what: str) -> str:
    return (
        f"no CQL answer from {what}. The fault tests need the local 3-node cluster "
        f"(127.0.0.1-3:{CLUSTER_PORT}) and the PasswordAuthenticator node "
        f"({AUTH_HOST}:{AUTH_PORT}): run `make test-faults`, which starts both, runs "
        "`pytest tests/faults` and stops them (or start them yourself with "
        "`python3 scripts/cassandra_local.py up --nodes 3` and "
        "`python3 scripts/cassandra_local.py up --layout auth`)."
    )


def fault_keyspace(tag: str) -> str:
    return f"f_{tag}_{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------------------------------
# The launcher: the only way these tests touch a node


def launcher(*args: str, timeout: float = 240) -> str:
    """Run `cassandra_local.py ARGS` (cluster layout unless told otherwise); its output."""
    done = subprocess.run(
        [sys.executable, str(LAUNCHER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"cassandra_local.py {' '.join(args)} failed: {output.strip()}")
    return output


async def alauncher(*args: str, timeout: float = 240) -> str:
    """`launcher` without blocking the event loop (an attack keeps racing meanwhile)."""
    return await asyncio.to_thread(launcher, *args, timeout=timeout)


def node_states() -> dict[int, str]:
    """Cluster node -> running | paused | stopped, as the launcher sees it."""
    rows = json.loads(launcher("status", "--json"))
    return {r["node"]: r["state"] for r in rows if r["layout"] == "cluster"}


def restore_cluster() -> list[str]:
    """Resume every paused node and start every stopped one; what had to be done."""
    done: list[str] = []
    states = node_states()
    for node in NODES:
        if states.get(node) == "paused":
            launcher("resume-node", str(node))
            done.append(f"resumed node {node}")
    for node in NODES:
        if states.get(node, "stopped") == "stopped":
            launcher("start-node", str(node))
            done.append(f"started node {node}")
    deadline = time.monotonic() + HEAL_BUDGET_S
    while not all(cql_answers(h, CLUSTER_PORT) for h in CLUSTER_HOSTS):
        if time.monotonic() > deadline:
            raise RuntimeError("the cluster did not answer CQL on every node after restoring it")
        time.sleep(0.5)
    return done


# ----------------------------------------------------------------------------------------------
# Session fixtures: the two layouts must be up


@pytest.fixture(scope="session")
def cluster_settings() -> Settings:
    down = [h for h in CLUSTER_HOSTS if not cql_answers(h, CLUSTER_PORT)]
    if down and "paused" in node_states().values():
        restore_cluster()  # a previous run was interrupted between a pause and its resume
        down = [h for h in CLUSTER_HOSTS if not cql_answers(h, CLUSTER_PORT)]
    if down:
        pytest.fail(_missing(", ".join(f"{h}:{CLUSTER_PORT}" for h in down)), False)
    return Settings(
        hosts=CLUSTER_HOSTS,
        port=CLUSTER_PORT,
        keyspace="registry_faults",
        replication_factor=3,
        lwt_commit=LWT_COMMIT,
    )


@pytest.fixture(scope="session")
def auth_settings() -> Settings:
    if not cql_answers(AUTH_HOST, AUTH_PORT):
        pytest.fail(_missing(f"the auth node {AUTH_HOST}:{AUTH_PORT}"), False)
    return Settings(
        hosts=(AUTH_HOST,),
        port=AUTH_PORT,
        keyspace="registry_auth",
        username=AUTH_USER,
        password=AUTH_PASSWORD,
    )


@pytest.fixture
def healthy_cluster(cluster_settings: Settings) -> Iterator[Settings]:
    """Every node running before the test, and again after it, whatever the test did."""
    restore_cluster()
    try:
        yield cluster_settings
    finally:
        restore_cluster()


@pytest.fixture(scope="module")
async def cluster_connection(
    cluster_settings: Settings, request: pytest.FixtureRequest
) -> AsyncIterator[Connection]:
    """This module's keyspace (RF=3) on the cluster, dropped at the end."""
    tag = Path(str(request.node.fspath)).stem.replace("test_", "")[:12]
    settings = Settings(
        hosts=cluster_settings.hosts,
        port=cluster_settings.port,
        keyspace=fault_keyspace(tag),
        replication_factor=3,
        lwt_commit=LWT_COMMIT,
    )
    # Right after another module's faults the cluster is busy healing (hints, compactions,
    # the previous keyspace's drop): creating the schema may time out once or twice.
    deadline = time.monotonic() + HEAL_BUDGET_S
    while True:
        try:
            conn = await open_connection(settings)
            break
        except DatabaseUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(2)
    yield conn
    try:
        restore_cluster()
        await _drop_keyspace(conn, settings.keyspace)
    finally:
        conn.close()


async def _drop_keyspace(conn: Connection, keyspace: str) -> None:
    """DROP KEYSPACE, again while the cluster heals: a node still replaying hints for one of
    its tables can refuse the drop once ("Unknown CF"). The drop is idempotent."""
    deadline = time.monotonic() + HEAL_BUDGET_S
    while True:
        try:
            await asyncio.to_thread(
                conn.session.execute, f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120
            )
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(2)


# ----------------------------------------------------------------------------------------------
# Waiting for the cluster to heal


async def eventually(
    what: str, attempt: Callable[[], Awaitable[_T]], budget: float = HEAL_BUDGET_S
) -> _T:
    """`attempt()` until it stops raising DatabaseUnavailable (the cluster is healing)."""
    deadline = time.monotonic() + budget
    pause = 0.25
    while True:
        try:
            return await attempt()
        except (DatabaseUnavailable, DriverException, ConnectionException) as exc:
            # The audit's own reads retry any driver error: it is the instrument, not the
            # subject (what the registry reports is checked by the tests themselves).
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still failing after {budget:.0f}s: {exc}") from None
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)


def _scan(connection: Connection, cql: str) -> list[Any]:
    statement = SimpleStatement(cql, consistency_level=ConsistencyLevel.ALL, fetch_size=1000)
    return list(connection.session.execute(statement, timeout=60))


async def scan_at_all(connection: Connection, cql: str, budget: float = HEAL_BUDGET_S) -> list[Any]:
    """A full-table read at consistency ALL: it needs every replica of every range, so it
    only succeeds once every node (a restarted one included) serves reads again."""
    deadline = time.monotonic() + budget
    while True:
        try:
            return await asyncio.to_thread(_scan, connection, cql)
        except Exception as exc:  # the driver's own errors while a node rejoins
            if time.monotonic() > deadline:
                raise AssertionError(f"read at ALL still failing: {exc}") from None
            await asyncio.sleep(1.0)


async def wait_healed(connection: Connection) -> float:
    """Every node answers CQL, the driver sees all three up, and a read at ALL succeeds.
    Returns the seconds it took."""
    started = time.monotonic()
    deadline = started + HEAL_BUDGET_S
    while not (
        all(cql_answers(h, CLUSTER_PORT) for h in CLUSTER_HOSTS)
        and len(connection.hosts_up()) == len(CLUSTER_HOSTS)
    ):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the cluster did not heal: driver sees {connection.hosts_up()} up"
            )
        await asyncio.sleep(0.5)
    keyspace = connection.settings.keyspace
    await scan_at_all(connection, f"SELECT username FROM {keyspace}.user_registrations")
    return time.monotonic() - started


# ----------------------------------------------------------------------------------------------
# The independent audit


@dataclass(frozen=True)
class Attempt:
    """One registration attempt and what its caller was told.

    told: "won" (Registered: acknowledged), "blocked" (UsernameTaken), "unknown" (Unknown,
    or no answer at all because the attempt was cut short), "unavailable" (DatabaseUnavailable:
    nothing decided), "misreported" (anything else: a raw driver error, a traceback).
    """

    username: str
    user_id: uuid.UUID
    email: str
    told: str


@dataclass
class AuditResult:
    names: int = 0
    acknowledged: int = 0  # attempts told "won", each checked below
    lost: list[str] = field(default_factory=list)  # acknowledged, not holding its name
    duplicated: list[str] = field(default_factory=list)  # names with >1 acknowledged owner
    foreign: list[str] = field(default_factory=list)  # held by no attempt of the name
    half_registered: list[str] = field(default_factory=list)  # holder w/o profile/active claim
    orphan_profiles: list[str] = field(default_factory=list)  # profile of a non-holder
    # Claims of non-holders (left by attempts that never learnt their fate): not valid, since
    # their registration does not hold the name, so no second identity; released after
    # PENDING_CLAIM_TTL_S by whoever meets them, which test_outages proves by waiting one out.
    pending_claims: int = 0
    holders: dict[str, UserRecord] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        found: list[str] = []
        for label, items in (
            ("lost acknowledged registrations", self.lost),
            ("names with more than one acknowledged owner", self.duplicated),
            ("names held by no contender", self.foreign),
            ("half-registered holders", self.half_registered),
            ("orphan profiles", self.orphan_profiles),
        ):
            if items:
                found.append(f"{len(items)} {label}: {items[:5]}")
        return found


async def _bounded(jobs: Iterable[Awaitable[None]], width: int = 16) -> None:
    queue = list(jobs)
    semaphore = asyncio.Semaphore(width)

    async def run(job: Awaitable[None]) -> None:
        async with semaphore:
            await job

    await asyncio.gather(*(run(j) for j in queue))


async def audit(connection: Connection, attempts: list[Attempt]) -> AuditResult:
    """Exactly one owner per name, every acknowledged registration present and complete,
    nothing half-registered, nothing orphaned. Reads every name at SERIAL."""
    registry = Registry(connection)
    by_name: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_name[attempt.username].append(attempt)
    result = AuditResult(names=len(by_name))

    async def check(name: str, group: list[Attempt]) -> None:
        holder = await eventually(f"SERIAL read of {name}", lambda: registry.get_user_serial(name))
        acknowledged = [a for a in group if a.told == "won"]
        result.acknowledged += len(acknowledged)
        if len(acknowledged) > 1:
            result.duplicated.append(name)
        for a in acknowledged:
            if holder is None or holder.user_id != a.user_id:
                result.lost.append(f"{name} ({a.user_id})")
        if holder is None:
            return
        result.holders[name] = holder
        if holder.user_id not in {a.user_id for a in group}:
            result.foreign.append(name)
        profile: ProfileRecord | None = await eventually(
            f"profile of {name}", lambda: registry.get_profile_serial(holder.user_id)
        )
        owner = await eventually(
            f"claim of {holder.email}", lambda: registry.get_email_owner(holder.email)
        )
        whole = (
            profile is not None
            and profile.username == name
            and owner is not None
            and owner.user_id == holder.user_id
        )
        if not whole:
            claim = (
                "none" if owner is None else "ours" if owner.user_id == holder.user_id else "other"
            )
            result.half_registered.append(
                f"{name}: profile={'yes' if profile else 'no'} claim={claim}"
            )

    await _bounded(check(name, group) for name, group in by_name.items())

    keyspace = connection.settings.keyspace
    holder_ids = {h.user_id for h in result.holders.values()}
    emails = {a.email for a in attempts}
    names = set(by_name)
    claims = await scan_at_all(
        connection,
        f"SELECT email, user_id, username, state FROM {keyspace}.email_claims",
    )
    for claim in claims:
        if claim.email not in emails:
            continue
        if claim.user_id not in holder_ids:
            result.pending_claims += 1
    profiles = await scan_at_all(
        connection, f"SELECT user_id, username FROM {keyspace}.user_profiles"
    )
    for profile in profiles:
        if profile.username in names and profile.user_id not in holder_ids:
            result.orphan_profiles.append(f"{profile.username} ({profile.user_id})")
    return result


# ----------------------------------------------------------------------------------------------
# Figures for the report: printed at the end of the run


@dataclass
class FaultFigures:
    races: int = 0
    registrations_attempted: int = 0
    faults: list[str] = field(default_factory=list)
    acknowledged_checked: int = 0
    lost: int = 0
    duplicated: int = 0
    unknown_resolved: int = 0
    unavailable_reported: int = 0
    cas_timeouts_reported: int = 0
    notes: list[str] = field(default_factory=list)

    def add_audit(self, result: AuditResult) -> None:
        self.acknowledged_checked += result.acknowledged
        self.lost += len(result.lost)
        self.duplicated += len(result.duplicated)


FIGURES = FaultFigures()
_STARTED = time.monotonic()


@pytest.fixture(scope="session")
def figures() -> FaultFigures:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    f = FIGURES
    if not (f.races or f.faults):
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("-", "fault figures")
    write(f"races run: {f.races} ({f.registrations_attempted} registration attempts)")
    write(f"faults injected ({len(f.faults)}): {', '.join(f.faults)}")
    write(f"acknowledged registrations checked: {f.acknowledged_checked}")
    write(f"lost: {f.lost}   duplicated: {f.duplicated}")
    write(
        f"unknown outcomes resolved by SERIAL reads: {f.unknown_resolved}; reported as "
        f"Unavailable: {f.unavailable_reported}; as CAS/read timeouts: {f.cas_timeouts_reported}"
    )
    for note in f.notes:
        write(note)
    write(f"fault suite wall time: {time.monotonic() - _STARTED:.0f}s")
