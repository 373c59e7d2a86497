"""`registry adopt` on rows laid out exactly as the coodie demo writes them.

The demo's tables are created the way its seed and app create them: its own document classes
(copied below as data, from demos/lwt-user-registry/models.py) and `sync_table`; its rows are
written as its seed writes them: registrations with `INSERT ... IF NOT EXISTS` keyed by the name
as typed, profiles with a plain `save()`. The demo allowed names that differ only by case and
one e-mail for several users; adoption must keep the earliest, list the others, and leave no
way to make a second identity.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import pytest
from coodie.aio import Document
from coodie.fields import Indexed, PrimaryKey
from pydantic import Field

from registry_tui.core.adopt import AdoptionRefused, adopt
from registry_tui.core.config import Settings
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import Deleted, EmailTaken, NotFound, Registered, UsernameTaken
from registry_tui.core.registry import Registry
from registry_tui.core.rows import ConditionalWrite, WriteStep
from registry_tui.core.schema import (
    ForeignSchema,
    Kind,
    NeedsAdoption,
    detect_layout,
)
from registry_tui.core.store import Connection, open_connection
from tests.row_faults import PassThroughRows, ProcessDied

pytestmark = pytest.mark.db

REGISTRY = [str(Path(sys.executable).parent / "registry")]
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def demo_models(connection: str, keyspace: str) -> tuple[type[Any], type[Any]]:
    """The demo's two documents, field for field (its models.py), bound to a test keyspace."""

    class UserRegistration(Document):
        username: Annotated[str, PrimaryKey()]
        email: Annotated[str, Indexed()]
        display_name: str
        dimension: Annotated[str, Indexed()]
        registered_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
        user_id: uuid.UUID = Field(default_factory=uuid.uuid4)

        class Settings:
            name = "user_registrations"

    class UserProfile(Document):
        user_id: Annotated[uuid.UUID, PrimaryKey()]
        username: str
        bio: str | None = None
        status: str = "active"
        version: int = 1
        updated_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

        class Settings:
            name = "user_profiles"

    for cls in (UserRegistration, UserProfile):
        settings: Any = cls.Settings
        settings.keyspace = keyspace
        settings.connection = connection
    return UserRegistration, UserProfile


# (typed name, e-mail, minutes after T0, profile version or None: the demo's seed gave
# profiles to the first N registrations only, so some registered users have none)
DEMO_ROWS = [
    ("Guardian-Onyx-889", "guardian-onyx-889@coodie-corps.dimension-6.galaxy", 0, 3),
    ("Agent-Cipher-007", "agent-cipher-007@coodie-corps.dimension-1.galaxy", 1, 1),
    ("AGENT-CIPHER-007", "clone-007@mirror.void", 2, 1),  # case-only duplicate, later
    ("Captain-Flux-100", "shared@coodie-corps.void-sector.galaxy", 3, 1),
    ("Marshal-Nova-200", "Shared@coodie-corps.void-sector.galaxy", 4, None),  # same e-mail
    ("sentinel-rift-300", "sentinel-rift-300@coodie-corps.echo-layer.galaxy", 5, None),
]


async def make_keyspace(base: Settings, name: str) -> Connection:
    connection = await open_connection(base.with_overrides(keyspace=name), create_schema=False)
    await asyncio.to_thread(
        connection.session.execute,
        f"CREATE KEYSPACE IF NOT EXISTS {name} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        timeout=60,
    )
    return connection


