"""The registry core against a real node: every outcome of register / update / delete / list,
the races that lightweight transactions exist for, and ambiguous (timed-out) writes.

Nothing here mocks the database. Where an interleaving must be forced, the `Registry` is given
a RowStore that wraps the real one and delays, times out or stops one of its requests; every
read and write still goes to the node.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from typing import Any

import pytest
from cassandra import InvalidRequest

from registry_tui.core import registration as registration_module
from registry_tui.core.outcomes import (
    Deleted,
    EmailOwner,
    EmailTaken,
    Invalid,
    NotFound,
    Page,
    ProfileRecord,
    Registered,
    Unknown,
    Updated,
    UsernameTaken,
    UserRecord,
    VersionConflict,
)
from registry_tui.core.registry import Registry
from registry_tui.core.rows import (
    AmbiguousWrite,
    ConditionalWrite,
    DatabaseRows,
    WriteStep,
    user_record,
)
from registry_tui.core.store import Connection, write_profile
from tests.conftest import unique
from tests.row_faults import DiesBefore, PassThroughRows, ProcessDied

pytestmark = pytest.mark.db

TABLES = ("user_registrations", "user_profiles", "email_claims")


def email_of(name: str) -> str:
    return f"{name}@example.org"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


async def register_ok(
    registry: Registry,
    name: str | None = None,
    *,
    email: str | None = None,
    dimension: str = "d-main",
    display_name: str = "Agent",
) -> UserRecord:
    name = name or unique()
    out = await registry.register(name, email or email_of(name), display_name, dimension)
    assert isinstance(out, Registered), out
    return out.user


async def cql(connection: Connection, statement: str, *params: Any) -> list[Any]:
    """A direct read through the driver session (not through the code under test)."""

    def run() -> list[Any]:
        return list(connection.session.execute(statement, params or None, timeout=30))

    return await asyncio.to_thread(run)


def first_value(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


async def row_counts(connection: Connection) -> dict[str, int]:
    ks = connection.settings.keyspace
    counts = {}
    for table in TABLES:
        rows = await cql(connection, f"SELECT count(*) FROM {ks}.{table}")
        counts[table] = first_value(rows[0])
    return counts


async def assert_fully_registered(registry: Registry, user: UserRecord) -> None:
    """The registration, its profile and its e-mail claim exist and all belong to `user`."""
    current = await registry.get_user_serial(user.username)
    assert current is not None, f"{user.username} is not registered"
    assert current.user_id == user.user_id
    profile = await registry.get_profile_serial(user.user_id)
    assert profile is not None, f"{user.username} has no profile"
    assert profile.username == user.username
    owner = await registry.get_email_owner(user.email)
    assert owner == EmailOwner(user.email, user.username, user.user_id, "active")


async def assert_fully_gone(registry: Registry, user: UserRecord) -> None:
    assert await registry.get_user(user.username) == NotFound("user", user.username)
    assert await registry.get_user_serial(user.username) is None
    assert await registry.get_profile(user.user_id) == NotFound("profile", str(user.user_id))
    assert await registry.get_email_owner(user.email) is None


# ---------------------------------------------------------------------------------------------
# register


async def test_register_keeps_the_name_as_typed_and_finds_it_in_any_case(
    registry: Registry, connection: Connection
) -> None:
    name = unique("reg")
    typed = name[:4].upper() + name[4:]  # e.g. "REG-1a2b..."
    uid = uuid.uuid4()
    out = await registry.register(
        typed, f"  {email_of(name).upper()} ", "  Agent Cipher  ", " C-137 ", user_id=uid
    )
    assert isinstance(out, Registered)
    assert out.resolved_after_timeout is False
    assert out.incomplete == ()
    user = out.user
    assert (user.username, user.email, user.display_name, user.dimension, user.user_id) == (
        typed,
        email_of(name).upper(),
        "Agent Cipher",
        "C-137",
        uid,
    )
    assert user.key == name  # stored under the canonical key, shown as typed
    assert user.registered_at.tzinfo is not None
    assert await registry.get_user(name) == user
    assert await registry.get_user(fullwidth(name.upper())) == user
    profile = await registry.get_profile(uid)
    assert isinstance(profile, ProfileRecord)
    assert (profile.user_id, profile.username, profile.bio, profile.status, profile.version) == (
        uid,
        typed,
        None,
        "active",
        1,
    )
    await assert_fully_registered(registry, user)
    # The confirmed claim must not expire like a pending one would.
    ks = connection.settings.keyspace
    rows = await cql(
        connection,
        f"SELECT TTL(user_id), TTL(username), TTL(state) FROM {ks}.email_claims WHERE email = %s",
        email_of(name),
    )
    ttls = rows[0].values() if isinstance(rows[0], dict) else tuple(rows[0])
    assert list(ttls) == [None, None, None]


@pytest.mark.parametrize("variant", ["upper", "fullwidth", "mixed"])
async def test_same_name_in_another_case_is_taken(registry: Registry, variant: str) -> None:
    name = unique("case")
    first = await register_ok(registry, name)
    other = {"upper": name.upper(), "fullwidth": fullwidth(name), "mixed": name.title()}[variant]
    loser_email = email_of(unique("other"))
    out = await registry.register(other, loser_email, "Impostor", "d-main")
    assert out == UsernameTaken(first, claim_released=True)
    # The loser's pending e-mail claim was given back; the winner is untouched.
    assert await registry.get_email_owner(loser_email) is None
    await assert_fully_registered(registry, first)


async def test_email_taken_under_another_name(registry: Registry) -> None:
    owner = await register_ok(registry)
    loser = unique("loser")
    out = await registry.register(loser, owner.email.upper(), "Loser", "d-main")
    assert out == EmailTaken(EmailOwner(owner.email, owner.username, owner.user_id, "active"))
    assert await registry.get_user(loser) == NotFound("user", loser)
    assert await registry.get_user_serial(loser) is None
    await assert_fully_registered(registry, owner)


async def test_eight_concurrent_registrations_of_one_name(registry: Registry) -> None:
    name = unique("race")
    emails = [email_of(unique(f"racer{i}")) for i in range(8)]
    outcomes = await asyncio.gather(
        *(registry.register(name, email, f"Racer {i}", "d-race") for i, email in enumerate(emails))
    )
    winners = [o for o in outcomes if isinstance(o, Registered)]
    losers = [o for o in outcomes if isinstance(o, UsernameTaken)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 7, outcomes
    winner = winners[0].user
    assert all(o.existing.user_id == winner.user_id for o in losers)
    assert all(o.existing == winner for o in losers)
    await assert_fully_registered(registry, winner)
    for email in emails:
        if email != winner.email:
            assert await registry.get_email_owner(email) is None, email


async def test_concurrent_registrations_of_one_email(registry: Registry) -> None:
    email = email_of(unique("shared"))
    names = [unique(f"e{i}") for i in range(6)]
    outcomes = await asyncio.gather(
        *(registry.register(name, email, "Sharer", "d-race") for name in names)
    )
    winners = [o for o in outcomes if isinstance(o, Registered)]
    assert len(winners) == 1, outcomes
    winner = winners[0].user
    for name, out in zip(names, outcomes, strict=True):
        if name == winner.username:
            continue
        # Either refused at the e-mail claim, or (while the winner's claim was pending) the
        # same thing: the owner is always the winner.
        assert isinstance(out, EmailTaken), out
        assert out.owner.user_id == winner.user_id
        assert await registry.get_user_serial(name) is None
    await assert_fully_registered(registry, winner)


# ---------------------------------------------------------------------------------------------
# update_profile


async def test_update_with_expected_version(registry: Registry) -> None:
    user = await register_ok(registry)
    out = await registry.update_profile(
        str(user.user_id), bio="line one\nline two", status="Inactive", expected_version="1"
    )
    assert isinstance(out, Updated)
    assert out.resolved_after_timeout is False
    assert (out.profile.version, out.profile.bio, out.profile.status) == (
        2,
        "line one\nline two",
        "inactive",
    )
    stored = await registry.get_profile_serial(user.user_id)
    assert stored is not None
    assert (stored.version, stored.bio, stored.status) == (2, "line one\nline two", "inactive")


async def test_stale_expected_version_is_a_conflict(registry: Registry) -> None:
    user = await register_ok(registry)
    assert isinstance(
        await registry.update_profile(user.user_id, bio="first", expected_version=1), Updated
    )
    assert isinstance(
        await registry.update_profile(user.user_id, bio="second", expected_version=2), Updated
    )
    out = await registry.update_profile(user.user_id, bio="stale", expected_version=1)
    assert isinstance(out, VersionConflict), out
    assert out.expected_version == 1
    assert out.current.version == 3
    assert out.current.bio == "second"
    assert out.current.user_id == user.user_id
    stored = await registry.get_profile_serial(user.user_id)
    assert stored == out.current  # nothing was written by the refused update


async def test_expected_version_ahead_of_the_row_is_a_conflict(registry: Registry) -> None:
    user = await register_ok(registry)
    out = await registry.update_profile(user.user_id, status="suspended", expected_version=5)
    assert isinstance(out, VersionConflict)
    assert (out.current.version, out.current.status, out.expected_version) == (1, "active", 5)


async def test_update_without_expected_version_reads_then_writes(registry: Registry) -> None:
    user = await register_ok(registry)
    for expected_version, bio in ((2, "a"), (3, "b"), (4, "c")):
        out = await registry.update_profile(user.user_id, bio=bio)
        assert isinstance(out, Updated), out
        assert (out.profile.version, out.profile.bio) == (expected_version, bio)
    stored = await registry.get_profile_serial(user.user_id)
    assert stored is not None and (stored.version, stored.bio) == (4, "c")


async def test_concurrent_updates_without_version_lose_nothing(registry: Registry) -> None:
    """Each update reads a version and writes IF version = it: no two can both apply on the
    same version, so the number of Updated answers equals the number of versions added."""
    user = await register_ok(registry)
    outcomes = await asyncio.gather(
        *(registry.update_profile(user.user_id, bio=f"writer {i}") for i in range(6))
    )
    applied = [o for o in outcomes if isinstance(o, Updated)]
    assert all(isinstance(o, Updated | VersionConflict) for o in outcomes), outcomes
    assert applied
    versions = sorted(o.profile.version for o in applied)
    assert versions == list(range(2, 2 + len(applied)))  # no version was claimed twice
    stored = await registry.get_profile_serial(user.user_id)
    assert stored is not None and stored.version == 1 + len(applied)


@pytest.mark.parametrize("expected_version", [None, 1])
async def test_update_missing_profile_is_not_found(
    registry: Registry, connection: Connection, expected_version: int | None
) -> None:
    uid = uuid.uuid4()
    before = await row_counts(connection)
    out = await registry.update_profile(uid, bio="ghost", expected_version=expected_version)
    assert out == NotFound("profile", str(uid))
    assert await registry.get_profile_serial(uid) is None  # no row was created by the update
    assert await row_counts(connection) == before


async def test_update_with_nothing_to_change_is_invalid(registry: Registry) -> None:
    user = await register_ok(registry)
    out = await registry.update_profile(user.user_id, expected_version=1)
    assert isinstance(out, Invalid)
    out = await registry.update_profile(user.user_id)
    assert isinstance(out, Invalid)
    stored = await registry.get_profile_serial(user.user_id)
    assert stored is not None and stored.version == 1


async def test_update_at_the_last_version_is_invalid(registry: Registry) -> None:
    user = await register_ok(registry)
    out = await registry.update_profile(user.user_id, bio="x", expected_version=2**31 - 1)
    assert isinstance(out, Invalid) and out.field == "expected_version"
    stored = await registry.get_profile_serial(user.user_id)
    assert stored is not None and (stored.version, stored.bio) == (1, None)


async def test_finishing_a_registration_again_never_undoes_an_edit(registry: Registry) -> None:
    """Re-running the profile's creation (a retry, or another client finishing an interrupted
    registration) must never undo a later edit."""
    user = await register_ok(registry)
    edited = await registry.update_profile(user.user_id, bio="edited", expected_version=1)
    assert isinstance(edited, Updated) and edited.profile.version == 2
    assert isinstance(await registry.complete_registration(user), Registered)
    profile = await registry.get_profile_serial(user.user_id)
    assert profile is not None
    assert (profile.version, profile.bio) == (2, "edited")


class RefusesTheBirthTimestamp(PassThroughRows):
    """A server whose minimum-timestamp guardrail refuses a write stamped at the birth
    timestamp: the first profile write is refused as the node would refuse it; every other
    write (the registrar's fallback too) reaches the database."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.refused = 0

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is WriteStep.CREATE_PROFILE and not self.refused:
            self.refused += 1
            raise InvalidRequest("minimum_timestamp violated: write timestamp 1 is too old")
        return await super().write(write)


async def test_a_refused_birth_timestamp_writes_the_profile_if_not_exists(
    connection: Connection,
) -> None:
    """The first version is then written as a document, `INSERT ... IF NOT EXISTS`, with the
    same values (the registration's row of the hot path is not a document)."""
    rows = RefusesTheBirthTimestamp(connection)
    name = unique()
    out = await Registry(connection, rows).register(
        name, email_of(name), "Agent", "d-main", bio="first words", status="inactive"
    )
    assert isinstance(out, Registered) and out.incomplete == (), out
    assert rows.refused == 1
    await assert_fully_registered(Registry(connection), out.user)
    profile = await Registry(connection).get_profile_serial(out.user.user_id)
    assert profile is not None
    assert (profile.version, profile.bio, profile.status) == (1, "first words", "inactive")


# ---------------------------------------------------------------------------------------------
# delete_user


async def test_delete_removes_registration_profile_and_claim(registry: Registry) -> None:
    user = await register_ok(registry)
    out = await registry.delete_user(user.username.upper())
    assert out == Deleted(user, ())
    await assert_fully_gone(registry, user)
    assert await registry.delete_user(user.username) == NotFound("user", user.username)


async def test_delete_missing_user_is_not_found(registry: Registry) -> None:
    name = unique("nobody")
    assert await registry.delete_user(name) == NotFound("user", name)


async def test_delete_then_register_again(registry: Registry) -> None:
    first = await register_ok(registry)
    assert isinstance(await registry.delete_user(first.username), Deleted)
    out = await registry.register(first.username, first.email, "Second Life", "d-main")
    assert isinstance(out, Registered), out
    second = out.user
    assert second.username == first.username and second.email == first.email
    assert second.user_id != first.user_id
    await assert_fully_registered(registry, second)
    assert await registry.get_profile(first.user_id) == NotFound("profile", str(first.user_id))
    profile = await registry.get_profile(second.user_id)
    assert isinstance(profile, ProfileRecord) and profile.version == 1


async def test_delete_by_old_identity_cannot_remove_the_new_user(registry: Registry) -> None:
    a = await register_ok(registry)
    assert isinstance(await registry.delete_user(a.username), Deleted)
    b = await register_ok(registry, a.username, email=a.email)
    assert b.user_id != a.user_id
    # A delete that was decided while A held the name, arriving late: DELETE ... IF user_id = A.
    stale = registry.models.registration(
        username=a.username, email="", display_name="", dimension="", user_id=a.user_id
    )
    result = await stale.delete(if_conditions={"user_id": a.user_id})
    assert result is not None and result.applied is False
    await assert_fully_registered(registry, b)


class StaleRead(PassThroughRows):
    """delete_user whose first look at the name (a SERIAL read) happens *before* someone else
    deletes that user and re-registers the name: the textbook ABA, forced into one
    interleaving."""

    def __init__(self, connection: Connection, meanwhile: Any) -> None:
        super().__init__(connection)
        self.meanwhile = meanwhile

    async def read_one(self, model: Any, serial: bool = False, **key: Any) -> Any:
        seen = await super().read_one(model, serial, **key)
        if serial and model is self.connection.models.registration and self.meanwhile:
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        return seen


async def test_delete_racing_a_reregistration_keeps_the_new_user(
    registry: Registry, connection: Connection
) -> None:
    a = await register_ok(registry)
    reborn: list[UserRecord] = []

    async def delete_and_reregister() -> None:
        assert isinstance(await registry.delete_user(a.username), Deleted)
        reborn.append(await register_ok(registry, a.username, email=a.email))

    stale = StaleRead(connection, delete_and_reregister)
    out = await Registry(connection, stale).delete_user(a.username)
    assert len(reborn) == 1
    b = reborn[0]
    # The stale delete was for A, who is already gone; B must survive it untouched.
    assert isinstance(out, NotFound | Deleted), out
    if isinstance(out, Deleted):
        assert out.user.user_id == a.user_id
    await assert_fully_registered(registry, b)
    assert await registry.get_profile(a.user_id) == NotFound("profile", str(a.user_id))


async def test_delete_and_register_race_keeps_the_invariant(registry: Registry) -> None:
    """Many rounds of delete_user(name) racing register(name) (same or another e-mail).
    Whatever wins, the final state is whole: a registration has its profile and its claim,
    and nothing is left over from a user who is not registered."""
    rng = random.Random(1234)

    async def round_(i: int) -> tuple[str, UserRecord | None]:
        a = await register_ok(registry, unique(f"aba{i}"), dimension="d-aba")
        email_b = a.email if i % 2 == 0 else email_of(unique(f"b{i}"))

        async def delete() -> Any:
            await asyncio.sleep(rng.choice([0, 0.002, 0.01, 0.03]))
            return await registry.delete_user(a.username)

        async def register() -> Any:
            await asyncio.sleep(rng.choice([0, 0.005, 0.02, 0.06, 0.15]))
            return await registry.register(a.username, email_b, "Reborn", "d-aba")

        deleted, registered = await asyncio.gather(delete(), register())
        # Only this delete can remove A, so it always finds A; B can only follow it.
        assert deleted == Deleted(a, ()), deleted
        assert isinstance(registered, Registered | UsernameTaken | EmailTaken), registered
        final = await registry.get_user_serial(a.username)
        if isinstance(registered, Registered):
            assert final == registered.user
        else:
            assert final is None
        if final is not None:
            await assert_fully_registered(registry, final)
        assert await registry.get_profile_serial(a.user_id) is None
        owner = await registry.get_email_owner(a.email)
        assert owner is None or owner.user_id != a.user_id
        for email in {a.email, email_b}:
            owner = await registry.get_email_owner(email)
            if owner is not None:
                assert final is not None and owner.user_id == final.user_id, (email, owner)
        return ("reborn" if final is not None else "empty"), final

    results = await asyncio.gather(*(round_(i) for i in range(16)))
    kinds = Counter(kind for kind, _ in results)
    # Not a vacuous invariant: some rounds did end with the re-registered user.
    assert kinds["reborn"] >= 1, kinds


# ---------------------------------------------------------------------------------------------
# invalid input writes nothing


@pytest.mark.parametrize(
    ("field", "username", "email", "display_name", "dimension"),
    [
        ("username", "ab", None, "Agent", "d-inv"),
        ("username", "-starts-with-dash", None, "Agent", "d-inv"),
        ("username", "ünïcode-name", None, "Agent", "d-inv"),
        ("username", "evil\u200bname", None, "Agent", "d-inv"),
        ("email", None, "not-an-email", "Agent", "d-inv"),
        ("email", None, "x" * 250 + "@example.org", "Agent", "d-inv"),
        ("display_name", None, None, "   ", "d-inv"),
        ("display_name", None, None, "red\x1b[31mtext", "d-inv"),
        ("display_name", None, None, "title\x1b]2;x\x1b\\", "d-inv"),
        ("display_name", None, None, "x" * 65, "d-inv"),
        ("dimension", None, None, "Agent", ""),
        ("dimension", None, None, "Agent", "rtl\u202eoverride"),
        ("dimension", None, None, "Agent", "d" * 65),
    ],
)
async def test_invalid_registration_writes_nothing(
    registry: Registry,
    connection: Connection,
    field: str,
    username: str | None,
    email: str | None,
    display_name: str,
    dimension: str,
) -> None:
    fresh = unique("inv")
    username = username or fresh
    email = email or email_of(fresh)
    before = await row_counts(connection)
    out = await registry.register(username, email, display_name, dimension)
    assert isinstance(out, Invalid), out
    assert out.field == field
    assert await row_counts(connection) == before
    assert await registry.get_user_serial(fresh) is None
    assert await registry.get_email_owner(email_of(fresh)) is None


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("bio", {"bio": "x" * 501}),
        ("bio", {"bio": "bell\x07"}),
        ("bio", {"bio": "\x1b[2J wipe"}),
        ("status", {"status": "deleted"}),
        ("expected_version", {"bio": "x", "expected_version": 0}),
        ("expected_version", {"bio": "x", "expected_version": 2**31}),
        ("expected_version", {"bio": "x", "expected_version": "one"}),
    ],
)
async def test_invalid_update_writes_nothing(
    registry: Registry, connection: Connection, field: str, changes: dict[str, Any]
) -> None:
    user = await register_ok(registry)
    before_profile = await registry.get_profile_serial(user.user_id)
    before = await row_counts(connection)
    out = await registry.update_profile(user.user_id, **changes)
    assert isinstance(out, Invalid), out
    assert out.field == field
    assert await row_counts(connection) == before
    assert await registry.get_profile_serial(user.user_id) == before_profile


