#!/usr/bin/env python3
"""Server CPU per conditional write, per plain write and per registration (docs/capacity.md).

    .venv/bin/python scripts/bench_capacity.py --layout one               # a node of its own
    .venv/bin/python scripts/bench_capacity.py --layout single            # the dev node, 9042
    .venv/bin/python scripts/bench_capacity.py --layout cluster           # 3 nodes, RF 3, 9142
    .venv/bin/python scripts/bench_capacity.py --layout dcs               # dc1 + dc2, 9342

`one` starts a one-node ring of its own on the cluster layout's address and port (127.0.0.1,
CQL 9142; state under .local/capacity-one) and stops it at the end: the shared dev node's
idle load (other clients) is too large and too variable to take off.

The server's work is read from the JVMs' own CPU time (utime + stime in /proc/PID/stat, summed
over the layout's nodes), so other load on the machine does not inflate it; the nodes are found
by their command line (`-Dcassandra.config=.../<layout>/node*/...`). The idle rate of those
JVMs (gossip, compaction, other clients) is measured for --idle seconds before and after and
taken off. Workloads, interleaved over --rounds rounds, each --ops operations at --concurrency
in flight, on fresh keys (no contention):
  plain         INSERT at the guarantee's commit level (QUORUM)
  lwt           INSERT ... IF NOT EXISTS (Paxos at SERIAL, commit at QUORUM or SCYLLA_LWT_COMMIT)
  registration  Registry.register: 2 conditional writes + 1 plain write, as the app does
Per workload: node CPU ms per operation, operations/s, client latency p50/p99. Numbers are
measured, never asserted; --out keeps them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from registry_tui.core.config import settings_from_env  # noqa: E402
from registry_tui.core.logs import quiet_driver_logs  # noqa: E402
from registry_tui.core.registry import Registry  # noqa: E402
from registry_tui.core.store import open_connection  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
LAYOUT_ENV = {
    "single": {"SCYLLA_PORT": "9042", "SCYLLA_RF": "1"},
    "one": {"SCYLLA_PORT": "9142", "SCYLLA_RF": "1"},
    "cluster": {"SCYLLA_PORT": "9142", "SCYLLA_RF": "3"},
    "dcs": {"SCYLLA_PORT": "9342", "SCYLLA_REPLICATION": "dc1:1,dc2:1"},
}


def layout_pids(layout: str) -> list[int]:
    """The Cassandra JVMs of `layout`, by their command line (read from /proc only)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"org.apache.cassandra.service.CassandraDaemon" not in cmdline:
            continue
        config = next((a for a in cmdline if a.startswith(b"-Dcassandra.config=")), b"")
        where = f"/{'cluster' if layout == 'one' else layout}/node"
        # Only this working copy's nodes: other copies may run the same layout elsewhere
        # (e.g. in a network namespace of their own), visible in /proc all the same.
        if where.encode() in config and (layout == "single" or str(REPO).encode() in config):
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def idle_rate(pids: list[int], seconds: float) -> float:
    if seconds <= 0:
        return 0.0
    before = cpu_seconds(pids)
    time.sleep(seconds)
    return (cpu_seconds(pids) - before) / seconds


def bridge(future: Any) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, failed: bool) -> None:
        if not done.done():
            (done.set_exception if failed else done.set_result)(value)

    future.add_callbacks(
        lambda rows: loop.call_soon_threadsafe(settle, rows, False),
        lambda exc: loop.call_soon_threadsafe(settle, exc, True),
    )
    return done


