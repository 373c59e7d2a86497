"""Unknown means unknown: after an ambiguous conditional write, the registry answers success or
failure only where the database proves it.

Each test forces, through the `RowStore` seam and against the real node, the interleaving that
makes a resolving SERIAL read misleading: the write *is* applied, then something else happens to
the row, and only then does its answer get lost. Before these rules, each of these was answered
with a definite (and false) conflict, not-found, success or a second success.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import (
    Deleted,
    EmailTaken,
    NotFound,
    Registered,
    Unknown,
    Updated,
    UsernameTaken,
    VersionConflict,
)
from registry_tui.core.registry import Registry
from registry_tui.core.rows import AmbiguousWrite, WriteStep
from registry_tui.core.store import Connection
from tests.conftest import unique
from tests.integration.test_registry import email_of, register_ok
from tests.row_faults import AppliedThenLost, MeanwhileFirst, PassThroughRows

pytestmark = pytest.mark.db


# ---------------------------------------------------------------------------------------------
# Profile updates


async def test_an_applied_edit_overwritten_before_its_answer_is_unknown_not_a_conflict(
    registry: Registry, connection: Connection
) -> None:
    user = await register_ok(registry)

    async def another_writer() -> None:
        assert isinstance(
            await registry.update_profile(user.user_id, bio="theirs", expected_version=2), Updated
        )

    rows = AppliedThenLost(connection, WriteStep.UPDATE_PROFILE, another_writer)
    out = await Registry(connection, rows).update_profile(
        user.user_id, bio="ours", expected_version=1
    )
    assert rows.sent[0].applied, "our edit was not applied: this test proved nothing"
    assert isinstance(out, Unknown), out
    assert out.current_read and out.current is not None
    assert (out.current.version, out.current.bio) == (3, "theirs")


async def test_an_applied_edit_whose_user_is_then_deleted_is_unknown_not_not_found(
    registry: Registry, connection: Connection
) -> None:
    user = await register_ok(registry)

    async def delete_the_user() -> None:
        assert isinstance(await registry.delete_user(user.username), Deleted)

    rows = AppliedThenLost(connection, WriteStep.UPDATE_PROFILE, delete_the_user)
    out = await Registry(connection, rows).update_profile(
        user.user_id, bio="ours", expected_version=1
    )
    assert rows.sent[0].applied
    assert isinstance(out, Unknown), out
    assert (out.current, out.current_read) == (None, True)


async def test_an_edit_beaten_to_the_same_version_is_a_definite_conflict(
    registry: Registry, connection: Connection
) -> None:
    """The one reading besides our own token that proves an outcome: another writer holds
    exactly version n+1, so ours (IF version = n) can never apply."""
    user = await register_ok(registry)

    async def another_writer() -> None:
        assert isinstance(
            await registry.update_profile(user.user_id, bio="theirs", expected_version=1), Updated
        )

    rows = MeanwhileFirst(connection, WriteStep.UPDATE_PROFILE, another_writer)
    out = await Registry(connection, rows).update_profile(
        user.user_id, bio="ours", expected_version=1
    )
    assert not rows.sent[0].applied
    assert isinstance(out, VersionConflict), out
    assert (out.current.version, out.current.bio, out.resolved_after_timeout) == (2, "theirs", True)


async def test_a_refused_edit_with_no_doubt_is_answered_from_what_the_write_saw(
    registry: Registry,
) -> None:
    user = await register_ok(registry)
    assert isinstance(await registry.update_profile(user.user_id, bio="a"), Updated)
    out = await registry.update_profile(user.user_id, bio="stale", expected_version=1)
    assert isinstance(out, VersionConflict) and out.current.version == 2
    assert out.resolved_after_timeout is False
    nobody = uuid.uuid4()
    gone = await registry.update_profile(nobody, bio="nobody", expected_version=1)
    assert gone == NotFound("profile", str(nobody))


# ---------------------------------------------------------------------------------------------
# Registrations


async def test_an_applied_registration_deleted_before_its_answer_is_unknown_and_not_redone(
    registry: Registry, connection: Connection
) -> None:
    """The name is free when the resolving read comes: ours applied and was deleted by its
    identity meanwhile. A retry would register it a second time; the answer must be unknown."""
    name = unique("aba")
    uid = uuid.uuid4()

    async def delete_it() -> None:
        assert isinstance(await registry.delete_user(name, user_id=uid), Deleted)

    rows = AppliedThenLost(connection, WriteStep.INSERT_REGISTRATION, delete_it)
    out = await Registry(connection, rows).register(
        name, email_of(name), "Once", "d-aba", user_id=uid
    )
    assert rows.sent[0].applied
    assert isinstance(out, Unknown), out
    assert (out.current, out.current_read, out.user_id) == (None, True, uid)
    assert await registry.get_user_serial(name) is None, "the registration was applied twice"


async def test_an_applied_registration_deleted_and_retaken_is_unknown_not_taken(
    registry: Registry, connection: Connection
) -> None:
    name = unique("aba")
    uid = uuid.uuid4()
    taker: list[Any] = []

    async def delete_and_retake() -> None:
        assert isinstance(await registry.delete_user(name, user_id=uid), Deleted)
        taker.append(await register_ok(registry, name, email=email_of(unique("taker"))))

    rows = AppliedThenLost(connection, WriteStep.INSERT_REGISTRATION, delete_and_retake)
    out = await Registry(connection, rows).register(
        name, email_of(unique("first")), "Once", "d-aba", user_id=uid
    )
    assert rows.sent[0].applied
    assert isinstance(out, Unknown), out
    assert (out.current, out.current_read) == (taker[0], True)


async def test_email_taken_or_username_taken_is_decided_at_the_serial_level(
    registry: Registry, connection: Connection
) -> None:
    """Every read that decides a registration's answer is a SERIAL read."""
    holder = await register_ok(registry)

    plain: list[str] = []

    class Watched(PassThroughRows):
        async def read_one(self, model: Any, serial: bool = False, **key: Any) -> Any:
            if not serial and model in (registry.models.registration, registry.models.email_claim):
                plain.append(f"{model.__name__} {key}")
            return await super().read_one(model, serial, **key)

    rows = Watched(connection)
    watched = Registry(connection, rows)
    both = await watched.register(holder.username, holder.email, "Again", "d-serial")
    assert isinstance(both, UsernameTaken) and both.existing == holder
    email = await watched.register(unique("other"), holder.email, "Other", "d-serial")
    assert isinstance(email, EmailTaken)
    name = await watched.register(holder.username, email_of(unique("fresh")), "X", "d-serial")
    assert isinstance(name, UsernameTaken)
    assert plain == [], plain