async def test_invalid_user_id_or_username_writes_nothing(
    registry: Registry, connection: Connection
) -> None:
    user = await register_ok(registry)
    before = await row_counts(connection)
    out = await registry.update_profile("not-a-uuid", bio="x")
    assert isinstance(out, Invalid) and out.field == "user_id"
    assert isinstance(await registry.get_profile("not-a-uuid"), Invalid)
    out = await registry.delete_user(user.username + "\x1b[31m")
    assert isinstance(out, Invalid) and out.field == "username"
    assert isinstance(await registry.get_user("x"), Invalid)
    assert await row_counts(connection) == before
    await assert_fully_registered(registry, user)


# ---------------------------------------------------------------------------------------------
# list_users


@pytest.fixture(scope="module")
async def crowd(registry: Registry) -> dict[str, Any]:
    """25 users in a dimension of their own, 3 in another."""
    dim, other = unique("dim"), unique("dim")
    users = await asyncio.gather(
        *(register_ok(registry, unique(f"c{i}"), dimension=dim) for i in range(25))
    )
    others = await asyncio.gather(
        *(register_ok(registry, unique(f"o{i}"), dimension=other) for i in range(3))
    )
    return {"dimension": dim, "users": list(users), "other": other, "others": list(others)}


async def collect(
    registry: Registry, dimension: str | None, page_size: int
) -> tuple[list[UserRecord], list[int]]:
    seen: list[UserRecord] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(1000):
        page = await registry.list_users(dimension, page_size=page_size, cursor=cursor)
        assert isinstance(page, Page), page
        sizes.append(len(page.users))
        seen.extend(page.users)
        if page.cursor is None:
            return seen, sizes
        cursor = page.cursor
    raise AssertionError("the cursor never ended")


