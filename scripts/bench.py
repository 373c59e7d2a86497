#!/usr/bin/env python3
"""Benchmarks, side by side in one run on the running node (see docs/benchmarks.md).

    .venv/bin/python scripts/bench.py                       # everything, default sizes
    .venv/bin/python scripts/bench.py --only register,cli   # some sections
    .venv/bin/python scripts/bench.py --smoke               # tiny sizes (what `make test` runs)

Prints a table and writes a JSON file (--out). Numbers are measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from registry_tui.config import settings_from_env  # noqa: E402
from registry_tui.models import utc_now  # noqa: E402
from registry_tui.outcomes import Registered  # noqa: E402
from registry_tui.registry import PENDING_CLAIM_TTL_S, Registry  # noqa: E402
from registry_tui.store import Connection, open_connection  # noqa: E402


@dataclass
class Run:
    name: str
    count: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "latency_ms": {
                "p50": round(self.percentile(0.50), 2),
                "p95": round(self.percentile(0.95), 2),
                "p99": round(self.percentile(0.99), 2),
            },
            **self.extra,
        }


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed_pool(
    name: str, count: int, concurrency: int, attempt: Callable[[int], Awaitable[object]]
) -> Run:
    """Run attempt(0..count-1) with `concurrency` in flight; record each latency."""
    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            t0 = time.perf_counter()
            await attempt(index)
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(name, count, time.perf_counter() - started, latencies)


# ----------------------------------------------------------------------------------------------
# 1. Registration


async def bench_register(conn: Connection, n: int, concurrency: int) -> list[Run]:
    registry = Registry(conn)
    run_id = uuid.uuid4().hex[:6]

    def user(prefix: str, i: int) -> tuple[str, str, str, str]:
        name = f"{prefix}{run_id}-{i:05d}"
        return name, f"{name}@bench.galaxy", f"Bench {i}", f"Dimension-{i % 6 + 1}"

    async def ours(i: int) -> None:
        outcome = await registry.register(*user("o", i))
        assert isinstance(outcome, Registered), outcome

    async def demo(i: int) -> None:
        outcome = await registry.register(*user("d", i))
        assert isinstance(outcome, Registered), outcome

    session, ks = conn.session, conn.settings.keyspace
    # The same four statements the core runs per registration, straight on the driver.
    claim = session.prepare(
        f"INSERT INTO {ks}.email_claims (email, user_id, username, state, claimed_at) "
        f"VALUES (?, ?, ?, 'pending', ?) IF NOT EXISTS USING TTL {PENDING_CLAIM_TTL_S}"
    )
    reg = session.prepare(
        f"INSERT INTO {ks}.user_registrations (username, email, display_name, dimension, "
        "registered_at, user_id) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS"
    )
    prof = session.prepare(
        f"INSERT INTO {ks}.user_profiles (user_id, username, status, version, updated_at, "
        "writer_id) VALUES (?, ?, 'active', 1, ?, ?) IF NOT EXISTS"
    )
    confirm = session.prepare(
        f"UPDATE {ks}.email_claims USING TTL 0 SET user_id = ?, username = ?, state = 'active',"
        " claimed_at = ? WHERE email = ? IF user_id = ?"
    )
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {ks}.bench_plain (username text PRIMARY KEY, email text, "
        "display_name text, dimension text, registered_at timestamp, user_id uuid)"
    )
    plain = session.prepare(
        f"INSERT INTO {ks}.bench_plain (username, email, display_name, dimension, "
        "registered_at, user_id) VALUES (?, ?, ?, ?, ?, ?)"
    )
    loop = asyncio.get_running_loop()

    def execute(statement: Any, params: tuple[Any, ...]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = loop.create_future()
        response = session.execute_async(statement, params)
        response.add_callbacks(
            lambda rows: loop.call_soon_threadsafe(future.set_result, rows),
            lambda exc: loop.call_soon_threadsafe(future.set_exception, exc),
        )
        return future

    async def raw(i: int) -> None:
        name, email, display, dim = user("r", i)
        uid, now = uuid.uuid4(), utc_now()
        await execute(claim, (email, uid, name, now))
        await execute(reg, (name, email, display, dim, now, uid))
        await execute(prof, (uid, name, now, uid))
        await execute(confirm, (uid, name, now, email, uid))

    async def plain_inserts(i: int) -> None:
        name, email, display, dim = user("p", i)
        uid, now = uuid.uuid4(), utc_now()
        for _ in range(4):  # the same number of writes as a registration, without Paxos
            await execute(plain, (name, email, display, dim, now, uid))

    demo_n = max(50, n // 10)  # the sequential loop is slow: a tenth of N is enough to rate it
    runs = [
        await timed_pool(f"ours: Registry.register, {concurrency} in flight", n, concurrency, ours),
        await timed_pool("demo: one await at a time (same core path)", demo_n, 1, demo),
        await timed_pool(f"raw driver: same 4 LWTs, {concurrency} in flight", n, concurrency, raw),
        await timed_pool(
            f"plain INSERTs: 4 writes, {concurrency} in flight", n, concurrency, plain_inserts
        ),
    ]
    ours_rate, demo_rate, raw_rate = (r.per_second for r in runs[:3])
    runs[0].extra = {
        "ratio_vs_demo": round(ours_rate / demo_rate, 2),
        "ratio_vs_raw": round(ours_rate / raw_rate, 3),
    }
    runs[3].extra = {"lwt_cost_vs_plain": round(runs[3].per_second / raw_rate, 2)}
    return runs


# ----------------------------------------------------------------------------------------------
# 2. Listing


async def ensure_users(conn: Connection, target: int, concurrency: int) -> int:
    """Top the bench keyspace up to `target` registrations (counted by streaming)."""
    registry = Registry(conn)
    have = 0
    async for _ in registry.iter_users(page_size=5000):
        have += 1
    missing = target - have
    if missing > 0:
        run_id = uuid.uuid4().hex[:6]

        async def add(i: int) -> None:
            name = f"fill{run_id}-{i:06d}"
            await registry.register(
                name, f"{name}@fill.galaxy", f"Filler {i}", f"Dimension-{i % 6 + 1}"
            )

        print(f"  filling {missing} registrations ...", file=sys.stderr, flush=True)
        await timed_pool("fill", missing, concurrency, add)
    return max(have, target)


async def bench_listing(conn: Connection, page_size: int) -> list[Run]:
    registry = Registry(conn)
    rss_before = rss_mib()
    t0 = time.perf_counter()
    page = await registry.list_users(page_size=page_size)
    first = time.perf_counter() - t0
    count = 0
    t0 = time.perf_counter()
    async for _ in registry.iter_users(page_size=page_size):
        count += 1
    streamed = time.perf_counter() - t0
    return [
        Run(
            f"list: first page of {page_size}",
            len(page.users),  # type: ignore[union-attr]
            first,
        ),
        Run(
            f"list: stream every registration, pages of {page_size}",
            count,
            streamed,
            extra={
                "rss_before_mib": round(rss_before, 1),
                "rss_after_mib": round(rss_mib(), 1),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            },
        ),
    ]


# ----------------------------------------------------------------------------------------------
# 3. TUI: process start to the first painted page, memory after paging through rows

TUI_PROBE = r"""
import asyncio, json, sys, time
from pathlib import Path
from registry_tui.config import settings_from_env
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.widgets.users_table import UsersTable

