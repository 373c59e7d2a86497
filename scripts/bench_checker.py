#!/usr/bin/env python3
"""The linearizability checker's speed and memory, and the cost of recording (docs/checker.md).

    .venv/bin/python scripts/bench_checker.py                 # the default cases
    .venv/bin/python scripts/bench_checker.py --only 100k     # cases whose name has "100k"
    .venv/bin/python scripts/bench_checker.py --smoke         # tiny sizes, a few seconds
    .venv/bin/python scripts/bench_checker.py --out bench-checker.json

Each case runs in a process of its own, so its peak memory (ru_maxrss) is its own: a history
is generated (clients on a shared clock, each operation's effect at a point inside its
interval, so every generated history is linearizable), written to JSON Lines, read back, and
checked. Needs no database. Numbers are measured, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from registry_tui.proof import (  # noqa: E402
    Budget,
    HistoryRecorder,
    Operation,
    check_history,
    read_jsonl,
    write_jsonl,
)


@dataclass(frozen=True)
class Case:
    name: str
    operations: int
    keys: int
    processes: int
    unknown: float  # share of writes whose answer is lost
    kinds: tuple[str, ...] = ("name", "email", "profile")
    budget_steps: int = Budget().steps
    churn: bool = False  # holders come and go every few calls (see _ownership_call)
    violations: int = 0  # profile updates turned into "refused" though a read sees them


CASES = (
    Case("10k ops, 5 hot keys", 10_000, 5, 50, 0.02),
    Case("10k ops, 5,000 keys", 10_000, 5_000, 50, 0.02),
    Case("100k ops, 50 keys", 100_000, 50, 100, 0.02),
    Case("100k ops, 50 keys, 10 refused-but-applied", 100_000, 50, 100, 0.02, violations=10),
    Case("100k ops, 50,000 keys (land-grab)", 100_000, 50_000, 100, 0.02, ("name",)),
    Case("100k ops, 5 hot keys", 100_000, 5, 50, 0.02),
    Case("1M ops, 50,000 keys", 1_000_000, 50_000, 200, 0.02),
    Case("1M ops, 500 keys", 1_000_000, 500, 200, 0.02),
    # What makes one key's search explode: many calls in flight on one key at once, holders
    # coming and going (and coming back), unknown writes piling up.
    Case("2k ops, 1 key, 50 in flight, 2% unknown", 2_000, 1, 50, 0.02, ("name",)),
    Case("2k ops, 1 key, 50 in flight, 30% unknown", 2_000, 1, 50, 0.30, ("name",)),
    Case("2k ops, 1 key, 200 in flight, 2% unknown", 2_000, 1, 200, 0.02, ("name",)),
    Case("2k ops, 1 key, 10 in flight, churn", 2_000, 1, 10, 0.02, ("name",), churn=True),
    Case("2k ops, 1 key, 50 in flight, churn", 2_000, 1, 50, 0.02, ("name",), churn=True),
    Case(
        "2k ops, 1 key, 50 in flight, churn, budget 1M",
        2_000,
        1,
        50,
        0.02,
        ("name",),
        budget_steps=1_000_000,
        churn=True,
    ),
)
SMOKE = (
    Case("smoke 2k ops, 500 keys", 2_000, 500, 20, 0.05),
    Case("smoke 2k ops, 2 keys", 2_000, 2, 20, 0.05),
)


# ----------------------------------------------------------------------------------------------
# Histories


def generate(case: Case, seed: int = 7) -> list[Operation]:
    """A linearizable history: clients call one after another on random keys; each call's
    interval is drawn first, its effect placed at a random point inside, and the calls are
    decided in the order of those points, against the model's state."""
    rng = random.Random(seed)
    calls: list[tuple[float, float, float, int, str]] = []  # point, invoke, complete, process
    clock = [rng.uniform(0, 0.001) for _ in range(case.processes)]
    keys = [f"{case.kinds[i % len(case.kinds)]}:k{i}" for i in range(case.keys)]
    for _ in range(case.operations):
        process = rng.randrange(case.processes)
        invoke = clock[process]
        complete = invoke + rng.expovariate(1 / 0.002)  # ~2 ms a call
        clock[process] = complete + rng.expovariate(1 / 0.0005)
        point = rng.uniform(invoke, complete)
        calls.append((point, invoke, complete, process, rng.choice(keys)))
    calls.sort()
    states: dict[str, Any] = {}
    operations: list[Operation] = []
    for index, (_, invoke, complete, process, key) in enumerate(calls):
        kind = key.split(":", 1)[0]
        if kind == "profile":
            f, args, result, value, states[key] = _profile_call(rng, states.get(key))
        else:
            call = _ownership_call(rng, kind, states.get(key), case.churn)
            f, args, result, value, states[key] = call
        end: float | None = complete
        if result != "unknown" and f not in ("read", "read_plain") and rng.random() < case.unknown:
            result, value = "unknown", None
            if rng.random() < 0.5:
                end = None  # still in flight when the run stopped
        operations.append(Operation(index, process, f, key, args, invoke, end, result, value))
    operations.sort(key=lambda op: op.invoke)
    return _refuse_applied_updates(operations, case.violations, rng)


