"""The churn workload on the dev node: many clients, a few names and e-mails, every operation
recorded and the whole history checked for linearizability, per name, address and profile."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from coodie.results import LWTResult

from registry_tui.core.outcomes import Deleted, Registered, UsernameTaken
from registry_tui.core.registry import Registry
from registry_tui.core.rows import AmbiguousWrite, ConditionalWrite, WriteStep
from registry_tui.core.store import Connection
from registry_tui.core.validation import ValidationError
from registry_tui.proof import History, HistoryRecorder, check_history, read_jsonl
from registry_tui.race.churn import LATE_CLAIM, Churn, ChurnPlan
from tests.row_faults import PassThroughRows

pytestmark = pytest.mark.db

REGISTRY_CLI = Path(sys.executable).parent / "registry"


async def test_churn_history_is_linearizable_and_exercises_every_operation(
    connection: Connection, registry: Registry
) -> None:
    recorder = HistoryRecorder()
    churn = Churn([registry], ChurnPlan(clients=16, seconds=4, seed=7), recorder)
    report = await churn.run()
    answers = {answer for (_, answer) in report.answers}
    # The workload did what it is for: contention on every kind of operation.
    for expected in ("Registered", "UsernameTaken", "EmailTaken", "Deleted", "Updated"):
        assert expected in answers, (expected, report.answers)
    check = check_history(recorder.history())
    assert check.verdict == "linearizable", check.to_json()
    kinds = {k.kind for k in check.keys}
    assert kinds == {"name", "email", "profile"}
    assert check.operations == len(recorder) > 1000
    # The run leaves nothing of its own behind.
    for name in churn.names:
        assert await registry.get_user_serial(name) is None
    for email in churn.emails:
        assert await registry.get_email_owner(email) is None


class LateClaim(PassThroughRows):
    """The first e-mail claim's request is held back, as in the socket of a paused node: the
    client times out, and the request reaches the database only after the registration gave
    its claim back. The database then runs it, as a coordinator runs whatever it reads."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.held: ConditionalWrite | None = None
        self.fired = False
        self.late: list[LWTResult] = []

    async def write(self, write: ConditionalWrite) -> LWTResult:
        if write.step is WriteStep.CLAIM_EMAIL and not self.fired:
            self.fired = True
            self.held = write
            raise AmbiguousWrite("the request is still on its way")
        result = await super().write(write)
        if write.step is WriteStep.RELEASE_CLAIM and self.held is not None:
            held, self.held = self.held, None
            self.late.append(await held.run(self.rows.timeout))
        return result


async def test_a_claim_that_lands_after_its_release_is_recorded_as_one_that_may_return(
    connection: Connection, registry: Registry
) -> None:
    late = LateClaim(connection)
    churn = Churn(
        [Registry(connection, late)],
        ChurnPlan(clients=1, seconds=1, names=1, emails=1, seed=5),
        HistoryRecorder(),
    )
    name, email = churn.names[0], churn.emails[0]
    # The name is held by another identity: the registration claims the address (its first try
    # lost, the retry applied), loses the name, and gives the claim back.
    first = await registry.register(name, "holder." + email, "Holder", "d-late")
    assert isinstance(first, Registered), first
    churn.recorder.initial[churn.name_key(name)] = str(first.user.user_id)
    rng = random.Random(1)
    assert await churn._register(0, churn.registries[0], rng) == "UsernameTaken"
    assert late.late and late.late[0].applied, "the held claim did not land: nothing was tested"
    # The database really holds the released claim again, by the identity that gave it back.
    owner = await registry.get_email_owner(email)
    assert owner is not None and owner.user_id != first.user.user_id
    await churn._read_email(1, churn.registries[0], rng)

    history = churn.recorder.history()
    assert check_history(history).verdict == "linearizable", check_history(history).to_json()
    # Without the open-ended second claim, the same history is a violation: the checker sees
    # an address given back and then held by its giver again.
    without = History(
        tuple(op for op in history.operations if op.error != LATE_CLAIM), history.initial
    )
    assert len(without.operations) == len(history.operations) - 1
    assert check_history(without).verdict == "violation"
    # The claim holds no name: released as an orphan.
    assert await registry.release_orphan_claim(email)
    assert isinstance(await registry.delete_user(name, user_id=first.user.user_id), Deleted)


async def test_registry_says_when_a_claim_may_return(
    connection: Connection, registry: Registry
) -> None:
    name = f"late{random.randrange(10**9)}"
    email = name + "@example.org"
    held_by_other = await registry.register(name, "x" + email, "Other", "d-late")
    assert isinstance(held_by_other, Registered)
    late = LateClaim(connection)
    lost = await Registry(connection, late).register(name, email, "Late", "d-late")
    assert isinstance(lost, UsernameTaken), lost
    assert (lost.claim_released, lost.claim_may_return) == (True, True)
    # Without a lost try, nothing is said to return.
    plain = await registry.register(name, "y" + email, "Plain", "d-late")
    assert isinstance(plain, UsernameTaken)
    assert (plain.claim_released, plain.claim_may_return) == (True, False)
    assert await registry.release_orphan_claim(email)