# ---------------------------------------------------------------------------------------------
# Deletes


async def test_two_deletes_of_one_identity_are_never_both_successes(
    registry: Registry, connection: Connection
) -> None:
    user = await register_ok(registry)
    other: list[Any] = []

    async def the_other_delete() -> None:
        other.append(await registry.delete_user(user.username, user_id=user.user_id))

    rows = MeanwhileFirst(connection, WriteStep.DELETE_REGISTRATION, the_other_delete)
    ours = await Registry(connection, rows).delete_user(user.username, user_id=user.user_id)
    assert isinstance(other[0], Deleted), other
    assert not rows.sent[0].applied
    # The identity is gone, but not by us as far as anyone can prove: unknown, never Deleted.
    assert isinstance(ours, Unknown) and ours.gone, ours


async def test_a_delete_refused_with_no_doubt_is_not_found(registry: Registry) -> None:
    user = await register_ok(registry)
    assert isinstance(await registry.delete_user(user.username, user_id=user.user_id), Deleted)
    again = await registry.delete_user(user.username, user_id=user.user_id)
    assert isinstance(again, NotFound), again


async def test_the_unknown_answer_carries_what_the_database_holds_now(
    registry: Registry, connection: Connection
) -> None:
    """The JSON answer (HTTP 504, exit 4) shows the row as it is now and the token to retry."""
    from registry_tui.core.documents import answer

    name = unique("doc")
    uid = uuid.uuid4()
    taker: list[Any] = []

    async def retake() -> None:
        assert isinstance(await registry.delete_user(name, user_id=uid), Deleted)
        taker.append(await register_ok(registry, name, email=email_of(unique("t"))))

    rows = AppliedThenLost(connection, WriteStep.INSERT_REGISTRATION, retake)
    out = await Registry(connection, rows).register(
        name, email_of(unique("d")), "Doc", "d-doc", user_id=uid
    )
    doc = answer(out)
    assert doc.status == 504 and int(doc.exit_code) == 4
    detail = doc.document["detail"]
    assert detail["error"] == "outcome_unknown"
    assert detail["user_id"] == str(uid)
    assert detail["current"]["user_id"] == str(taker[0].user_id)
    assert not isinstance(out, Registered)


class NoAnswerThenUnavailable(PassThroughRows):
    """The first write of `step` gets no answer (it is never sent here, but the registry
    cannot know that); every later try of it is refused as unavailable, as when nodes go down
    meanwhile."""

    def __init__(self, connection: Connection, step: WriteStep) -> None:
        super().__init__(connection)
        self.step = step
        self.tries = 0

    async def write(self, write: Any) -> Any:
        if write.step is not self.step:
            return await super().write(write)
        self.tries += 1
        if self.tries == 1:
            raise AmbiguousWrite("no answer")
        raise DatabaseUnavailable("not enough live replicas", "the test's cluster")


async def test_an_unavailable_retry_after_an_ambiguous_try_is_unknown_not_unavailable(
    registry: Registry, connection: Connection
) -> None:
    """'Database unavailable' (exit 3) says nothing was written. After an ambiguous try that
    is not known (it may still be applied), so the answer is unknown (exit 4)."""
    user = await register_ok(registry)
    rows = NoAnswerThenUnavailable(connection, WriteStep.UPDATE_PROFILE)
    update = await Registry(connection, rows).update_profile(
        user.user_id, bio="x", expected_version=1
    )
    assert rows.tries == 2, "the resolving read should have sent the same write again"
    assert isinstance(update, Unknown), update

    rows = NoAnswerThenUnavailable(connection, WriteStep.DELETE_REGISTRATION)
    delete = await Registry(connection, rows).delete_user(user.username, user_id=user.user_id)
    assert rows.tries == 2
    assert isinstance(delete, Unknown) and not delete.gone, delete

    # With no try in doubt, unavailable stays unavailable: nothing was written.
    rows = NoAnswerThenUnavailable(connection, WriteStep.UPDATE_PROFILE)
    rows.tries = 1
    with pytest.raises(DatabaseUnavailable):
        await Registry(connection, rows).update_profile(user.user_id, bio="y", expected_version=1)