async def test_list_users_pages_through_a_dimension(
    registry: Registry, crowd: dict[str, Any]
) -> None:
    seen, sizes = await collect(registry, crowd["dimension"], page_size=7)
    assert max(sizes) <= 7
    ids = Counter(u.user_id for u in seen)
    assert all(n == 1 for n in ids.values()), ids.most_common(3)
    assert set(ids) == {u.user_id for u in crowd["users"]}
    assert {u.username: u for u in seen} == {u.username: u for u in crowd["users"]}
    assert len(sizes) >= 4  # 25 users cannot fit in fewer pages of 7


async def test_list_users_dimension_filter(registry: Registry, crowd: dict[str, Any]) -> None:
    page = await registry.list_users(crowd["other"], page_size=100)
    assert isinstance(page, Page)
    assert page.cursor is None
    assert page.dimension == crowd["other"]
    assert sorted(u.user_id for u in page.users) == sorted(u.user_id for u in crowd["others"])
    # The filter is normalised like the stored dimension.
    page = await registry.list_users(f"  {crowd['dimension']}  ", page_size=100)
    assert isinstance(page, Page)
    assert {u.dimension for u in page.users} == {crowd["dimension"]}
    assert len(page.users) == 25
    empty = await registry.list_users(unique("nodim"), page_size=10)
    assert isinstance(empty, Page) and empty.users == [] and empty.cursor is None


