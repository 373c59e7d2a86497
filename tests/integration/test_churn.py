"""The churn workload on the dev node: many clients, a few names and e-mails, every operation
recorded and the whole history checked for linearizability, per name, address and profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection
from registry_tui.core.validation import ValidationError
from registry_tui.proof import HistoryRecorder, check_history, read_jsonl
from registry_tui.race.churn import Churn, ChurnPlan

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
