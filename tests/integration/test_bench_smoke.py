"""A tiny run of the benchmark script, so it cannot rot. Its numbers are not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry_tui.core.store import Connection

pytestmark = pytest.mark.db

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"


@pytest.fixture
def keyspace(connection: Connection) -> Iterator[str]:
    """A keyspace of the bench's own for one test (and the TUI section's small one), dropped
    after it."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    yield name
    for each in (name, f"{name}_small"):
        connection.session.execute(f"DROP KEYSPACE IF EXISTS {each}", timeout=60)


def run_bench(out: Path, keyspace: str, *args: str, timeout: float) -> dict[str, Any]:
    """The bench with `args`, no warm-up and no waiting for the node (unless `--smoke` sets
    its own sizes): its sections, as its JSON file holds them."""
    command = [sys.executable, str(BENCH), *args, "--warmup-s", "0", "--settle-s", "0"]
    command += ["--keyspace", keyspace, "--out", str(out)]
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    sections: dict[str, Any] = json.loads(out.read_text())["sections"]
    return sections


def test_bench_smoke_runs_every_section(tmp_path: Path, keyspace: str) -> None:
    results = {"sections": run_bench(tmp_path / "bench.json", keyspace, "--smoke", timeout=240)}
    assert set(results["sections"]) == {"register", "layers", "list", "tui", "race", "cli"}
    assert [run["count"] for run in results["sections"]["layers"]] == [20, 20, 20, 20]
    ours, demo, sequential, raw, plain, again = results["sections"]["register"]
    assert ours["count"] == raw["count"] == plain["count"] == again["count"] == 20
    assert demo["count"] == sequential["count"] == 20
    for run in (ours, raw, plain, again):
        assert len(run["per_round_per_s"]) == 2 and run["client_cpu_ms_per_op"] > 0
        # The loop thread waited for answers (Linux counts it): every registration awaits three.
        assert run["loop_thread_waits_per_op"] > 0 and run["loop_thread_preempted_per_op"] >= 0
    for run in (ours, again):
        low, high = run["ratio_vs_raw_95_interval"]
        assert 0 < low <= high
    assert results["sections"]["list"]["stored"] >= 60
    protected, control = results["sections"]["race"]
    assert protected["violations"] == 0 and protected["overwritten"] == 0
    assert control["overwritten"] > 0
    assert results["sections"]["tui"][1]["rows_paged"] >= 50


def test_bench_paced_runs_both_paths_at_one_rate(tmp_path: Path, keyspace: str) -> None:
    sections = run_bench(
        tmp_path / "bench.json", keyspace,
        "--only", "paced", "--n", "40", "--rounds", "2", "--rate", "200",
        timeout=120,
    )  # fmt: skip
    ours, raw = sections["paced"]
    assert ours["count"] == raw["count"] == 40
    for run in (ours, raw):
        assert len(run["client_cpu_ms_per_round"]) == 2 and run["client_cpu_ms_per_op"] > 0
        # Started at 200/s: 20 a round take at least 95 ms whatever the node's speed.
        assert run["seconds"] >= 2 * 0.095
    assert ours["shared_cores_ratio_estimate"] > 0


def test_bench_repeat_summarises_whole_runs(tmp_path: Path, keyspace: str) -> None:
    results = run_bench(
        tmp_path / "bench.json", keyspace,
        "--only", "register", "--repeat", "2", "--n", "20", "--rounds", "2",
        timeout=180,
    )  # fmt: skip
    runs = results["register"]
    assert len(runs) == 12 and runs[0]["name"].endswith("[run 1]")
    assert runs[6]["name"].endswith("[run 2]")
    (summary,) = results["register_repeated"]
    assert summary["ratio_vs_raw_per_run"] == [runs[0]["ratio_vs_raw"], runs[6]["ratio_vs_raw"]]
    assert summary["a_a_ratio_per_run"] == [runs[5]["ratio_vs_raw"], runs[11]["ratio_vs_raw"]]
    low, high = summary["ratio_vs_raw_mean_95_interval"]
    assert low <= summary["ratio_vs_raw_mean"] <= high