async def test_list_users_without_filter_sees_everyone_once(
    registry: Registry, crowd: dict[str, Any]
) -> None:
    seen, sizes = await collect(registry, None, page_size=7)
    assert max(sizes) <= 7
    ids = Counter(u.user_id for u in seen)
    assert all(n == 1 for n in ids.values()), ids.most_common(3)
    assert {u.user_id for u in crowd["users"] + crowd["others"]} <= set(ids)


async def test_list_users_paging_while_point_reads_run(
    registry: Registry, crowd: dict[str, Any]
) -> None:
    """coodie 1.9.3 keeps the paging state in a field every request on the driver writes;
    point reads finishing during a paged read must not truncate or repeat the listing
    (without store.ReadGate this fails: the listing ends early)."""
    names = [u.username for u in crowd["users"]]

    async def reader(i: int) -> int:
        for j in range(30):
            assert isinstance(await registry.get_user(names[(i + j) % len(names)]), UserRecord)
        return 30

    async def listings() -> list[tuple[list[UserRecord], list[int]]]:
        await asyncio.sleep(0.005)  # start while the readers are in full swing
        return [await collect(registry, crowd["dimension"], page_size=2) for _ in range(3)]

    *reads, runs = await asyncio.gather(*(reader(i) for i in range(16)), listings())
    assert sum(reads) == 16 * 30
    for seen, sizes in runs:
        assert max(sizes) <= 2
        ids = Counter(u.user_id for u in seen)
        assert all(n == 1 for n in ids.values()), ids.most_common(3)
        assert set(ids) == {u.user_id for u in crowd["users"]}