async def write_demo_rows(connection: Connection) -> dict[str, uuid.UUID]:
    registration, profile = demo_models(connection.name, connection.settings.keyspace)
    await registration.sync_table()
    await profile.sync_table()
    ids: dict[str, uuid.UUID] = {}
    for typed, email, minutes, version in DEMO_ROWS:
        row = registration(
            username=typed,
            email=email,
            display_name=typed.replace("-", " "),
            dimension="Dimension-6",
            registered_at=T0 + timedelta(minutes=minutes),
        )
        result = await row.insert()  # the seed's INSERT ... IF NOT EXISTS
        assert result is not None and result.applied
        ids[typed] = row.user_id
        if version is not None:
            await profile(
                user_id=row.user_id,
                username=typed,
                bio=f"bio of {typed}",
                status="inactive",
                version=version,
            ).save()  # the seed's plain write
    # The demo's seed also gave profiles to registrations that lost: an orphan, kept as is.
    await profile(user_id=uuid.uuid4(), username="Nobody-Lost-001", version=1).save()
    return ids


async def cql(connection: Connection, statement: str, *params: Any) -> list[Any]:
    def run() -> list[Any]:
        return list(connection.session.execute(statement, params or None, timeout=30))

    return await asyncio.to_thread(run)


@pytest.fixture
async def demo(base_settings: Settings) -> AsyncIterator[tuple[Connection, dict[str, uuid.UUID]]]:
    name = f"t_adopt_{uuid.uuid4().hex[:8]}"
    connection = await make_keyspace(base_settings, name)
    try:
        ids = await write_demo_rows(connection)
        yield connection, ids
    finally:
        try:
            connection.session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
        finally:
            connection.close()


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ, SCYLLA_KEYSPACE=settings.keyspace)
    return subprocess.run([*REGISTRY, *args], env=env, capture_output=True, text=True, timeout=120)


async def test_the_demo_keyspace_is_seen_as_the_demo_s_and_refuses_writes(
    demo: tuple[Connection, dict[str, uuid.UUID]],
) -> None:
    connection, ids = demo
    assert (await detect_layout(connection)).kind is Kind.DEMO
    registry = Registry(connection)
    with pytest.raises(NeedsAdoption, match="registry adopt"):
        await registry.register("Guardian-Onyx-889", "x@example.org", "G", "Dimension-6")
    with pytest.raises(NeedsAdoption):
        await registry.delete_user("Guardian-Onyx-889")
    with pytest.raises(NeedsAdoption):
        await registry.update_profile(ids["Guardian-Onyx-889"], bio="changed")
    # Reads work; nothing was written. The exact typed name finds a demo row.
    got = await registry.get_user("Guardian-Onyx-889")
    assert getattr(got, "user_id", None) == ids["Guardian-Onyx-889"]
    page = await registry.list_users()
    assert not isinstance(page, Exception)
    assert sorted(u.username for u in page.users) == sorted(r[0] for r in DEMO_ROWS)
    tables = connection.cluster.metadata.keyspaces[connection.settings.keyspace].tables
    assert "email_claims" not in tables and "registry_meta" not in tables

    # The CLI: one line naming `registry adopt`, exit 1, nothing written.
    proc = run_cli(
        connection.settings,
        "users",
        "register",
        "Fresh-Name-001",
        "--email",
        "fresh@example.org",
        "--display-name",
        "F",
        "--dimension",
        "D",
    )
    assert proc.returncode == 1, proc.stderr
    assert "registry adopt" in proc.stderr and proc.stderr.count("\n") == 1
    assert not await cql(
        connection,
        f"SELECT * FROM {connection.settings.keyspace}.user_registrations "
        "WHERE username = 'fresh-name-001'",
    )

    # A dry run through the CLI: the report, its conflicts (exit 1), and still nothing written.
    proc = run_cli(connection.settings, "adopt", "--dry-run", "--json")
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert document["dry_run"] is True and document["rows_seen"] == len(DEMO_ROWS)
    assert document["schema_version"] is None and len(document["conflicts"]) == 2
    # Without --verbose: phase lines and one progress bar, no line per row.
    assert "would:" not in proc.stderr and "rows read" in proc.stderr
    verbose = run_cli(connection.settings, "adopt", "--dry-run", "--json", "--verbose")
    assert verbose.returncode == 1, verbose.stderr
    assert json.loads(verbose.stdout)["conflicts"] == document["conflicts"]
    assert "would: moving Guardian-Onyx-889" in verbose.stderr
    await asyncio.to_thread(connection.cluster.refresh_schema_metadata)
    assert (await detect_layout(connection)).kind is Kind.DEMO


