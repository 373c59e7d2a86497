#!/usr/bin/env python3
"""Paxos v1 against v2 against v2 with the commit at ANY: the same race plan on each.

    .venv/bin/python scripts/bench_paxos.py                    # v1, v2, v2 + commit ANY
    .venv/bin/python scripts/bench_paxos.py --variants v2,v2-any --rounds 3
    .venv/bin/python scripts/bench_paxos.py --tracing-cost     # trace-sample 0 / 1 / base

Each variant runs on the 3-node cluster layout (CQL 9142), started by the launcher under a
state root of its own (.local/bench-paxos-v1, .local/bench-paxos-v2): v1 nodes start with
`--paxos v1`; v2 nodes with `--paxos v2 --paxos-purging repaired`, on which the v2 and the
v2 + commit ANY rounds alternate (the same nodes, only the client's commit level differs).
A layout already running is stopped first; each variant's cluster is stopped after it.

Per variant it runs `registry race --json` in a child process: once with --trace-sample N
(the round trips per winning and losing attempt and per name insert, from the traces), then
--rounds times untraced (latency p50/p99, contention timeouts, attempts/s, and the nodes' CPU
time: utime+stime of the JVMs from /proc/PID/stat, robust to other load on the machine).
Tracing is measured apart (--tracing-cost): it would inflate every other figure. Numbers are
measured, never asserted; the JSON (--out) keeps every round.

--tracing-cost runs on the v2 cluster, interleaved: the race with --trace-sample 0, with every
attempt traced (--trace-sample 1), and the race as it was before tracing existed (the base
commit's code, exported with `git archive` to a temporary folder), to measure what tracing and
the sampling hook cost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LAUNCHER = REPO / "scripts" / "cassandra_local.py"
PYTHON = REPO / ".venv" / "bin" / "python"
TICK = os.sysconf("SC_CLK_TCK")
NAME_INSERT = "INSERT user_registrations IF NOT EXISTS"


def launcher(root: Path, *args: str) -> None:
    env = dict(os.environ, REGISTRY_CASSANDRA_HOME=str(root))
    subprocess.run([sys.executable, str(LAUNCHER), *args], check=True, env=env)


def node_pids(root: Path) -> list[int]:
    pids = []
    for pidfile in sorted((root / "cluster").glob("node*/node.pid")):
        with contextlib.suppress(OSError, ValueError):
            pids.append(int(pidfile.read_text().strip()))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / TICK


def race(
    args: argparse.Namespace,
    root: Path,
    commit: str,
    trace_sample: int,
    pythonpath: str | None = None,
) -> dict[str, Any]:
    # A traced round runs at --trace-concurrency: under load the server drops trace events
    # ("_TRACE messages were dropped" in its log), leaving traces without their verdict.
    concurrency = args.trace_concurrency if trace_sample else args.concurrency
    env = dict(
        os.environ,
        SCYLLA_PORT="9142",
        SCYLLA_RF="3",
        SCYLLA_KEYSPACE=args.keyspace,
        SCYLLA_LWT_COMMIT=commit,
    )
    cmd = [
        str(PYTHON),
        "-m",
        "registry_tui",
        "race",
        "-r",
        str(args.races),
        "--clones",
        str(args.clones),
        "-c",
        str(concurrency),
        "--json",
    ]
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
        env.pop("SCYLLA_LWT_COMMIT")
    else:
        cmd += ["--trace-sample", str(trace_sample)]
    pids = node_pids(root)
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    before = os.times()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    after = os.times()
    wall, server_cpu = time.monotonic() - t0, cpu_seconds(pids) - cpu0
    if not done.stdout.strip():
        raise SystemExit(f"the race printed nothing (exit {done.returncode}): {done.stderr}")
    report = json.loads(done.stdout)
    return {
        "commit": commit,
        "trace_sample": trace_sample,
        "base": pythonpath is not None,
        "exit": done.returncode,
        "wall_s": round(wall, 2),
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": round(
            (after.children_user + after.children_system)
            - (before.children_user + before.children_system),
            2,
        ),
        "report": report,
    }


def trips(attempts: list[dict[str, Any]], outcome: str, statement: str | None) -> list[int]:
    found = []
    for a in attempts:
        if a["outcome"] != outcome or not a.get("complete", True):
            continue
        if statement is None:
            found.append(a["round_trips"])
        else:
            found += [s["round_trips"] for s in a["statements"] if s["statement"] == statement]
    return found


def spread(values: list[int]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[(len(ordered) - 1) // 2]} / {ordered[-1]}"


def summarize(
    label: str, traced: list[dict[str, Any]], rounds: list[dict[str, Any]]
) -> dict[str, Any]:
    """Round trips from the traced rounds; latency, throughput, CPU from the untraced ones."""
    attempts = [a for r in traced for a in r["report"].get("traced", [])]
    reports = [r["report"] for r in rounds] or [r["report"] for r in traced]
    contenders = sum(rep["contenders"] for rep in reports)
    return {
        "variant": label,
        "rounds": len(rounds),
        "contenders": contenders,
        "name_insert_trips_winner": spread(trips(attempts, "won", NAME_INSERT)),
        "name_insert_trips_loser": spread(trips(attempts, "blocked", NAME_INSERT)),
        "attempt_trips_winner": spread(trips(attempts, "won", None)),
        "attempt_trips_loser": spread(trips(attempts, "blocked", None)),
        "traced": len(attempts),
        "incomplete_traces": sum(1 for a in attempts if not a.get("complete", True)),
        "p50_ms": statistics.median(rep["latency_ms"]["p50"] for rep in reports),
        "p99_ms": statistics.median(rep["latency_ms"]["p99"] for rep in reports),
        "timeouts": sum(rep["timeouts"] for rep in reports),
        "attempts_per_s": round(statistics.median(rep["attempts_per_s"] for rep in reports), 1),
        "server_cpu_ms_per_attempt": round(
            1000 * sum(r["server_cpu_s"] for r in rounds or traced) / max(1, contenders), 1
        ),
        "violations": sum(rep["violations"] for rep in reports),
        "history": [rep.get("history", {}).get("verdict") for rep in reports],
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = [
        ("variant", "variant"),
        ("name_insert_trips_winner", "name ins. RT win p50/max"),
        ("name_insert_trips_loser", "lose p50/max"),
        ("attempt_trips_winner", "attempt RT win"),
        ("attempt_trips_loser", "attempt RT lose"),
        ("p50_ms", "p50 ms"),
        ("p99_ms", "p99 ms"),
        ("timeouts", "timeouts"),
        ("attempts_per_s", "attempts/s"),
        ("server_cpu_ms_per_attempt", "node CPU ms/attempt"),
        ("violations", "violations"),
    ]
    print(" | ".join(title for _, title in cols))
    for row in rows:
        print(" | ".join(str(row[key]) for key, _ in cols))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="v1,v2,v2-any")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per variant")
    parser.add_argument("--races", type=int, default=30)
    parser.add_argument("--clones", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--trace-sample", type=int, default=4)
    parser.add_argument("--trace-concurrency", type=int, default=2)
    parser.add_argument("--keyspace", default="registry_bench_paxos")
    parser.add_argument("--tracing-cost", action="store_true")
    parser.add_argument("--base", default="162e28b", help="commit before tracing existed")
    parser.add_argument("--out", type=Path, default=Path("bench_paxos.json"))
    parser.add_argument("--keep-up", action="store_true", help="leave the last cluster running")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "rounds": []}
    rows = []

    def on_cluster(paxos: str, purging: str | None) -> Path:
        root = REPO / ".local" / f"bench-paxos-{paxos}"
        launcher(REPO / ".local" / "bench-paxos-v1", "down", "--layout", "cluster")
        launcher(REPO / ".local" / "bench-paxos-v2", "down", "--layout", "cluster")
        up = ["up", "--nodes", "3", "--paxos", paxos]
        launcher(root, *up, *(["--paxos-purging", purging] if purging else []))
        return root

    if "v1" in variants:
        root = on_cluster("v1", None)
        race(args, root, "quorum", 0)  # warm-up, not counted
        traced = [race(args, root, "quorum", args.trace_sample)]
        done = [race(args, root, "quorum", 0) for _ in range(args.rounds)]
        results["rounds"] += [dict(r, variant="v1") for r in traced + done]
        rows.append(summarize("v1", traced, done))
        if not args.keep_up or variants[-1] != "v1":
            launcher(root, "down", "--layout", "cluster")
    v2_kinds = [v for v in variants if v in ("v2", "v2-any")]
    if v2_kinds or args.tracing_cost:
        root = on_cluster("v2", "repaired")
        race(args, root, "quorum", 0)  # warm-up
        level = {"v2": "quorum", "v2-any": "any"}
        by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in v2_kinds}
        traced_kind = {k: [race(args, root, level[k], args.trace_sample)] for k in v2_kinds}
        for _ in range(args.rounds):  # interleaved: noise falls on both alike
            for kind in v2_kinds:
                by_kind[kind].append(race(args, root, level[kind], 0))
        for kind, done in by_kind.items():
            results["rounds"] += [dict(r, variant=kind) for r in traced_kind[kind] + done]
            label = kind if kind == "v2" else "v2 + commit ANY"
            rows.append(summarize(label, traced_kind[kind], done))
        if args.tracing_cost:
            results["tracing_cost"] = tracing_cost(args, root)
        if not args.keep_up:
            launcher(root, "down", "--layout", "cluster")
    results["summary"] = rows
    args.out.write_text(json.dumps(results, indent=1))
    print_table(rows)
    print(f"(JSON: {args.out})")
    return 0


def tracing_cost(args: argparse.Namespace, root: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as base:
        archive = subprocess.run(
            ["git", "archive", args.base], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", base], input=archive, check=True)
        kinds = [("base", None), ("sample 0", 0), ("sample 1", 1)]
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k, _ in kinds}
        for _ in range(args.rounds):
            for kind, sample in kinds:
                if sample is None:
                    runs[kind].append(race(args, root, "quorum", 0, pythonpath=base))
                else:
                    runs[kind].append(race(args, root, "quorum", sample))
    table = []
    for kind, done in runs.items():
        contenders = sum(r["report"]["contenders"] for r in done)
        table.append(
            {
                "kind": kind,
                "attempts_per_s": [r["report"]["attempts_per_s"] for r in done],
                "p50_ms": [r["report"]["latency_ms"]["p50"] for r in done],
                "p99_ms": [r["report"]["latency_ms"]["p99"] for r in done],
                "node_cpu_ms_per_attempt": round(
                    1000 * sum(r["server_cpu_s"] for r in done) / max(1, contenders), 1
                ),
                "client_cpu_ms_per_attempt": round(
                    1000 * sum(r["client_cpu_s"] for r in done) / max(1, contenders), 1
                ),
                "wall_s": [r["wall_s"] for r in done],
            }
        )
    for row in table:
        print(row)
    return table


if __name__ == "__main__":
    raise SystemExit(main())