def _refuse_applied_updates(
    operations: list[Operation], count: int, rng: random.Random
) -> list[Operation]:
    """Turn `count` applied updates, each read back later, into "refused": the bug the checker
    is for. Each is a violation for certain (every writer is unique)."""
    seen = {
        op.value["writer"]
        for op in operations
        if op.kind == "profile" and op.f == "read" and op.result == "ok" and op.value
    }
    applied = [
        i
        for i, op in enumerate(operations)
        if op.f == "update" and op.result == "ok" and op.args["writer"] in seen
    ]
    for i in rng.sample(applied, min(count, len(applied))):
        op = operations[i]
        refused = {"version": op.args["expected"] + 1}
        operations[i] = dataclasses.replace(op, result="failed", value=refused)
    return operations


USERS = [f"user-{n:02d}" for n in range(8)]


def _ownership_call(rng: random.Random, kind: str, holder: Any, churn: bool) -> tuple[Any, ...]:
    """A race on a name: many takes, few of them free to succeed, a rare give-up by the holder.
    Every take is by an identity of its own (as the race's contenders are), unless `churn`:
    then eight identities take turns and give up often, so one holder follows another every few
    calls and the same holder comes back: the shape that makes the search explode."""
    take, give_up = ("register", "delete") if kind == "name" else ("claim", "release")
    user = rng.choice(USERS) if churn else f"{kind}-{rng.getrandbits(48):012x}"
    give_up_share = 0.25 if churn else 0.05
    roll = rng.random()
    if roll < 0.2:
        return "read", {}, "ok", {"holder": holder}, holder
    if roll < 0.3:
        return "read_plain", {}, "ok", {"holder": holder}, holder
    if roll < 1 - give_up_share:
        if holder is None:
            # Sometimes the write never happened: an unknown that took no effect.
            if rng.random() < 0.1:
                return take, {"user_id": user}, "unknown", None, None
            return take, {"user_id": user}, "ok", None, user
        return take, {"user_id": user}, "failed", {"holder": holder}, holder
    if holder is not None and rng.random() < 0.7:
        return give_up, {"user_id": holder}, "ok", None, None
    if holder == user:
        return give_up, {"user_id": user}, "ok", None, None
    return give_up, {"user_id": user}, "failed", {"holder": holder}, holder


def _profile_call(rng: random.Random, state: Any) -> tuple[Any, ...]:
    state = state or "absent"
    writer = f"w{rng.randrange(10**6)}"
    roll = rng.random()
    if roll < 0.25:
        value = None if isinstance(state, str) else {"version": state[0], "writer": state[1]}
        return rng.choice(("read", "read_plain")), {}, "ok", value, state
    if roll < 0.35 or state == "absent":
        after = (1, writer) if state == "absent" else state
        return "create", {"writer": writer}, "ok", None, after
    if roll < 0.37:
        if isinstance(state, tuple):
            return "delete", {}, "ok", None, "deleted"
        return "delete", {}, "failed", None, state
    if not isinstance(state, tuple):
        return "update", {"expected": 1, "writer": writer}, "failed", {"version": None}, state
    if roll < 0.75:
        args = {"expected": state[0], "writer": writer}
        return "update", args, "ok", None, (state[0] + 1, writer)
    args = {"expected": max(1, state[0] - 1), "writer": writer}
    if args["expected"] == state[0]:
        return "update", args, "ok", None, (state[0] + 1, writer)
    return "update", args, "failed", {"version": state[0]}, state