async def test_adopt_keeps_the_earliest_lists_the_rest_and_leaves_no_second_identity(
    demo: tuple[Connection, dict[str, uuid.UUID]],
) -> None:
    connection, ids = demo
    ks = connection.settings.keyspace
    lines: list[str] = []

    dry = await adopt(connection, dry_run=True, progress=lines.append)
    assert dry.rows_seen == len(DEMO_ROWS)
    assert (await detect_layout(connection)).kind is Kind.DEMO  # a dry run writes nothing
    assert "email_claims" not in connection.cluster.metadata.keyspaces[ks].tables

    report = await adopt(connection, progress=lines.append)
    assert lines, "progress is reported"
    assert report.rows_seen == len(DEMO_ROWS)
    kinds = sorted((c.kind, c.username) for c in report.conflicts)
    assert kinds == [("email", "Marshal-Nova-200"), ("username", "AGENT-CIPHER-007")]
    by_name = {c.username: c for c in report.conflicts}
    assert by_name["AGENT-CIPHER-007"].kept_by == "Agent-Cipher-007"
    assert by_name["Marshal-Nova-200"].kept_by == "Captain-Flux-100"
    # Identities: 6 rows, all adopted by this run (moved, claimed or given a profile).
    assert report.adopted == len(DEMO_ROWS)
    assert report.already_current == 0
    assert report.schema_version == "2"
    assert (await detect_layout(connection)).kind is Kind.V2
    assert dry.adopted == report.adopted  # the dry run saw what the run then did

    rows = {
        r.username: r
        for r in await cql(
            connection, f"SELECT username, username_typed, user_id FROM {ks}.user_registrations"
        )
    }
    # Moved to canonical keys with the typed name; the losing case variant stays readable.
    assert rows["guardian-onyx-889"].username_typed == "Guardian-Onyx-889"
    assert rows["guardian-onyx-889"].user_id == ids["Guardian-Onyx-889"]
    assert "Guardian-Onyx-889" not in rows
    assert rows["agent-cipher-007"].user_id == ids["Agent-Cipher-007"]
    assert rows["AGENT-CIPHER-007"].user_id == ids["AGENT-CIPHER-007"]
    assert rows["sentinel-rift-300"].user_id == ids["sentinel-rift-300"]
    # Profiles keep their version; the missing one was created at version 1.
    profile = (
        await cql(
            connection,
            f"SELECT version, bio FROM {ks}.user_profiles WHERE user_id = %s",
            ids["Guardian-Onyx-889"],
        )
    )[0]
    assert (profile.version, profile.bio) == (3, "bio of Guardian-Onyx-889")
    created = await cql(
        connection,
        f"SELECT version FROM {ks}.user_profiles WHERE user_id = %s",
        ids["sentinel-rift-300"],
    )
    assert [p.version for p in created] == [1]
    claim = (
        await cql(
            connection,
            f"SELECT user_id FROM {ks}.email_claims WHERE email = %s",
            "shared@coodie-corps.void-sector.galaxy",
        )
    )[0]
    assert claim.user_id == ids["Captain-Flux-100"]

    # No second identity: a case variant of an adopted name, a demo user's e-mail.
    registry = Registry(connection)
    for variant in ("guardian-onyx-889", "GUARDIAN-ONYX-889", "Agent-cipher-007"):
        out = await registry.register(variant, f"{uuid.uuid4().hex[:8]}@example.org", "X", "D")
        assert isinstance(out, UsernameTaken), (variant, out)
    for email in (
        "Guardian-Onyx-889@coodie-corps.dimension-6.galaxy",
        "clone-007@mirror.void",  # the losing case variant's address is held too
    ):
        out = await registry.register(f"n-{uuid.uuid4().hex[:8]}", email, "X", "D")
        assert isinstance(out, EmailTaken), (email, out)
    fresh = await registry.register(f"n-{uuid.uuid4().hex[:8]}", "new@example.org", "X", "D")
    assert isinstance(fresh, Registered)
    got = await registry.get_user("GUARDIAN-onyx-889")
    assert getattr(got, "user_id", None) == ids["Guardian-Onyx-889"]

    # A re-run is a no-op that lists the same conflicts (exit 1 while they remain).
    before = await cql(connection, f"SELECT * FROM {ks}.user_registrations")
    again = await adopt(connection)
    assert again.adopted == 0
    assert sorted(c.username for c in again.conflicts) == sorted(by_name)
    assert again.already_current == report.adopted + 1 - len(again.conflicts)  # + the fresh one
    assert sorted(map(tuple, await cql(connection, f"SELECT * FROM {ks}.user_registrations"))) == (
        sorted(map(tuple, before))
    )

    proc = run_cli(connection.settings, "adopt", "--json")
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert document["adopted"] == 0 and len(document["conflicts"]) == 2
    assert document["schema_version"] == "2"