async def test_list_users_is_not_starved_by_a_stream_of_point_reads(
    registry: Registry, crowd: dict[str, Any]
) -> None:
    """While point reads keep arriving (a busy TUI, many CLI users of one process), a listing
    must still get its turn. One page normally takes milliseconds; 5 s is generous."""
    names = [u.username for u in crowd["users"]]
    stop = asyncio.Event()

    async def reader(i: int) -> None:
        while not stop.is_set():
            assert isinstance(await registry.get_user(names[i % len(names)]), UserRecord)

    readers = [asyncio.ensure_future(reader(i)) for i in range(8)]
    try:
        await asyncio.sleep(0.02)
        try:
            page = await asyncio.wait_for(
                registry.list_users(crowd["dimension"], page_size=7), timeout=5
            )
        except asyncio.TimeoutError:
            page = None
        assert isinstance(page, Page), "list_users waited 5 s behind point reads and never ran"
        assert 0 < len(page.users) <= 7
    finally:
        stop.set()
        await asyncio.gather(*readers)


@pytest.mark.parametrize("page_size", [0, -1, 5001, "many"])
async def test_list_users_bad_page_size(registry: Registry, page_size: Any) -> None:
    out = await registry.list_users(page_size=page_size)
    assert isinstance(out, Invalid) and out.field == "limit"


