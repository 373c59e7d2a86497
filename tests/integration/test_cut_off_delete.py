"""A delete whose clean-up is cut off after its commit point leaves the profile behind and says
so; the same delete by identity, run again, finishes it (the registration is already gone)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from coodie.results import LWTResult

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import CleanupFinished, Deleted, NotFound, Registered, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.rows import ConditionalWrite, WriteStep
from registry_tui.core.store import Connection
from tests.conftest import unique
from tests.row_faults import PassThroughRows

pytestmark = pytest.mark.db

REGISTRY_CLI = Path(sys.executable).parent / "registry"
PROFILE_STEPS = {WriteStep.DELETE_PROFILE, WriteStep.BURY_PROFILE_BIRTH}


class ProfileUnreachable(PassThroughRows):
    """Every write of a profile's removal is refused, as by a replica set gone mid-delete."""

    async def write(self, write: ConditionalWrite) -> LWTResult:
        if write.step in PROFILE_STEPS:
            raise DatabaseUnavailable("the profile's replicas went away")
        return await super().write(write)


async def registered(registry: Registry) -> UserRecord:
    name = unique("cut")
    out = await registry.register(name, f"{name}@example.org", "Cut", "d-cut")
    assert isinstance(out, Registered), out
    return out.user


async def cut_off(connection: Connection, user: UserRecord) -> Deleted:
    out = await Registry(connection, ProfileUnreachable(connection)).delete_user(
        user.username, user_id=user.user_id
    )
    assert isinstance(out, Deleted) and out.leftovers == ("profile",), out
    return out


async def test_a_cut_off_delete_is_finished_by_the_same_delete_again(
    connection: Connection, registry: Registry
) -> None:
    user = await registered(registry)
    await cut_off(connection, user)
    # The registration and the claim are gone; the profile is left, and nothing else meets it.
    assert await registry.get_user_serial(user.username) is None
    assert await registry.get_email_owner(user.email) is None
    assert await registry.get_profile_serial(user.user_id) is not None

    out = await registry.delete_user(user.username, user_id=user.user_id)
    assert out == CleanupFinished(user.user_id, user.username, ())
    assert await registry.get_profile_serial(user.user_id) is None
    # Nothing left to finish: an honest not-found, and nothing written.
    again = await registry.delete_user(user.username, user_id=user.user_id)
    assert isinstance(again, NotFound)


async def test_finishing_never_touches_an_identity_that_holds_a_name(
    connection: Connection, registry: Registry
) -> None:
    user = await registered(registry)
    other = unique("cutother")
    # Asked by another name, the identity is not there; its profile is not a left-over.
    out = await registry.delete_user(other, user_id=user.user_id)
    assert isinstance(out, NotFound)
    assert await registry.get_profile_serial(user.user_id) is not None
    # A name re-registered by another identity after the cut-off delete: that holder and its
    # profile stay; only the gone identity's profile is removed.
    await cut_off(connection, user)
    again = await registry.register(user.username, f"{other}@example.org", "Next", "d-cut")
    assert isinstance(again, Registered), again
    finished = await registry.delete_user(user.username, user_id=user.user_id)
    assert isinstance(finished, CleanupFinished), finished
    holder = await registry.get_user_serial(user.username)
    assert holder is not None and holder.user_id == again.user.user_id
    assert await registry.get_profile_serial(holder.user_id) is not None
    assert await registry.get_profile_serial(user.user_id) is None
    # An identity that never existed: not found, nothing written.
    assert isinstance(await registry.delete_user(other, user_id=uuid.uuid4()), NotFound)


async def test_the_cli_finishes_it_and_then_says_not_found(
    cli_env: dict[str, str], registry: Registry, connection: Connection
) -> None:
    user = await registered(registry)
    await cut_off(connection, user)
    # The command the cut-off delete printed (tests/unit/test_render.py checks the wording).
    command = ["users", "delete", user.username, "--user-id", str(user.user_id), "--yes"]
    done = subprocess.run(
        [str(REGISTRY_CLI), *command], env=cli_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "finished an earlier delete" in done.stdout, done.stdout
    assert await registry.get_profile_serial(user.user_id) is None
    again = subprocess.run(
        [str(REGISTRY_CLI), *command, "--json"],
        env=cli_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode != 0 and "Traceback" not in again.stderr, again.stderr
    assert "not found" in (again.stdout + again.stderr).lower().replace("_", " ")
