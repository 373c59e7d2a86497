"""Outages as a person at the CLI meets them, on the 3-node cluster (keyspace RF=3).

- database down at start (nothing listens): one line, exit 3, quickly, for every command;
- every node frozen (SIGSTOP) at start: one line, exit 3, within the connect timeouts;
- two of three nodes frozen during `users register`: exit 4 (outcome unknown) or 3, no
  traceback; after SIGCONT nothing is half-registered and the command can be run again;
- the database (the single auth node) killed in the middle of `registry seed`: exit 3 or 4, no
  traceback; once it is back, re-running the command leaves every registration whole.
- a registration interrupted after its e-mail claim never locks the address for good: the
  claim expires (PENDING_CLAIM_TTL_S, shortened here) and the address can be registered.
- a registration interrupted after its commit point never lets the address be taken twice.
- a frozen node never freezes the event loop (the TUI, the REST API and the race engine share
  one loop).

Every node is brought back in a `finally` (and by the `healthy_cluster` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster
from cassandra.query import SimpleStatement

from registry_tui.core import registration as registration_module
from registry_tui.core.config import Settings
from registry_tui.core.outcomes import EmailTaken, Registered, Unknown, UsernameTaken
from registry_tui.core.registry import Registry
from registry_tui.core.rows import WriteStep
from registry_tui.core.store import Connection, cluster_options, open_connection
from tests.conftest import unique
from tests.faults.conftest import (
    CLUSTER_HOSTS,
    CLUSTER_PORT,
    REGISTRY_CLI,
    FaultFigures,
    alauncher,
    eventually,
    fault_keyspace,
    launcher,
    restore_cluster,
    wait_healed,
)
from tests.row_faults import DiesBefore, ProcessDied

pytestmark = pytest.mark.usefixtures("healthy_cluster")

SECRET = "hunter2-" + uuid.uuid4().hex  # must never be printed, whatever fails
EXIT_UNAVAILABLE, EXIT_UNKNOWN = 3, 4
SETTLE_AFTER_RESUME_S = 5.0


def cli_env(keyspace: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SCYLLA_HOSTS=",".join(CLUSTER_HOSTS),
        SCYLLA_PORT=str(CLUSTER_PORT),
        SCYLLA_RF="3",
        SCYLLA_KEYSPACE=keyspace,
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REGISTRY_CLI), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def assert_one_clean_error_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """Exit `code`, no traceback, the password nowhere, and the first stderr line an error."""
    everything = proc.stdout + proc.stderr
    assert proc.returncode == code, (proc.returncode, everything)
    assert "Traceback" not in everything and 'File "' not in everything, everything
    assert SECRET not in everything
    first = proc.stderr.splitlines()[0] if proc.stderr else ""
    assert first.startswith("error: "), proc.stderr
    return first


@pytest.fixture(scope="module")
def keyspace(cluster_connection: Connection) -> str:
    return cluster_connection.settings.keyspace


# ----------------------------------------------------------------------------------------------
# Down at start


COMMANDS = [
    ["users", "register", "agent-down", "--email", "down@registry.galaxy", "--display-name", "A", "--dimension", "D"],
    ["users", "get", "agent-down"],
    ["users", "list"],
    ["users", "delete", "agent-down", "--yes"],
    ["profiles", "get", "00000000-0000-4000-8000-000000000000"],
    ["profiles", "update", "00000000-0000-4000-8000-000000000000", "--bio", "x"],
    ["seed", "--count", "3"],
    ["race", "--usernames", "2", "--clones", "1"],
]  # fmt: skip


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_database_down_at_start_is_one_line_and_exit_3(
    keyspace: str, args: list[str], as_json: bool
) -> None:
    # Loopback addresses on which no node listens: a database that is down.
    env = cli_env(
        keyspace,
        SCYLLA_HOSTS="127.0.0.4,127.0.0.5",
        SCYLLA_USERNAME="cassandra",
        SCYLLA_PASSWORD=SECRET,
    )
    started = time.monotonic()
    proc = cli(env, *args, *(["--json"] if as_json else []))
    assert time.monotonic() - started < 20
    first = assert_one_clean_error_line(proc, EXIT_UNAVAILABLE)
    assert "127.0.0.4:9142" in first and "cannot connect" in first, first
    if as_json:
        assert json.loads(proc.stdout)["detail"]["error"] == "database_unavailable"


def test_every_node_frozen_at_start_is_one_line_and_exit_3(keyspace: str) -> None:
    env = cli_env(keyspace, SCYLLA_CONNECT_TIMEOUT="2", SCYLLA_PASSWORD=SECRET)
    for node in (1, 2, 3):
        launcher("pause-node", str(node))
    try:
        started = time.monotonic()
        proc = cli(env, "users", "get", "agent-frozen", timeout=90)
        elapsed = time.monotonic() - started
    finally:
        restore_cluster()
    first = assert_one_clean_error_line(proc, EXIT_UNAVAILABLE)
    assert "cannot connect" in first and "timed out" in first.lower(), first
    # Three contact points, 2 s each, twice (control connection, then the session).
    assert elapsed < 30, elapsed


# ----------------------------------------------------------------------------------------------
# Two of three nodes frozen during a registration


async def test_two_nodes_frozen_during_register_then_nothing_half_registered(
    keyspace: str, cluster_connection: Connection, figures: FaultFigures
) -> None:
    registry = Registry(cluster_connection)
    name = unique("frozen")
    email = f"{name}@registry.galaxy"
    args = ["users", "register", name, "--email", email, "--display-name", "Agent", "--dimension", "Dimension-6", "--json"]  # fmt: skip
    env = cli_env(keyspace, SCYLLA_PASSWORD=SECRET)
    await alauncher("pause-node", "2")
    await alauncher("pause-node", "3")
    figures.faults.append("SIGSTOP nodes 2+3 during `users register`")
    try:
        started = time.monotonic()
        proc = await asyncio.to_thread(cli, env, *args)
        elapsed = time.monotonic() - started
    finally:
        await alauncher("resume-node", "2")
        await alauncher("resume-node", "3")

    everything = proc.stdout + proc.stderr
    assert proc.returncode in (EXIT_UNAVAILABLE, EXIT_UNKNOWN), everything
    assert "Traceback" not in everything and SECRET not in everything, everything
    assert elapsed < 60, elapsed
    doc = json.loads(proc.stdout)
    error = doc["detail"]["error"]
    if proc.returncode == EXIT_UNKNOWN:
        assert error == "outcome_unknown", doc
        reason = doc["detail"]["reason"]
        assert "timed out" in reason or "not enough live replicas" in reason, reason
        figures.cas_timeouts_reported += "timed out" in reason
    else:
        assert error == "database_unavailable", doc
        figures.unavailable_reported += "not enough live replicas" in doc["detail"]["message"]

    # After SIGCONT (and the time the server gives a queued request): the name is free or
    # whole, and the address is free, or held by a pending claim that expires by itself.
    await wait_healed(cluster_connection)
    await asyncio.sleep(SETTLE_AFTER_RESUME_S)
    holder = await eventually("SERIAL read", lambda: registry.get_user_serial(name))
    owner = await eventually("claim read", lambda: registry.get_email_owner(email))
    if holder is not None:
        profile = await eventually("profile", lambda: registry.get_profile_serial(holder.user_id))
        assert profile is not None and owner is not None and owner.user_id == holder.user_id, (
            f"half-registered after exit {proc.returncode}: {holder}, claim {owner}"
        )
    # A claim without its registration is not an identity: it is released once
    # PENDING_CLAIM_TTL_S has passed (test_claim_of_a_registration_interrupted_after_claiming_
    # expires waits one out).

    # Running the command again now: done, or (while an earlier attempt's pending claim
    # lives) refused with that claim named; never a traceback.
    again = await asyncio.to_thread(cli, env, *args)
    if holder is None and owner is None:
        assert again.returncode == 0, again.stdout + again.stderr
        assert json.loads(again.stdout) == {"applied": True, "username": name}
    else:
        assert again.returncode in (0, 1), again.stdout + again.stderr


# ----------------------------------------------------------------------------------------------
# The database killed in the middle of a long command (the single-node auth layout: one
# replica, so killing its node is an outage for every key)


class RawAuditor:
    """The audit of a whole keyspace with the driver alone (no coodie, no Registry): SERIAL
    point reads of every registration, its profile and its e-mail claim."""

    def __init__(self, settings: Settings) -> None:
        self.keyspace = settings.keyspace
        self.cluster = Cluster(**cluster_options(settings))
        self.session = self.cluster.connect()

    def close(self) -> None:
        self.cluster.shutdown()

    def rows(self, cql: str, *args: object, serial: bool = False) -> list[Any]:
        level = ConsistencyLevel.SERIAL if serial else ConsistencyLevel.ALL
        statement = SimpleStatement(cql.format(ks=self.keyspace), consistency_level=level)
        return list(self.session.execute(statement, args, timeout=30))

    def one(self, cql: str, *args: object) -> Any:
        found = self.rows(cql, *args, serial=True)
        return found[0] if found else None

    def problems(self) -> list[str]:
        """Every registration whole (its profile, its own claim); no orphan profile. (A claim
        without its registration is not an identity: it awaits release.)"""
        found: list[str] = []
        holders: dict[uuid.UUID, str] = {}
        for row in self.rows("SELECT username FROM {ks}.user_registrations"):
            reg = self.one(
                "SELECT * FROM {ks}.user_registrations WHERE username = %s", row.username
            )
            if reg is None:
                continue
            holders[reg.user_id] = reg.username
            profile = self.one("SELECT * FROM {ks}.user_profiles WHERE user_id = %s", reg.user_id)
            claim = self.one(
                "SELECT * FROM {ks}.email_claims WHERE email = %s", reg.email.strip().lower()
            )
            if profile is None or claim is None or claim.user_id != reg.user_id:
                found.append(
                    f"half-registered {reg.username}: profile={'yes' if profile else 'no'}, "
                    f"claim={'none' if claim is None else 'another user' if claim.user_id != reg.user_id else claim.state}"
                )
        for profile in self.rows("SELECT user_id, username FROM {ks}.user_profiles"):
            if profile.user_id not in holders:
                found.append(f"orphan profile {profile.username}")
        return found


@pytest.fixture
def auth_node_restored() -> Iterator[None]:
    yield
    launcher("start-node", "1", "--layout", "auth")  # a no-op when it runs


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("auth_node_restored")
async def test_database_killed_mid_seed_then_rerun_leaves_every_registration_whole(
    auth_settings: Settings, figures: FaultFigures
) -> None:
    settings = auth_settings.with_overrides(keyspace=fault_keyspace("seed"))
    env = dict(os.environ)
    env.update(
        SCYLLA_HOSTS=settings.hosts[0],
        SCYLLA_PORT=str(settings.port),
        SCYLLA_KEYSPACE=settings.keyspace,
        SCYLLA_USERNAME=settings.username or "",
        SCYLLA_PASSWORD=settings.password or "",
    )
    # One random seed: the re-run draws the same heroes, so it meets (and finishes) every
    # registration the kill interrupted.
    args = ["seed", "--count", "400", "--concurrency", "16", "--json", "--random-seed", "400"]
    prepared = await asyncio.to_thread(cli, env, "users", "get", "warm-up")  # creates the schema
    assert prepared.returncode == 1, prepared.stderr
    auditor = await asyncio.to_thread(RawAuditor, settings)
    try:
        process = await asyncio.create_subprocess_exec(
            str(REGISTRY_CLI),
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            query = "SELECT username FROM {ks}.user_registrations LIMIT 20"
            while len(await asyncio.to_thread(auditor.rows, query)) < 20:
                assert time.monotonic() < deadline, "the seed never started registering"
                await asyncio.sleep(0.05)
            assert process.returncode is None, "the seed finished before the fault"
            await alauncher("kill-node", "1", "--layout", "auth")
            killed_at = time.monotonic()
            figures.faults.append("SIGKILL the auth node during `registry seed`")
            out, err = await asyncio.wait_for(process.communicate(), 120)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await alauncher("start-node", "1", "--layout", "auth")
        stdout, stderr = out.decode(), err.decode()
        everything = stdout + stderr
        assert process.returncode in (EXIT_UNAVAILABLE, EXIT_UNKNOWN), everything
        assert "Traceback" not in everything and 'File "' not in everything, everything
        assert stderr.startswith("error: "), stderr
        assert json.loads(stdout)["detail"]["error"] == "database_unavailable", stdout

        # The person runs the interrupted command again once the database is back; it writes
        # the profiles of registrations older than REPAIR_AFTER_S (their own attempt is over).
        await asyncio.sleep(
            max(0.0, registration_module.REPAIR_AFTER_S + 2 - (time.monotonic() - killed_at))
        )
        again = await asyncio.to_thread(cli, env, *args)
        assert again.returncode == 0, again.stdout + again.stderr
        summary = json.loads(again.stdout)
        assert summary["clones_slipped"] == 0
        problems = await asyncio.to_thread(auditor.problems)
        figures.notes.append(
            f"seed killed mid-run: exit {process.returncode}; the re-run registered "
            f"{summary['registered']} more; {len(problems)} registrations not whole"
        )
        assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems[:10])
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(
                auditor.session.execute, f"DROP KEYSPACE IF EXISTS {settings.keyspace}", timeout=120
            )
        auditor.close()


# ----------------------------------------------------------------------------------------------
# Interrupted registrations: claims expire, addresses are never taken twice

SHORT_TTL_S = 3


@pytest.fixture
def short_claim_ttl(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(registration_module, "PENDING_CLAIM_TTL_S", SHORT_TTL_S)
    yield SHORT_TTL_S


async def test_claim_of_a_registration_interrupted_after_claiming_expires(
    cluster_connection: Connection, short_claim_ttl: int
) -> None:
    registry = Registry(cluster_connection)
    name, other = unique("crash"), unique("other")
    email = f"{name}@registry.galaxy"
    uid = uuid.uuid4()
    # The process dies right after its e-mail claim: nothing else of it was written.
    crashing = Registry(
        cluster_connection, DiesBefore(cluster_connection, WriteStep.INSERT_REGISTRATION)
    )
    with pytest.raises(ProcessDied):
        await crashing.register(name, email, "Agent", "Dimension-6", user_id=uid)
    owner = await registry.get_email_owner(email)
    assert owner is not None and owner.user_id == uid
    held = await registry.register(other, email, "Other", "Dimension-6")
    assert isinstance(held, EmailTaken) and held.owner.user_id == uid
    assert await registry.get_user_serial(name) is None

    await asyncio.sleep(short_claim_ttl + 1.5)
    # Nobody holds the address any more: another user can register it, and the
    # interrupted user's name was never taken.
    taken = await registry.register(other, email, "Other", "Dimension-6")
    assert isinstance(taken, Registered), taken
    owner = await registry.get_email_owner(email)
    assert owner is not None and (owner.user_id, owner.state) == (taken.user.user_id, "active")
    assert await registry.get_user_serial(name) is None
    again = await registry.register(name, f"{name}.2@registry.galaxy", "Back", "Dimension-6")
    assert isinstance(again, Registered), again


async def test_registration_interrupted_after_its_commit_never_shares_its_address(
    cluster_connection: Connection, short_claim_ttl: int
) -> None:
    """A process that dies right after its registration row (the commit point) leaves a name
    whose e-mail claim is still pending. Whatever happens next, that address must never be
    registered a second time."""
    registry = Registry(cluster_connection)
    name, thief = unique("commit"), unique("thief")
    email = f"{name}@registry.galaxy"
    uid = uuid.uuid4()
    # The process dies right after the registration row (the commit point) was written.
    crashing = Registry(
        cluster_connection, DiesBefore(cluster_connection, WriteStep.CREATE_PROFILE)
    )
    with pytest.raises(ProcessDied):
        await crashing.register(name, email, "Agent", "Dimension-6", user_id=uid)
    holder = await registry.get_user_serial(name)
    assert holder is not None and holder.user_id == uid
    assert await registry.get_profile_serial(uid) is None

    await asyncio.sleep(short_claim_ttl + 1.5)
    # Someone looks at the name (and finds it taken), then registers the same address.
    seen = await registry.register(name, f"{thief}@registry.galaxy", "Thief", "Dimension-9")
    assert isinstance(seen, UsernameTaken) and seen.existing.user_id == uid
    stolen = await registry.register(thief, email, "Thief", "Dimension-9")
    holders = [
        h
        for h in (await registry.get_user_serial(name), await registry.get_user_serial(thief))
        if h and h.email == email
    ]
    assert len(holders) <= 1, f"{email} is registered {len(holders)} times: {holders}"
    assert isinstance(stolen, EmailTaken | Unknown), stolen


# ----------------------------------------------------------------------------------------------
# A frozen node never freezes the event loop


async def test_frozen_nodes_never_freeze_the_event_loop(cluster_connection: Connection) -> None:
    """The TUI, the REST API and the race engine each run on one event loop: a registration
    sent while two nodes are frozen may take seconds, but everything else must keep running.
    (coodie 1.9.3 prepares a statement the first time it is used with the blocking
    Session.prepare() on the loop's thread.)"""
    # A second connection, as a freshly started app has: no statement prepared yet.
    fresh = await open_connection(
        cluster_connection.settings, create_schema=False, serve_reads=False
    )
    registry = Registry(fresh)
    worst_lag = 0.0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal worst_lag
        while not stop.is_set():
            tick = time.monotonic()
            await asyncio.sleep(0.05)
            worst_lag = max(worst_lag, time.monotonic() - tick - 0.05)

    beating = asyncio.ensure_future(heartbeat())
    await alauncher("pause-node", "2")
    await alauncher("pause-node", "3")
    try:
        name = unique("lag")
        # Unknown, Unavailable or worse: what it answers is checked elsewhere; here only
        # whether everything else in the process kept running meanwhile.
        with contextlib.suppress(Exception):
            await registry.register(name, f"{name}@registry.galaxy", "Lag", "Dimension-6")
    finally:
        await alauncher("resume-node", "2")
        await alauncher("resume-node", "3")
        stop.set()
        await beating
        fresh.close()
    assert worst_lag < 1.0, f"the event loop stalled for {worst_lag:.1f}s"