@pytest.mark.parametrize("cursor", ["garbage", "c1.a", "c2.AAAA", "c1.!!!!"])
async def test_list_users_cursor_not_handed_out_is_invalid(
    registry: Registry, crowd: dict[str, Any], cursor: str
) -> None:
    out = await registry.list_users(crowd["dimension"], page_size=7, cursor=cursor)
    assert isinstance(out, Invalid), out
    assert out.field == "cursor"


async def wait_for_hosts(connection: Connection, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if connection.hosts_up():
            return
        await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    "cursor",
    [
        "c1.AAAA",  # well-formed base64, not a paging state the node made
        "c1." + "A" * 16,
        "c1." + "A" * 40,
        "c1." + "_" * 22,
    ],
)
async def test_list_users_forged_cursor_is_invalid_and_harmless(
    registry: Registry, connection: Connection, crowd: dict[str, Any], cursor: str
) -> None:
    """A forged cursor must be refused as Invalid, and must not take the session down for
    everyone else using the same connection."""
    try:
        try:
            out: Any = await registry.list_users(crowd["dimension"], page_size=7, cursor=cursor)
        except Exception as exc:  # the outcome is what is being tested
            out = exc
        assert isinstance(out, Invalid), f"{type(out).__name__}: {out}"
        assert out.field == "cursor"
        name = crowd["users"][0].username
        after: Any
        try:
            after = await registry.get_user(name)
        except Exception as exc:
            after = exc
        assert after == crowd["users"][0], f"a read right after the cursor: {after!r}"
    finally:
        await wait_for_hosts(connection)  # do not let a failure here spill into other tests


async def test_a_real_cursor_is_reusable(registry: Registry, crowd: dict[str, Any]) -> None:
    first = await registry.list_users(crowd["dimension"], page_size=7)
    assert isinstance(first, Page) and first.cursor is not None
    again_a = await registry.list_users(crowd["dimension"], page_size=7, cursor=first.cursor)
    again_b = await registry.list_users(crowd["dimension"], page_size=7, cursor=first.cursor)
    assert isinstance(again_a, Page) and isinstance(again_b, Page)
    assert again_a.users == again_b.users
    assert not {u.user_id for u in again_a.users} & {u.user_id for u in first.users}


async def test_a_cursor_only_works_for_its_own_listing(
    registry: Registry, crowd: dict[str, Any]
) -> None:
    dim_page = await registry.list_users(crowd["dimension"], page_size=7)
    all_page = await registry.list_users(None, page_size=7)
    assert isinstance(dim_page, Page) and dim_page.cursor is not None
    assert isinstance(all_page, Page) and all_page.cursor is not None
    for dimension, cursor in (
        (crowd["other"], dim_page.cursor),
        (None, dim_page.cursor),
        (crowd["dimension"], all_page.cursor),
    ):
        out = await registry.list_users(dimension, page_size=7, cursor=cursor)
        assert isinstance(out, Invalid), out
        assert out.field == "cursor"


async def test_iter_users_yields_every_user_once(registry: Registry, crowd: dict[str, Any]) -> None:
    seen = [u async for u in registry.iter_users(crowd["dimension"], page_size=4)]
    assert sorted(u.user_id for u in seen) == sorted(u.user_id for u in crowd["users"])


# ---------------------------------------------------------------------------------------------
# ambiguous writes, resolved by a SERIAL read

TINY_TIMEOUT = 1e-6  # seconds: the driver gives up long before any LWT can answer


STEPS = {
    "claim": WriteStep.CLAIM_EMAIL,
    "registration": WriteStep.INSERT_REGISTRATION,
    "delete": WriteStep.DELETE_REGISTRATION,  # the first one of delete_user: its commit point
    "update": WriteStep.UPDATE_PROFILE,
}


class LostAnswer(PassThroughRows):
    """Rows whose first conditional write of one chosen step fails the way an unanswered
    request does, while every other request keeps the normal timeout.

    mode "timeout": the write is really sent with a client timeout far below any LWT latency,
    so the driver raises OperationTimedOut while the node still executes it.
    mode "late": the request is held back (as if stuck in a queue) and reaches the node only
    right after the SERIAL read that resolves the ambiguity: the write lands *after* the read.
    `resolutions` holds what that read found (a row, None, or the error it raised).
    """

    def __init__(self, connection: Connection, step: str, mode: str) -> None:
        super().__init__(connection)
        assert mode in {"timeout", "late"}
        self.step, self.mode = STEPS[step], mode
        self.hasty = DatabaseRows(connection, timeout=TINY_TIMEOUT)
        self.fired = False
        self.resolving = False
        self.tripped = 0
        self.held: ConditionalWrite | None = None
        self.late_results: list[Any] = []
        self.resolutions: list[Any] = []

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is not self.step or self.fired:
            return await super().write(write)
        self.fired = True
        if self.mode == "late":
            self.held = write
            self.tripped += 1
            self.resolving = True
            raise AmbiguousWrite("the request is still on its way")
        # coodie's update() takes no timeout: it uses the writes' execution profile.
        profile = write_profile(self.connection)
        saved = profile.request_timeout
        profile.request_timeout = TINY_TIMEOUT
        try:
            return await self.hasty.write(write)
        except AmbiguousWrite:
            self.tripped += 1
            self.resolving = True
            raise
        finally:
            profile.request_timeout = saved

    async def read_one(self, model: Any, serial: bool = False, **key: Any) -> Any:
        if not self.resolving:
            return await super().read_one(model, serial, **key)
        # The first read after the lost answer is the SERIAL read that resolves it.
        self.resolving = False
        try:
            row = await super().read_one(model, serial, **key)
        except Exception as exc:
            self.resolutions.append(exc)
            raise
        self.resolutions.append(row)
        if self.held is not None:
            held, self.held = self.held, None
            # The delayed request reaches the node now.
            self.late_results.append(await held.run(self.rows.timeout))
        return row