target = int(sys.argv[1])

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

async def main():
    app = RegistryApp(settings_from_env())
    async with app.run_test(size=(120, 36)) as pilot:
        while True:
            tables = app.screen.query(UsersTable)
            if tables and tables.first().loaded > 0:
                break
            await asyncio.sleep(0.005)
        await pilot.pause()  # the frame holding the first page
        print("first-page", flush=True)
        first_rss = rss()
        table = app.screen.query_one(UsersTable)
        table.focus()
        started, last_growth, seen = time.perf_counter(), time.perf_counter(), table.loaded
        while table.loaded < target and time.perf_counter() - last_growth < 10:
            await pilot.press("end")
            await pilot.pause(0.02)
            if table.loaded > seen:
                seen, last_growth = table.loaded, time.perf_counter()
        print(json.dumps({"first_rss_mib": first_rss, "rows": table.loaded,
                          "paging_s": time.perf_counter() - started, "rss_mib": rss()}), flush=True)
        await app.action_quit()

asyncio.run(main())
"""


def bench_tui(keyspace: str, rows: int) -> Run:
    env = dict(os.environ, SCYLLA_KEYSPACE=keyspace)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", TUI_PROBE, str(rows)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first_line = proc.stdout.readline()
    first = time.perf_counter() - started
    if first_line.strip() != "first-page":
        proc.kill()
        raise RuntimeError(f"the TUI probe did not paint a page (got {first_line!r})")
    detail = json.loads(proc.stdout.readline())
    proc.wait(timeout=120)
    return Run(
        f"tui: process start to first painted page ({keyspace})",
        1,
        first,
        extra={
            "first_page_s": round(first, 3),
            "rss_at_first_page_mib": round(detail["first_rss_mib"], 1),
            "rows_paged": detail["rows"],
            "paging_s": round(detail["paging_s"], 2),
            "rss_after_paging_mib": round(detail["rss_mib"], 1),
        },
    )


# ----------------------------------------------------------------------------------------------
# 4. Races


async def bench_race(conn: Connection, races: int, clones: int, concurrency: int) -> list[Run]:
    from registry_tui.race import AttackPlan, run_attack

    runs = []
    for protected in (True, False):
        plan = AttackPlan(races=races, clones=clones, concurrency=concurrency, protected=protected)
        started = time.perf_counter()
        report = (await run_attack(conn, plan)).to_json()
        label = "protected" if protected else "unprotected control"
        runs.append(
            Run(
                f"race: land-grab {races} x {clones + 1}, C={concurrency}, {label}",
                report["contenders"],
                time.perf_counter() - started,
                extra={
                    key: report[key]
                    for key in (
                        "attempts_per_s",
                        "latency_ms",
                        "timeouts",
                        "winners",
                        "overwritten",
                        "violations",
                        "race_s",
                        "audit_s",
                    )
                },
            )
        )
    return runs


# ----------------------------------------------------------------------------------------------
# 5. CLI start-up


def bench_cli(repeats: int) -> Run:
    registry = str(Path(sys.executable).parent / "registry")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([registry, "--help"], capture_output=True, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return Run(
        "cli: `registry --help` wall time",
        repeats,
        sum(times) / 1000,
        times,
        extra={"median_ms": round(statistics.median(times), 1)},
    )


# ----------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def print_table(runs: list[Run]) -> None:
    print(f"\n{'benchmark':62} {'n':>7} {'s':>8} {'per s':>9} {'p50':>7} {'p95':>7} {'p99':>7}")
    for r in runs:
        print(
            f"{r.name[:62]:62} {r.count:>7} {r.seconds:>8.2f} {r.per_second:>9.1f} "
            f"{r.percentile(0.5):>7.2f} {r.percentile(0.95):>7.2f} {r.percentile(0.99):>7.2f}"
        )
        for key, value in r.extra.items():
            print(f"    {key}: {value}")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sections = (
        set(args.only.split(",")) if args.only else {"register", "list", "tui", "race", "cli"}
    )
    results: dict[str, Any] = {"machine": machine(), "sections": {}}
    runs: list[Run] = []
    settings = settings_from_env().with_overrides(keyspace=args.keyspace)
    conn = await open_connection(settings)
    try:
        if "register" in sections:
            reg_runs = await bench_register(conn, args.n, args.concurrency)
            results["sections"]["register"] = [r.as_json() for r in reg_runs]
            runs += reg_runs
        if "list" in sections:
            stored = await ensure_users(conn, args.list_users, args.concurrency)
            list_runs = await bench_listing(conn, args.page_size)
            results["sections"]["list"] = {
                "stored": stored,
                "runs": [r.as_json() for r in list_runs],
            }
            runs += list_runs
        if "race" in sections:
            race_runs = await bench_race(conn, args.races, args.clones, args.race_concurrency)
            results["sections"]["race"] = [r.as_json() for r in race_runs]
            runs += race_runs
    finally:
        conn.close()
    if "tui" in sections:
        small = f"{args.keyspace}_small"[:48]
        seeded = await open_connection(settings.with_overrides(keyspace=small))
        try:
            await ensure_users(seeded, args.tui_small, args.concurrency)
        finally:
            seeded.close()
        tui_runs = [bench_tui(small, 0), bench_tui(args.keyspace, args.tui_rows)]
        results["sections"]["tui"] = [r.as_json() for r in tui_runs]
        runs += tui_runs
    if "cli" in sections:
        cli_run = bench_cli(args.cli_repeats)
        results["sections"]["cli"] = cli_run.as_json()
        runs.append(cli_run)
    print_table(runs)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", help="comma-separated: register,list,tui,race,cli")
    parser.add_argument("--n", type=int, default=2000, help="registrations per path")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--list-users", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--cli-repeats", type=int, default=10)
    parser.add_argument("--races", type=int, default=1000)
    parser.add_argument("--clones", type=int, default=7)
    parser.add_argument("--race-concurrency", type=int, default=32)
    parser.add_argument("--tui-small", type=int, default=40, help="users in the small registry")
    parser.add_argument("--tui-rows", type=int, default=10_000, help="rows to page through")
    parser.add_argument("--keyspace", default="registry_bench")
    parser.add_argument("--out", default="bench-results.json")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.n, args.list_users, args.cli_repeats, args.page_size = 20, 60, 2, 25
        args.tui_small, args.tui_rows, args.races = 10, 50, 10
    results = asyncio.run(main_async(args))
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
