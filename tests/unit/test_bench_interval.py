"""The benchmark's interval for ours/raw over paired rounds (pure arithmetic)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"
spec = importlib.util.spec_from_file_location("bench_under_test", BENCH)
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # its dataclasses look their module up
spec.loader.exec_module(bench)


def test_rounds_that_agree_give_a_point() -> None:
    # ours 900/s and raw 1,000/s in every round: 0.9 whatever is resampled.
    pairs = [(900, 1.0, 1000, 1.0), (450, 0.5, 500, 0.5), (1800, 2.0, 2000, 2.0)]
    assert bench.ratio_interval(pairs) == [0.9, 0.9]


def test_rounds_that_disagree_give_a_range_around_the_run() -> None:
    pairs = [(500, 1.0, 1000, 1.0), (1000, 1.0, 1000, 1.0)] * 10  # rounds at 0.5 and at 1.0
    low, high = bench.ratio_interval(pairs)
    assert 0.5 < low < 0.75 < high < 1.0


def test_one_round_gives_no_interval() -> None:
    assert bench.ratio_interval([(900, 1.0, 1000, 1.0)]) == []


def test_runs_that_agree_give_a_point() -> None:
    assert bench.runs_interval([0.9, 0.9, 0.9]) == [0.9, 0.9]


def test_runs_that_disagree_give_a_range_inside_theirs() -> None:
    low, high = bench.runs_interval([0.8, 1.0] * 4)
    assert 0.8 <= low < 0.9 < high <= 1.0


def test_one_run_gives_no_run_interval() -> None:
    assert bench.runs_interval([0.9]) == []