MODES = ["timeout", "late"]


@pytest.mark.parametrize("mode", MODES)
async def test_register_timeout_resolved_by_serial_read(
    registry: Registry, connection: Connection, mode: str
) -> None:
    name = unique("amb")
    uid = uuid.uuid4()
    lost = LostAnswer(connection, "registration", mode)
    lost_registry = Registry(connection, lost)
    out = await lost_registry.register(name, email_of(name), "Ambiguous", "d-amb", user_id=uid)
    assert lost.tripped == 1, "the write did not time out: this test proved nothing"
    found = lost.resolutions[0]
    seen = user_record(found) if found is not None else None
    if isinstance(seen, UserRecord):
        # The SERIAL read found our own row: it must be reported as ours, after a timeout.
        assert seen.user_id == uid
        assert isinstance(out, Registered), out
        assert out.resolved_after_timeout is True
    else:
        # A free name proves nothing (ours may have applied and been deleted since): unknown,
        # with the token that continues the attempt.
        assert seen is None
        assert isinstance(out, Unknown), out
        assert (out.current, out.current_read, out.user_id) == (None, True, uid)
        out = await registry.register(name, email_of(name), "Ambiguous", "d-amb", user_id=uid)
        assert isinstance(out, Registered), out
    assert out.user.user_id == uid
    await assert_fully_registered(registry, out.user)
    profile = await registry.get_profile_serial(uid)
    assert profile is not None and profile.version == 1


@pytest.mark.parametrize("mode", MODES)
async def test_register_timeout_when_the_name_is_taken(
    registry: Registry, connection: Connection, mode: str
) -> None:
    holder = await register_ok(registry, unique("held"))
    lost = LostAnswer(connection, "registration", mode)
    lost_registry = Registry(connection, lost)
    email = email_of(unique("late"))
    out = await lost_registry.register(holder.username, email, "Late", "d-amb")
    assert lost.tripped == 1
    # Another holder does not prove ours never applied (it may have, and been deleted): the
    # answer is unknown, with the holder the SERIAL read found.
    assert isinstance(out, Unknown), out
    assert (out.current, out.current_read) == (holder, True)
    assert user_record(lost.resolutions[0]) == holder
    await assert_fully_registered(registry, holder)
    # A committed holder means ours can never apply from now on: the claim is given back at
    # once, not after its grace period.
    assert await registry.get_email_owner(email) is None


@pytest.mark.parametrize("mode", MODES)
async def test_email_claim_timeout_resolved_by_serial_read(
    registry: Registry, connection: Connection, mode: str
) -> None:
    name = unique("ambc")
    lost = LostAnswer(connection, "claim", mode)
    lost_registry = Registry(connection, lost)
    out = await lost_registry.register(name, email_of(name), "Claimer", "d-amb")
    assert lost.tripped == 1
    assert isinstance(out, Registered), out
    await assert_fully_registered(registry, out.user)


@pytest.mark.parametrize("mode", MODES)
async def test_email_claim_timeout_when_the_email_is_taken(
    registry: Registry, connection: Connection, mode: str
) -> None:
    owner = await register_ok(registry)
    lost = LostAnswer(connection, "claim", mode)
    lost_registry = Registry(connection, lost)
    name = unique("ambe")
    out = await lost_registry.register(name, owner.email, "Claimer", "d-amb")
    assert lost.tripped == 1
    # Refused, and said honestly: the lost try may still take the address if it is given back.
    held = EmailOwner(owner.email, owner.username, owner.user_id, "active")
    assert out == EmailTaken(held, claim_may_return=True)
    assert await registry.get_user_serial(name) is None
    await assert_fully_registered(registry, owner)


@pytest.mark.parametrize("mode", MODES)
async def test_delete_timeout_resolved_by_serial_read(
    registry: Registry, connection: Connection, mode: str
) -> None:
    user = await register_ok(registry)
    lost = LostAnswer(connection, "delete", mode)
    lost_registry = Registry(connection, lost)
    out = await lost_registry.delete_user(user.username)
    assert lost.tripped == 1
    landed_late = bool(lost.late_results) and lost.late_results[0].applied
    if lost.resolutions[0] is None or landed_late:
        # Gone after an ambiguous try (found gone by the resolving read, or removed by our held
        # request right after it, so that the retry is refused): ours or a concurrent delete,
        # which cannot be told. The answer says so, and the clean-up ran all the same (a claim
        # left active would lock the e-mail address for good).
        assert isinstance(out, Unknown) and out.gone, out
    else:
        # Still there: our delete had not applied; the retry did, and says so.
        assert out == Deleted(user, (), resolved_after_timeout=True), out
    await assert_fully_gone(registry, user)


@pytest.mark.parametrize("mode", MODES)
async def test_update_timeout_resolved_by_serial_read(
    registry: Registry, connection: Connection, mode: str
) -> None:
    user = await register_ok(registry)
    lost = LostAnswer(connection, "update", mode)
    lost_registry = Registry(connection, lost)
    out = await lost_registry.update_profile(
        user.user_id, bio="after the timeout", expected_version=1
    )
    assert lost.tripped == 1
    stored = await registry.get_profile_serial(user.user_id)
    assert stored is not None
    assert (stored.version, stored.bio) == (2, "after the timeout")  # applied exactly once
    # Our own write is what made version 2: reporting a conflict here would be a wrong answer.
    assert isinstance(out, Updated), out
    assert (out.profile.version, out.profile.bio) == (2, "after the timeout")