# ----------------------------------------------------------------------------------------------
# Measurements


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_case(case: Case) -> dict[str, Any]:
    operations = generate(case)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "history.jsonl"
        started = time.perf_counter()
        write_jsonl(operations, path)
        written = time.perf_counter() - started
        size = path.stat().st_size
        del operations
        started = time.perf_counter()
        history = read_jsonl(path)
        read = time.perf_counter() - started
    rss_before = rss_mib()
    started = time.perf_counter()
    report = check_history(history, budget=Budget(steps=case.budget_steps))
    checked = time.perf_counter() - started
    slowest = max(report.keys, key=lambda k: k.seconds)
    excerpts = [len(k.excerpt.operations) for k in report.violating() if k.excerpt is not None]
    return {
        **asdict(case),
        "write_s": round(written, 3),
        "file_mib": round(size / 2**20, 1),
        "read_s": round(read, 3),
        "check_s": round(checked, 3),
        "rss_before_check_mib": round(rss_before, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "verdict": report.verdict,
        "linearizable": report.linearizable,
        "violations": report.violations,
        "unknown_keys": report.unknown,
        "stale_reads": report.stale_reads,
        "excerpt_operations_max": max(excerpts, default=None),
        "slowest_key": {
            "key": slowest.key,
            "s": round(slowest.seconds, 3),
            "steps": slowest.steps,
            "checked": slowest.checked,
            "verdict": slowest.verdict,
        },
    }


def recording_cost(count: int = 1_000_000) -> dict[str, Any]:
    """Microseconds per recorded operation (invoke, then complete), the race engine's cost."""
    recorder = HistoryRecorder()
    args = {"user_id": "3f2a9c1e-0000-4000-8000-000000000000"}
    value = {"holder": None}
    started = time.perf_counter()
    for n in range(count):
        handle = recorder.invoke(n % 64, "register", "name:alice", args)
        recorder.complete(handle, "failed", value)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    recorder.operations()
    validated = time.perf_counter() - started
    return {
        "operations": count,
        "record_us_per_op": round(elapsed / count * 1e6, 3),
        "take_out_us_per_op": round(validated / count * 1e6, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def in_child(arguments: list[str]) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, __file__, *arguments], capture_output=True, text=True, check=False
    )
    if process.returncode != 0:
        return {"error": process.stderr.strip().splitlines()[-1:]}
    return json.loads(process.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # one case, in a child process
    parser.add_argument("--record", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    cases = {case.name: case for case in (*CASES, *SMOKE)}
    if options.case:
        print(json.dumps(run_case(cases[options.case])))
        return
    if options.record:
        print(json.dumps(recording_cost(options.record)))
        return

    chosen = [c for c in (SMOKE if options.smoke else CASES) if options.only in c.name]
    # Two cores shared with whatever else runs: the load says how far to trust a run.
    load_before = os.getloadavg()
    print(f"load average at the start: {load_before[0]:.2f} (on {os.cpu_count()} CPUs)")
    recording = in_child(["--record", str(10_000 if options.smoke else 1_000_000)])
    print(
        f"recording: {recording.get('record_us_per_op')} µs per operation (invoke+complete), "
        f"{recording.get('take_out_us_per_op')} µs to take it out validated"
    )
    width = max(len(c.name) for c in chosen) if chosen else 10
    print(
        f"{'case':<{width}} {'read s':>7} {'check s':>8} {'peak MiB':>9} "
        f"{'lin/viol/unk keys':>19}  slowest key"
    )
    results = []
    for case in chosen:
        result = in_child(["--case", case.name])
        results.append(result)
        if "error" in result:
            print(f"{case.name:<{width}} failed: {result['error']}")
            continue
        slowest = result["slowest_key"]
        keys = f"{result['linearizable']}/{result['violations']}/{result['unknown_keys']}"
        print(
            f"{case.name:<{width}} {result['read_s']:>7.2f} {result['check_s']:>8.2f} "
            f"{result['peak_rss_mib']:>9.1f} {keys:>19}  "
            f"{slowest['checked']} ops, {slowest['steps']:,} steps, {slowest['s']:.2f} s "
            f"({slowest['verdict']})"
        )
    load_after = os.getloadavg()
    print(f"load average at the end: {load_after[0]:.2f}")
    if options.out:
        document = {
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "load_average": {"start": load_before[0], "end": load_after[0]},
            },
            "recording": recording,
            "cases": results,
        }
        options.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