class HeldProfileRemoval(PassThroughRows):
    """A delete's clean-up held just before it removes the profile (its name already gone)."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.reached = asyncio.Event()
        self.go_on = asyncio.Event()

    async def write(self, write: ConditionalWrite) -> LWTResult:
        if write.step is WriteStep.DELETE_PROFILE:
            self.reached.set()
            await self.go_on.wait()
        return await super().write(write)


class LateDelete(Registry):
    """A client that read the holder, then sends its delete only when told to."""

    go_on: asyncio.Event

    async def delete_user(self, username: str, *, user_id: Any = None) -> Any:
        await self.go_on.wait()
        return await super().delete_user(username, user_id=user_id)


async def test_a_delete_finishing_another_deletes_clean_up_is_recorded_as_unknown(
    connection: Connection, registry: Registry
) -> None:
    """Two clients delete the same identity: A's name delete applies and its clean-up is
    still on its way; B (which read the holder before) finds the identity gone and its
    profile there, and removes it. One removal happened; the history must allow that."""
    churn = Churn(
        [registry], ChurnPlan(clients=1, seconds=1, names=1, emails=1, seed=5), HistoryRecorder()
    )
    rng = random.Random(2)
    assert await churn._register(0, registry, rng) == "Registered"
    held = HeldProfileRemoval(connection)
    late = LateDelete(connection)
    late.go_on = asyncio.Event()
    b = asyncio.create_task(churn._delete(1, late, rng))
    await asyncio.sleep(0.5)  # B has read the holder and waits
    a = asyncio.create_task(churn._delete(0, Registry(connection, held), rng))
    await asyncio.wait_for(held.reached.wait(), 30)  # A: name gone, profile still there
    late.go_on.set()
    assert await asyncio.wait_for(b, 30) == "CleanupFinished"
    held.go_on.set()
    assert await asyncio.wait_for(a, 30) == "Deleted"

    history = churn.recorder.history()
    assert check_history(history).verdict == "linearizable", check_history(history).to_json()
    # Recorded as done by both, the one removal would be two: a violation.
    both_done = History(
        tuple(
            dataclasses.replace(op, result="ok", error=None)
            if op.error == "finishing a delete's clean-up"
            else op
            for op in history.operations
        ),
        history.initial,
    )
    assert check_history(both_done).verdict == "violation"


def test_churn_plan_limits_name_the_option_to_fix() -> None:
    for kwargs, field in [({"clients": 0}, "clients"), ({"seconds": 0}, "seconds"),
                          ({"names": 1000}, "names")]:  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            ChurnPlan(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_cli_churn_writes_a_history_that_registry_check_accepts(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    history = tmp_path / "churn.jsonl"
    done = subprocess.run(
        [str(REGISTRY_CLI), "race", "--mode", "churn", "--clients", "8", "--seconds", "2",
         "--history", str(history), "--json"],
        env=cli_env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["mode"] == "churn" and document["history"]["verdict"] == "linearizable"
    operations = read_jsonl(history).operations
    assert len(operations) == document["history"]["totals"]["operations"]
    again = subprocess.run(
        [str(REGISTRY_CLI), "check", str(history), "--json"],
        env=cli_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["verdict"] == "linearizable"


def test_cli_history_to_a_folder_that_does_not_exist_is_refused_before_racing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(REGISTRY_CLI), "race", "--mode", "churn", "--seconds", "1",
         "--history", str(tmp_path / "no" / "such.jsonl")],
        env=cli_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid --history:"), done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------------------------
# Ctrl-C on a churn: calls in flight finish, the clean-up always runs (unless a third Ctrl-C,
# which says what stays and the command that removes it), the history check unless skipped.


def start_churn(cli_env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """A long churn, once its clients are running; returns it and its run id."""
    churn = subprocess.Popen(
        [str(REGISTRY_CLI), "race", "--mode", "churn", "--clients", "8", "--seconds", "120",
         "--json"],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert churn.stderr is not None
    line = churn.stderr.readline()
    while line and not line.startswith("churn "):
        line = churn.stderr.readline()
    match = re.match(r"churn ([0-9a-f]{6}): ", line)
    assert match, line
    time.sleep(2)  # the clients are at work
    return churn, match.group(1)


def interrupt(churn: subprocess.Popen[str], times: int) -> tuple[str, str]:
    for _ in range(times):
        churn.send_signal(signal.SIGINT)
        time.sleep(0.05)
    out, err = churn.communicate(timeout=120)
    assert churn.returncode == 130, err
    return out, err


async def nothing_left(registry: Registry, run_id: str) -> bool:
    for i in range(5):
        if await registry.get_user_serial(f"ch{run_id}-n{i}") is not None:
            return False
        if await registry.get_email_owner(f"ch{run_id}.e{i}@example.org") is not None:
            return False
    return True


@pytest.mark.parametrize("presses", [1, 2])
async def test_ctrl_c_stops_a_churn_and_still_cleans_up(
    cli_env: dict[str, str], registry: Registry, presses: int
) -> None:
    churn, run_id = start_churn(cli_env)
    out, err = interrupt(churn, presses)
    report = json.loads(out)
    assert report["run_id"] == run_id and report["stopped"] is True
    assert report["elapsed_s"] < 60 and report["operations"] > 0
    assert "stopping: calls in flight finish" in err
    if presses == 1:  # the history recorded so far is checked
        assert report["history"]["verdict"] == "linearizable", report["history"]
        assert f"churn {run_id} stopped after" in err and "(history checked)" in err
    else:  # the check is skipped, never the clean-up
        assert report["history"] is None
        assert "skipping the history check; still removing what the churn registered" in err
        assert "(history not checked)" in err
    assert report["cleanup"]["failed"] == []
    assert await nothing_left(registry, run_id)


async def test_a_third_ctrl_c_leaves_at_once_and_says_what_stays(
    cli_env: dict[str, str], registry: Registry
) -> None:
    churn, run_id = start_churn(cli_env)
    _, err = interrupt(churn, 3)
    command = f"`registry race --cleanup {run_id}` removes them"
    assert f"leaving now: names ch{run_id}-n0…n4 and claims on ch{run_id}.e0…e4@example.org" in err
    assert command in err, err
    done = subprocess.run(
        [str(REGISTRY_CLI), "race", "--cleanup", run_id, "--json"],
        env=cli_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert await nothing_left(registry, run_id)