class DiesAfter(PassThroughRows):
    """A process that dies before its `n`-th conditional write: the ones before it stay."""

    def __init__(self, connection: Connection, n: int) -> None:
        super().__init__(connection)
        self.left = n

    async def write(self, write: ConditionalWrite) -> Any:
        self.left -= 1
        if self.left < 0:
            raise ProcessDied(f"died before: {write.step.value}")
        return await super().write(write)


class DropsAt(PassThroughRows):
    """The database drops at the first write of `step`."""

    def __init__(self, connection: Connection, step: WriteStep) -> None:
        super().__init__(connection)
        self.step = step

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is self.step:
            raise DatabaseUnavailable("no host answered (test)")
        return await super().write(write)


async def test_a_conflict_kept_by_adoption_is_deleted_by_its_identity_only(
    demo: tuple[Connection, dict[str, uuid.UUID]],
) -> None:
    connection, ids = demo
    ks = connection.settings.keyspace
    await adopt(connection)
    registry = Registry(connection)

    # An identity that holds neither row: nothing is deleted.
    stranger = await registry.delete_user("AGENT-CIPHER-007", user_id=uuid.uuid4())
    assert isinstance(stranger, NotFound), stranger

    # The case variant's own identity: its row at the typed key goes, with its profile and its
    # e-mail claim; the holder of the name keeps everything.
    gone = await registry.delete_user("AGENT-CIPHER-007", user_id=ids["AGENT-CIPHER-007"])
    assert isinstance(gone, Deleted) and not gone.leftovers, gone
    assert gone.user.user_id == ids["AGENT-CIPHER-007"]
    rows = {
        r.username: r.user_id
        for r in await cql(connection, f"SELECT username, user_id FROM {ks}.user_registrations")
    }
    assert "AGENT-CIPHER-007" not in rows
    assert rows["agent-cipher-007"] == ids["Agent-Cipher-007"]
    for uid, profiles in ((ids["AGENT-CIPHER-007"], 0), (ids["Agent-Cipher-007"], 1)):
        found = await cql(
            connection, f"SELECT version FROM {ks}.user_profiles WHERE user_id = %s", uid
        )
        assert len(found) == profiles, (uid, found)
    assert await registry.get_email_owner("clone-007@mirror.void") is None
    owner = await registry.get_email_owner("agent-cipher-007@coodie-corps.dimension-1.galaxy")
    assert owner is not None and owner.user_id == ids["Agent-Cipher-007"]
    # The address is free again; the name is not (its holder keeps it).
    again = await registry.register(f"n-{uuid.uuid4().hex[:8]}", "clone-007@mirror.void", "X", "D")
    assert isinstance(again, Registered), again
    taken = await registry.register("Agent-CIPHER-007", "other@example.org", "X", "D")
    assert isinstance(taken, UsernameTaken), taken
    # And adoption no longer lists it.
    assert [c.username for c in (await adopt(connection)).conflicts] == ["Marshal-Nova-200"]