async def test_update_timeout_does_not_hide_a_real_conflict(
    registry: Registry, connection: Connection
) -> None:
    user = await register_ok(registry)
    assert isinstance(await registry.update_profile(user.user_id, bio="winner"), Updated)
    lost = LostAnswer(connection, "update", "timeout")
    lost_registry = Registry(connection, lost)
    out = await lost_registry.update_profile(user.user_id, bio="stale", expected_version=1)
    assert lost.tripped == 1
    assert isinstance(out, VersionConflict), out
    assert (out.current.version, out.current.bio) == (2, "winner")


class CountedSession:
    """Counts the statements sent through a connection's session (prepares are not sent)."""

    def __init__(self, connection: Connection) -> None:
        self.session = connection.session
        self.sent: list[str] = []
        self._original = self.session.execute_async

    def __enter__(self) -> CountedSession:
        def counted(query: Any, *args: Any, **kwargs: Any) -> Any:
            text = getattr(query, "query_string", None) or getattr(
                getattr(query, "prepared_statement", None), "query_string", str(query)
            )
            self.sent.append(" ".join(str(text).split()))
            return self._original(query, *args, **kwargs)

        self.session.execute_async = counted
        return self

    def __exit__(self, *_: object) -> None:
        self.session.execute_async = self._original


async def test_a_registration_is_two_conditional_writes_and_one_plain_write(
    registry: Registry, connection: Connection
) -> None:
    name = unique("counted")
    # Statements are prepared on first use; a warm-up keeps preparation out of the count.
    warm = await registry.register(unique("warm"), email_of(unique("warm")), "Warm", "d-count")
    assert isinstance(warm, Registered)
    with CountedSession(connection) as counted:
        out = await registry.register(name, email_of(name), "Counted", "d-count")
    assert isinstance(out, Registered) and out.incomplete == ()
    conditional = [q for q in counted.sent if " IF " in f" {q} "]
    plain = [q for q in counted.sent if q not in conditional]
    assert len(counted.sent) == 3, counted.sent
    assert [q.split()[0] for q in conditional] == ["INSERT", "INSERT"], conditional
    assert "email_claims" in conditional[0] and "user_registrations" in conditional[1]
    assert len(plain) == 1 and "user_profiles" in plain[0] and "TIMESTAMP" in plain[0], plain
    await assert_fully_registered(registry, out.user)


async def test_a_claim_is_valid_while_its_registration_holds_the_name(
    registry: Registry,
) -> None:
    name = unique("valid")
    out = await registry.register(name, email_of(name).title(), "Valid", "d-amb")
    assert isinstance(out, Registered)
    # No confirmation round: the claim counts because the registration holds (name, user_id).
    again = await registry.register(unique("other"), email_of(name).upper(), "Other", "d-amb")
    assert isinstance(again, EmailTaken), again
    assert again.owner == EmailOwner(email_of(name).title(), name, out.user.user_id, "active")


class DeleteBeforeProfile(PassThroughRows):
    """Finishes an interrupted registration, and a delete of that user lands between its
    SERIAL read of the holder and its profile write."""

    def __init__(self, connection: Connection, deleter: Registry) -> None:
        super().__init__(connection)
        self.deleter = deleter
        self.deleted: list[Any] = []
        self.profile_for: list[uuid.UUID] = []

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is WriteStep.CREATE_PROFILE and not self.deleted:
            self.profile_for.append(write.row.user_id)
            self.deleted.append(await self.deleter.delete_user(write.row.username))
        return await super().write(write)


async def test_finishing_a_user_deleted_meanwhile_leaves_no_orphan_profile(
    registry: Registry, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registration_module, "REPAIR_AFTER_S", 0)
    name = unique("halfdone")
    # The process dies right after its registration commits: no profile yet.
    crashing = Registry(connection, DiesBefore(connection, WriteStep.CREATE_PROFILE))
    with pytest.raises(ProcessDied):
        await crashing.register(name, email_of(name), "Half", "d-amb")
    user = await registry.get_user_serial(name)
    assert user is not None
    assert await registry.get_profile_serial(user.user_id) is None  # interrupted indeed
    # The command is run again: it meets the holder without a profile and writes it, and a
    # delete of that user lands between its read of the profile and its write.
    rows = DeleteBeforeProfile(connection, registry)
    out = await Registry(connection, rows).register(name, email_of(name), "Half", "d-amb")
    assert rows.profile_for == [user.user_id], "the repair never ran: this proved nothing"
    assert rows.deleted and isinstance(rows.deleted[0], Deleted), rows.deleted
    assert isinstance(out, UsernameTaken), out
    # The first version landed after the delete, and the delete's tombstone still hides it.
    assert await registry.get_profile_serial(user.user_id) is None
    await assert_fully_gone(registry, user)


async def test_running_an_interrupted_registration_again_repairs_its_profile(
    registry: Registry, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registration_module, "REPAIR_AFTER_S", 0)
    name = unique("repair")
    crashing = Registry(connection, DiesBefore(connection, WriteStep.CREATE_PROFILE))
    with pytest.raises(ProcessDied):
        await crashing.register(name, email_of(name), "Repair", "d-amb")
    again = await registry.register(name, email_of(name), "Repair", "d-amb")
    assert isinstance(again, UsernameTaken), again
    await assert_fully_registered(registry, again.existing)