async def run_ops(count: int, concurrency: int, one: Any) -> tuple[list[float], int]:
    """`count` calls of `one(i)`, `concurrency` at once: latencies (ms) and failures."""
    latencies: list[float] = []
    failures = 0
    numbers = iter(range(count))

    async def worker() -> None:
        nonlocal failures
        for i in numbers:
            started = time.perf_counter()
            try:
                await one(i)
            except Exception:  # a timeout is counted, not fatal
                failures += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.update(LAYOUT_ENV[args.layout])
    os.environ.setdefault("SCYLLA_KEYSPACE", "registry_capacity")
    if args.layout == "dcs":
        os.environ.setdefault("SCYLLA_LOCAL_DC", "dc1")
    quiet_driver_logs()
    settings = settings_from_env()
    connection = await open_connection(settings)
    session = connection.session
    ks = settings.keyspace
    session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.capacity_probe (k text PRIMARY KEY, v int)")
    plain = session.prepare(f"INSERT INTO {ks}.capacity_probe (k, v) VALUES (?, ?)")
    lwt = session.prepare(f"INSERT INTO {ks}.capacity_probe (k, v) VALUES (?, ?) IF NOT EXISTS")
    registry = Registry(connection)
    run = uuid.uuid4().hex[:8]
    hot_cas = session.prepare(f"UPDATE {ks}.capacity_probe SET v = ? WHERE k = ? IF v = ?")
    pids = layout_pids(args.layout)
    if not pids:
        raise SystemExit(f"no running Cassandra JVM of the {args.layout} layout was found")

    def workload(kind: str, rnd: int) -> Any:
        async def one(i: int) -> None:
            key = f"{run}-{kind}-{rnd}-{i}"
            if kind == "plain":
                await bridge(session.execute_async(plain, (key, i)))
            elif kind == "lwt":
                await bridge(session.execute_async(lwt, (key, i)))
            else:
                name = f"cap{run}{rnd}x{i}"
                await registry.register(name, f"{name}@example.org", "Capacity", "Dimension-6")

        return one

    results: dict[str, list[dict[str, Any]]] = {k: [] for k in args.workloads}
    # A freshly started JVM has not compiled these paths yet: its first rounds cost several
    # times more CPU (seen: 3.1 ms a plain write in a first round, 0.9 ms in the third).
    for kind in args.workloads:
        await run_ops(args.warmup, args.concurrency, workload(kind, -1))
    idle_before = idle_rate(pids, args.idle)
    for rnd in range(args.rounds):
        for kind in args.workloads:
            count = args.ops if kind != "registration" else max(1, args.ops // 3)
            cpu0, t0 = cpu_seconds(pids), time.monotonic()
            latencies, failures = await run_ops(count, args.concurrency, workload(kind, rnd))
            wall, cpu = time.monotonic() - t0, cpu_seconds(pids) - cpu0
            results[kind].append(
                {"ops": count, "failures": failures, "wall_s": wall, "cpu_s": cpu, "lat": latencies}
            )
    hot = [
        await hot_key(session, hot_cas, plain, f"{run}-hot-{n}", n, args.hot_s) for n in args.hot
    ]
    idle_after = idle_rate(pids, args.idle)
    idle = (idle_before + idle_after) / 2
    connection.close()
    summary = []
    for kind, runs in results.items():
        ops = sum(r["ops"] for r in runs)
        wall = sum(r["wall_s"] for r in runs)
        cpu = sum(r["cpu_s"] for r in runs) - idle * wall
        lat = sorted(x for r in runs for x in r["lat"])
        summary.append(
            {
                "layout": args.layout,
                "workload": kind,
                "ops": ops,
                "failures": sum(r["failures"] for r in runs),
                "node_cpu_ms_per_op": round(1000 * cpu / ops, 2),
                "node_cpu_ms_per_op_rounds": [
                    round(1000 * (r["cpu_s"] - idle * r["wall_s"]) / r["ops"], 2) for r in runs
                ],
                "ops_per_s": round(ops / wall, 1),
                "p50_ms": round(statistics.median(lat), 2) if lat else None,
                "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)], 2) if lat else None,
                "idle_cpu_s_per_s": round(idle, 3),
                "nodes": len(pids),
            }
        )
    return {"args": {k: str(v) for k, v in vars(args).items()}, "summary": summary, "hot": hot}


async def hot_key(
    session: Any, cas: Any, plain: Any, key: str, clients: int, seconds: float
) -> dict[str, Any]:
    """`clients` writers on one key for `seconds`: each compares-and-sets v from the value it
    last saw (a rejected write returns the current one). Successful writes/s, rejections,
    timeouts: one partition's Paxos does not get faster with more writers or more nodes."""
    await bridge(session.execute_async(plain, (key, 0)))
    applied = rejected = timeouts = 0
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def writer() -> None:
        nonlocal applied, rejected, timeouts
        seen = 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                rows = await bridge(session.execute_async(cas, (seen + 1, key, seen)))
            except Exception:  # a CAS timeout under contention: counted
                timeouts += 1
                continue
            row = list(rows[0].values()) if isinstance(rows[0], dict) else list(rows[0])
            if row[0]:
                applied += 1
                seen += 1
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                rejected += 1
                seen = row[1] if len(row) > 1 and row[1] is not None else seen

    t0 = time.monotonic()
    await asyncio.gather(*(writer() for _ in range(clients)))
    wall = time.monotonic() - t0
    latencies.sort()
    row = {
        "clients": clients,
        "applied_per_s": round(applied / wall, 1),
        "rejected": rejected,
        "timeouts": timeouts,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 1)
        if latencies
        else None,
    }
    print(json.dumps({"hot_key": row}))
    return row


def with_own_node(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["REGISTRY_CASSANDRA_HOME"] = str(REPO / ".local" / "capacity-one")
    sys.path.insert(0, str(REPO / "scripts"))
    import cassandra_local as launcher

    node = launcher.Node("cluster", 1, 1)
    node.start(launcher.find_java17(), launcher.ensure_jars(), False, "v2", "768m")
    node.wait_ready()
    try:
        return asyncio.run(main_async(args))
    finally:
        node.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", choices=tuple(LAYOUT_ENV), default="cluster")
    parser.add_argument("--ops", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=600, help="untimed ops per workload")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle measurement")
    parser.add_argument(
        "--workloads", type=lambda s: s.split(","), default=["plain", "lwt", "registration"]
    )
    parser.add_argument(
        "--hot",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[1, 4, 16],
        help="writers on one hot key, e.g. 1,4,16 (empty: skip)",
    )
    parser.add_argument("--hot-s", type=float, default=10.0, help="seconds per hot-key step")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = with_own_node(args) if args.layout == "one" else asyncio.run(main_async(args))
    for row in result["summary"]:
        print(json.dumps(row))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