@pytest.mark.parametrize("dies_after", [1, 2, 5])
async def test_killed_half_way_a_rerun_finishes(
    demo: tuple[Connection, dict[str, uuid.UUID]], dies_after: int
) -> None:
    connection, _ = demo
    ks = connection.settings.keyspace
    with pytest.raises(ProcessDied):
        await adopt(connection, store=DiesAfter(connection, dies_after))
    # Not adopted yet: writes still refused, reads still find every demo user.
    assert (await detect_layout(connection)).kind is not Kind.V2
    with pytest.raises(NeedsAdoption):
        await Registry(connection).register("Someone-New-001", "sn@example.org", "S", "D")
    report = await adopt(connection)
    assert report.schema_version == "2"
    assert sorted(c.username for c in report.conflicts) == ["AGENT-CIPHER-007", "Marshal-Nova-200"]
    keys = sorted(
        r.username for r in await cql(connection, f"SELECT username FROM {ks}.user_registrations")
    )
    assert keys == sorted(
        [
            "guardian-onyx-889",
            "agent-cipher-007",
            "AGENT-CIPHER-007",
            "captain-flux-100",
            "marshal-nova-200",
            "sentinel-rift-300",
        ]
    )
    assert (await adopt(connection)).adopted == 0


async def test_the_database_dropping_mid_run_is_one_line_and_a_rerun_finishes(
    demo: tuple[Connection, dict[str, uuid.UUID]],
) -> None:
    connection, _ = demo
    with pytest.raises(DatabaseUnavailable, match="run `registry adopt` again"):
        await adopt(connection, store=DropsAt(connection, WriteStep.CLAIM_EMAIL))
    assert (await detect_layout(connection)).kind is Kind.V1  # tables added, meta not yet
    report = await adopt(connection)
    assert report.schema_version == "2" and len(report.conflicts) == 2


async def test_bad_ground(base_settings: Settings) -> None:
    name = f"t_adopt_{uuid.uuid4().hex[:8]}"
    connection = await open_connection(
        base_settings.with_overrides(keyspace=name), create_schema=False
    )
    try:
        with pytest.raises(AdoptionRefused, match="does not exist"):
            await adopt(connection)
        proc = run_cli(connection.settings, "adopt")
        assert proc.returncode == 2 and "does not exist" in proc.stderr
        assert name not in connection.cluster.metadata.keyspaces  # nothing created
        # Another application's table with the registry's name.
        await make_keyspace(base_settings, name)
        await cql(
            connection,
            f"CREATE TABLE {name}.user_registrations (username int PRIMARY KEY, note text)",
        )
        await asyncio.to_thread(connection.cluster.refresh_schema_metadata)
        with pytest.raises(ForeignSchema, match="another application"):
            await adopt(connection)
        for args in (("adopt",), ("users", "list")):
            proc = run_cli(connection.settings, *args)
            assert proc.returncode == 2, (args, proc.stderr)
            assert "another application" in proc.stderr and proc.stderr.count("\n") == 1
        tables = connection.cluster.metadata.keyspaces[name].tables
        assert set(tables) == {"user_registrations"}  # nothing written beside it
    finally:
        connection.session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
        connection.close()


async def test_a_fresh_keyspace_is_created_at_v2(base_settings: Settings) -> None:
    name = f"t_adopt_{uuid.uuid4().hex[:8]}"
    connection = await open_connection(base_settings.with_overrides(keyspace=name))
    try:
        assert (await detect_layout(connection)).kind is Kind.V2
        meta = await cql(
            connection, f"SELECT value FROM {name}.registry_meta WHERE key = 'schema_version'"
        )
        assert [m.value for m in meta] == ["2"]
        report = await adopt(connection)
        assert (report.rows_seen, report.adopted, report.conflicts) == (0, 0, [])
    finally:
        connection.session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
        connection.close()


async def test_the_rest_api_refuses_writes_with_409_and_reads_work(
    demo: tuple[Connection, dict[str, uuid.UUID]],
) -> None:
    import httpx

    from registry_tui.api.app import create_app
    from registry_tui.core.store import serve_reads_from

    connection, ids = demo
    app = create_app(connection.settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                listed = await client.get("/api/users")
                assert listed.status_code == 200 and len(listed.json()) == len(DEMO_ROWS)
                writes = [
                    client.post(
                        "/api/users",
                        params={
                            "username": "Agent-Cipher-008",
                            "email": "c8@registry.galaxy",
                            "display_name": "A",
                            "dimension": "D",
                        },
                    ),
                    client.delete("/api/users/Guardian-Onyx-889"),
                    client.put(f"/api/profiles/{ids['Guardian-Onyx-889']}", params={"bio": "x"}),
                ]
                for request in writes:
                    answer = await request
                    assert answer.status_code == 409, answer.text
                    detail = answer.json()["detail"]
                    assert detail["error"] == "needs_adoption"
                    assert "registry adopt" in detail["message"]
    finally:
        serve_reads_from(connection)
    assert (await detect_layout(connection)).kind is Kind.DEMO  # nothing written


async def test_this_project_s_v1_layout_is_adopted(base_settings: Settings) -> None:
    """v1: canonical keys, claims and versioned profiles already, but no schema version."""
    name = f"t_adopt_{uuid.uuid4().hex[:8]}"
    settings = base_settings.with_overrides(keyspace=name)
    made = await open_connection(settings)
    try:
        registry = Registry(made)
        kept = await registry.register(f"v1-{uuid.uuid4().hex[:8]}", "kept@example.org", "K", "D")
        bare = await registry.register(f"v1-{uuid.uuid4().hex[:8]}", "bare@example.org", "B", "D")
        assert isinstance(kept, Registered) and isinstance(bare, Registered)
        # v1 had no registry_meta; a v1 registration could be left without its profile.
        await cql(made, f"DROP TABLE {name}.registry_meta")
        await cql(made, f"DELETE FROM {name}.user_profiles WHERE user_id = %s", bare.user.user_id)
        connection = await open_connection(settings)  # a new process: it looks again
        try:
            assert (await detect_layout(connection)).kind is Kind.V1
            with pytest.raises(NeedsAdoption):
                await Registry(connection).register("v1-other", "o@example.org", "O", "D")
            report = await adopt(connection)
            assert report.layout == Kind.V1.value
            assert (report.rows_seen, report.adopted, report.already_current) == (2, 1, 1)
            assert report.conflicts == []
            assert (await detect_layout(connection)).kind is Kind.V2
            profile = await Registry(connection).get_profile(bare.user.user_id)
            assert getattr(profile, "version", None) == 1
        finally:
            connection.close()
    finally:
        made.session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
        made.close()


class CountsInFlight(PassThroughRows):
    """Counts the conditional writes in flight at once (each held a moment, so they meet)."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.now = self.most = 0

    async def write(self, write: ConditionalWrite) -> Any:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(0.05)
            return await super().write(write)
        finally:
            self.now -= 1


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_rows_are_adopted_concurrently_and_no_more_at_once_than_asked(
    demo: tuple[Connection, dict[str, uuid.UUID]], concurrency: int
) -> None:
    connection, _ = demo
    counted = CountsInFlight(connection)
    report = await adopt(connection, store=counted, concurrency=concurrency)
    assert counted.most == concurrency  # 5 names, 6 addresses, 5 profiles: enough to fill it
    assert report.schema_version == "2" and len(report.conflicts) == 2
    assert sorted(c.username for c in report.conflicts) == ["AGENT-CIPHER-007", "Marshal-Nova-200"]
