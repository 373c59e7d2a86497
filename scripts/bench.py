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
import functools
import gc
import json
import os
import platform
import random
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

from cassandra.cluster import EXEC_PROFILE_DEFAULT  # noqa: E402
from cassandra.query import tuple_factory  # noqa: E402
from coodie.drivers import get_driver  # noqa: E402

from registry_tui.core.config import settings_from_env  # noqa: E402
from registry_tui.core.logs import quiet_driver_logs  # noqa: E402
from registry_tui.core.models import utc_now  # noqa: E402
from registry_tui.core.outcomes import Registered  # noqa: E402
from registry_tui.core.registry import Registry  # noqa: E402
from registry_tui.core.store import Connection, open_connection  # noqa: E402


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

    def as_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "latency_ms": {
                "p50": round(self.percentile(0.50), 2),
                "p95": round(self.percentile(0.95), 2),
                "p99": round(self.percentile(0.99), 2),
                # Every percentile 0..100: what docs/img's latency charts are drawn from.
                "percentiles": [round(self.percentile(q / 100), 2) for q in range(101)]
                if self.latencies_ms
                else [],
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

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


NODE_PORT = 9042  # the CQL port of the node measured (main() sets the settings' port)
_node_pids: list[int] | None = None


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` in this network namespace (/proc/net/tcp, tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found


def node_pids() -> list[int]:
    """The local Cassandra process(es) serving NODE_PORT: only the node the bench talks to,
    not other clusters on the machine (in other network namespaces, on other ports)."""
    global _node_pids
    if _node_pids is None:
        inodes = {f"socket:[{inode}]" for inode in _listening_inodes(NODE_PORT)}
        _node_pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if b"CassandraDaemon" not in (proc / "cmdline").read_bytes():
                    continue
                if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                    _node_pids.append(int(proc.name))
            except OSError:
                continue
    return _node_pids


def node_cpu_seconds() -> float | None:
    """CPU time used so far by the local node serving NODE_PORT (None when none is visible,
    e.g. ScyllaDB in a container)."""
    total, found = 0.0, False
    for pid in node_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
        found = True
    return total if found else None


def thread_switches() -> tuple[int, int] | None:
    """How often the calling thread gave up its core (waiting) and was made to (preempted),
    so far: Linux's counts, None elsewhere."""
    try:
        lines = Path("/proc/thread-self/status").read_text().splitlines()
    except OSError:
        return None
    counts = dict(line.split(":\t", 1) for line in lines if line.endswith(tuple("0123456789")))
    try:
        return int(counts["voluntary_ctxt_switches"]), int(counts["nonvoluntary_ctxt_switches"])
    except (KeyError, ValueError):
        return None


async def settle_node(limit_s: float = 60.0, idle_share: float = 0.15) -> float | None:
    """Wait until the local node's background work (flushes, compactions, schema changes left
    by earlier clients) has died down: under `idle_share` of a core for a second. Returns the
    seconds waited (None when no local node process is visible)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        before = node_cpu_seconds()
        if before is None:
            return None
        await asyncio.sleep(1.0)
        after = node_cpu_seconds()
        if after is not None and after - before < idle_share:
            break
    return round(time.perf_counter() - started, 1)


class CollectorClock:
    """CPU time the cycle collector spends, while installed (gc.callbacks; a collection holds
    the GIL throughout, so its start and stop come from one thread, back to back)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._started
            self.collections += 1

    def __enter__(self) -> CollectorClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def paced_pool(
    name: str, count: int, limit: int, attempt: Callable[[int], Awaitable[object]], rate: float
) -> Run:
    """Start attempt(0..count-1) at a fixed rate (per second), whatever the answers' speed,
    with at most `limit` in flight (an open loop: the rate does not follow the path's own
    speed, so two paths are compared doing the same work per second)."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(limit)

    async def one(index: int) -> None:
        async with gate:
            t0 = time.perf_counter()
            await attempt(index)
            latencies.append((time.perf_counter() - t0) * 1000)

    tasks = []
    started = time.perf_counter()
    for index in range(count):
        due = started + index / rate - time.perf_counter()
        if due > 0:
            await asyncio.sleep(due)
        tasks.append(asyncio.ensure_future(one(index)))
    await asyncio.gather(*tasks)
    return Run(name, count, time.perf_counter() - started, latencies)


async def measured(
    name: str,
    count: int,
    concurrency: int,
    attempt: Callable[[int], Awaitable[object]],
    pool: Callable[..., Awaitable[Run]] = timed_pool,
) -> Run:
    """timed_pool plus the CPU that the client and the node spent per operation; the client's
    split into the event loop's thread (ours and the driver's request building) and the
    others (the driver's I/O thread: reading and decoding answers), and the part of it the
    cycle collector took."""
    with CollectorClock() as collector:
        switches0 = thread_switches()
        cpu0, loop0, node0 = time.process_time(), time.thread_time(), node_cpu_seconds()
        run = await pool(name, count, concurrency, attempt)
        cpu1, loop1, node1 = time.process_time(), time.thread_time(), node_cpu_seconds()
        switches1 = thread_switches()
    run.extra["client_cpu_ms_per_op"] = round((cpu1 - cpu0) * 1000 / count, 3)
    run.extra["loop_thread_cpu_ms_per_op"] = round((loop1 - loop0) * 1000 / count, 3)
    run.extra["gc_ms_per_op"] = round(collector.seconds * 1000 / count, 4)
    if node0 is not None and node1 is not None:
        run.extra["node_cpu_ms_per_op"] = round((node1 - node0) * 1000 / count, 3)
    if switches0 is not None and switches1 is not None:
        # The loop thread's waits for work, and the times another thread took its core.
        run.extra["loop_thread_waits_per_op"] = round((switches1[0] - switches0[0]) / count, 2)
        run.extra["loop_thread_preempted_per_op"] = round((switches1[1] - switches0[1]) / count, 2)
    return run


async def profiled(
    count: int, concurrency: int, attempt: Callable[[int], Awaitable[object]], top: int
) -> list[str]:
    """One more round of `attempt` under cProfile (the loop's thread only; the driver's I/O
    thread is not seen): the `top` entries by own time, as cProfile prints them. Timed by the
    thread's CPU clock, not the wall: on a loaded machine the wall charges other processes'
    time to whatever function was preempted (each clock read costs about a microsecond more)."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    await timed_pool("profiled", count, concurrency, attempt)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    return (
        [f"{count} operations, {stats.total_tt:.3f} s profiled"]
        + [  # type: ignore[attr-defined]
            line.rstrip() for line in lines[start:] if line.strip()
        ]
    )


def combine(name: str, parts: list[Run]) -> Run:
    """One path's rounds as one run: total rate, pooled latencies, per-round spread."""
    total = Run(name, sum(p.count for p in parts), sum(p.seconds for p in parts))
    for part in parts:
        total.latencies_ms += part.latencies_ms
    for key in (
        "client_cpu_ms_per_op",
        "loop_thread_cpu_ms_per_op",
        "gc_ms_per_op",
        "node_cpu_ms_per_op",
        "loop_thread_waits_per_op",
        "loop_thread_preempted_per_op",
    ):
        values = [p.extra[key] * p.count for p in parts if key in p.extra]
        if len(values) == len(parts):
            total.extra[key] = round(sum(values) / total.count, 3)
    rates = [round(p.per_second, 1) for p in parts]  # in the order they ran
    total.extra["per_round_per_s"] = rates
    return total


def ratio_interval(
    pairs: list[tuple[int, float, int, float]], resamples: int = 2000
) -> list[float]:
    """A 95 % interval of ours/raw throughput over rounds run side by side: the rounds
    resampled in pairs (a bootstrap), each resample's ratio of total rates. On a machine
    where the node and the client share the cores, a round's ratio moves 0.3-3x with what
    else runs: this says how far the whole run's ratio can be trusted."""
    if len(pairs) < 2:
        return []
    draw = random.Random(0)

    def ratio(sample: list[tuple[int, float, int, float]]) -> float:
        ours = sum(n for n, _, _, _ in sample) / sum(t for _, t, _, _ in sample)
        raw = sum(n for _, _, n, _ in sample) / sum(t for _, _, _, t in sample)
        return ours / raw

    ratios = sorted(ratio(draw.choices(pairs, k=len(pairs))) for _ in range(resamples))
    return [round(ratios[int(0.025 * resamples)], 3), round(ratios[int(0.975 * resamples)], 3)]


def runs_interval(values: list[float], resamples: int = 2000) -> list[float]:
    """A 95 % interval of the mean of one figure per run, the runs resampled (a bootstrap).
    The rounds of one run share its node's state; this one spans the drift from run to run,
    which an interval over one run's rounds cannot show."""
    if len(values) < 2:
        return []
    draw = random.Random(0)
    means = sorted(statistics.fmean(draw.choices(values, k=len(values))) for _ in range(resamples))
    return [round(means[int(0.025 * resamples)], 3), round(means[int(0.975 * resamples)], 3)]


def repeated_summary(repeats: list[list[Run]]) -> Run:
    """ours/raw and the A/A control over whole runs of the register section (`--repeat`)."""
    ours = [one[0].extra["ratio_vs_raw"] for one in repeats]
    medians = [one[0].extra["ratio_vs_raw_per_round_median"] for one in repeats]
    again = [one[-1].extra["ratio_vs_raw"] for one in repeats]
    return Run(
        f"register, {len(repeats)} runs: ours/raw and A/A, one figure per run",
        sum(one[0].count for one in repeats),
        sum(one[0].seconds for one in repeats),
        extra={
            "ratio_vs_raw_per_run": ours,
            "ratio_vs_raw_mean": round(statistics.fmean(ours), 3),
            "ratio_vs_raw_mean_95_interval": runs_interval(ours),
            "ratio_vs_raw_per_round_median_per_run": medians,
            "a_a_ratio_per_run": again,
            "a_a_ratio_mean": round(statistics.fmean(again), 3),
            "a_a_ratio_mean_95_interval": runs_interval(again),
        },
    )


def registration_cql(ks: str) -> tuple[str, str, str]:
    """The writes of a registration, as plain CQL: the claim and the registration (both
    conditional), then the profile's first version (plain, at the birth timestamp). The
    statements the registry sends (core/rows.py's `Insert`): the same columns, every one bound,
    in the documents' order; a null bio included, as the registry writes one."""
    return (
        f"INSERT INTO {ks}.email_claims (email, user_id, username, state, claimed_at, "
        "email_typed) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS",
        f"INSERT INTO {ks}.user_registrations (username, email, display_name, dimension, "
        "registered_at, user_id, username_typed) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS",
        f"INSERT INTO {ks}.user_profiles (user_id, username, bio, status, version, updated_at, "
        "writer_id) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP 1",
    )


CONDITIONAL = 2  # the first two of registration_cql answer [applied]


def registration_params(
    name: str, email: str, display: str, dim: str, uid: uuid.UUID, now: Any
) -> list[tuple[Any, ...]]:
    """The bound values of `registration_cql`'s statements, in order."""
    return [
        (email, uid, name, "active", now, email),
        (name, email, display, dim, now, uid, name),
        (uid, name, None, "active", 1, now, uid),
    ]


def raw_executor(session: Any) -> Callable[[Any, tuple[Any, ...]], asyncio.Future[Any]]:
    """session.execute_async bridged to the running loop, building the cheapest rows the
    driver can (its default, named tuples, defines a new class per response): the raw path
    is the client-side floor, not a straw man."""
    loop = asyncio.get_running_loop()
    fastest = session.execution_profile_clone_update(
        EXEC_PROFILE_DEFAULT, row_factory=tuple_factory
    )

    def execute(statement: Any, params: tuple[Any, ...]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = loop.create_future()
        response = session.execute_async(statement, params, execution_profile=fastest)
        response.add_callbacks(
            lambda rows: loop.call_soon_threadsafe(future.set_result, rows),
            lambda exc: loop.call_soon_threadsafe(future.set_exception, exc),
        )
        return future

    return execute


async def bench_register(
    conn: Connection,
    n: int,
    concurrency: int,
    rounds: int = 8,
    warmup_s: float = 30.0,
    settle_s: float = 8.0,
    profile_top: int = 0,
) -> list[Run]:
    registry = Registry(conn)
    models = conn.models
    run_id = uuid.uuid4().hex[:6]
    counters = {"o": 0, "b": 0, "r": 0, "a": 0, "p": 0, "w": 0, "d": 0, "s": 0}

    def user(prefix: str) -> tuple[str, str, str, str]:
        i = counters[prefix]
        counters[prefix] += 1
        name = f"{prefix}{run_id}-{i:05d}"
        return name, f"{name}@bench.galaxy", f"Bench {i}", f"Dimension-{i % 6 + 1}"

    async def ours(_: int, prefix: str = "o") -> None:
        outcome = await registry.register(*user(prefix))
        assert isinstance(outcome, Registered), outcome

    async def same_work_sequential(_: int) -> None:
        await ours(_, "s")

    async def demo_as_written(_: int) -> None:
        # The demo's seed: INSERT ... IF NOT EXISTS through coodie, then the profile with a
        # plain save(); no e-mail uniqueness, no resolution of ambiguous writes.
        name, email, display, dim = user("d")
        reg = models.registration(username=name, email=email, display_name=display, dimension=dim)
        result = await reg.insert()
        assert result is not None and result.applied
        await models.profile(user_id=reg.user_id, username=name, version=1).save()

    session, ks = conn.session, conn.settings.keyspace
    # The same statements the core runs per registration, on the driver.
    prepared = [session.prepare(cql) for cql in registration_cql(ks)]
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {ks}.bench_plain (username text PRIMARY KEY, email text, "
        "display_name text, dimension text, registered_at timestamp, user_id uuid)"
    )
    plain = session.prepare(
        f"INSERT INTO {ks}.bench_plain (username, email, display_name, dimension, "
        "registered_at, user_id) VALUES (?, ?, ?, ?, ?, ?)"
    )
    execute = raw_executor(session)

    async def raw(_: int, prefix: str = "r") -> None:
        name, email, display, dim = user(prefix)
        values = registration_params(name, email, display, dim, uuid.uuid4(), utc_now())
        for i, (statement, params) in enumerate(zip(prepared, values, strict=True)):
            rows = await execute(statement, params)
            assert i >= CONDITIONAL or rows[0][0] is True, rows  # [applied]

    async def raw_again(_: int) -> None:
        await raw(_, "a")

    async def plain_inserts(_: int) -> None:
        name, email, display, dim = user("p")
        uid, now = uuid.uuid4(), utc_now()
        for _ in range(3):  # the same number of writes as a registration, without Paxos
            await execute(plain, (name, email, display, dim, now, uid))

    # Warm the node's JIT and caches on both paths before anything is recorded, then let the
    # node finish what the warm-up left it (memtable flushes, compactions). A fresh JVM has
    # not compiled its Paxos paths yet: on this machine a just-started node's registration
    # throughput grew about fivefold over its first 30 s of load.
    settled = [await settle_node(limit_s=settle_s * 5) if settle_s else 0.0]
    warm_rates: list[float] = []
    warm_started = time.perf_counter()
    while time.perf_counter() - warm_started < warmup_s:
        for attempt in (lambda i: raw(i, "w"), lambda i: ours(i, "w")):
            warm = await timed_pool("warm-up", 200, concurrency, attempt)
            warm_rates.append(round(warm.per_second, 1))
    settled.append(await settle_node(limit_s=settle_s * 5) if settle_s else 0.0)

    # Rounds in a shuffled order (the same for every run: seeded), so that no path always runs
    # on a fresher (or more compacted) node than another, nor always after the same one; N
    # registrations per path in all.
    paths = [
        (f"ours: Registry.register, {concurrency} in flight", ours),
        (f"raw driver: same 2 LWTs + 1 plain write, {concurrency} in flight", raw),
        (f"plain INSERTs: 3 writes, {concurrency} in flight", plain_inserts),
        # The raw path measured again as if it were another: what ours/raw can show by chance
        # on this machine (an A/A control; its ratio to raw is 1 but for the noise).
        (f"raw driver again (A/A control), {concurrency} in flight", raw_again),
    ]
    parts: dict[str, list[Run]] = {name: [] for name, _ in paths}
    per_round = max(1, n // rounds)
    settle_waits: list[float] = []
    order = random.Random(23)
    for _ in range(rounds):
        for name, attempt in order.sample(paths, len(paths)):
            # A flush or compaction of the node's Paxos state takes seconds of one core: let
            # it pass rather than charge it to whichever path happens to run.
            if settle_s:
                settle_waits.append(await settle_node(limit_s=settle_s) or 0.0)
            parts[name].append(await measured(name, per_round, concurrency, attempt))
    ours_run, raw_run, plain_run, again_run = (combine(name, parts[name]) for name, _ in paths)

    seq_n = max(20, n // 10)  # one await at a time is slow: a tenth of N is enough to rate it
    demo_run = await measured(
        "demo as written: IF NOT EXISTS + profile save(), one at a time",
        seq_n,
        1,
        demo_as_written,
    )
    seq_run = await measured(
        "same writes as ours, one await at a time", seq_n, 1, same_work_sequential
    )
    ours_parts, raw_parts, again_parts = (parts[paths[i][0]] for i in (0, 1, 3))
    paired = [o.per_second / r.per_second for o, r in zip(ours_parts, raw_parts, strict=True)]
    ours_run.extra["ratio_vs_raw_95_interval"] = ratio_interval(
        [
            (o.count, o.seconds, r.count, r.seconds)
            for o, r in zip(ours_parts, raw_parts, strict=True)
        ]
    )
    ours_run.extra["ratio_vs_raw_per_round"] = [round(x, 3) for x in paired]
    for run, rounds_run in ((ours_run, ours_parts), (raw_run, raw_parts)):
        for key in ("client_cpu_ms_per_op", "loop_thread_cpu_ms_per_op", "gc_ms_per_op"):
            label = key.replace("_per_op", "_per_round")
            run.extra[label] = [p.extra[key] for p in rounds_run]
    cpu_paired = [
        o.extra["client_cpu_ms_per_op"] / r.extra["client_cpu_ms_per_op"]
        for o, r in zip(ours_parts, raw_parts, strict=True)
    ]
    ours_run.extra["client_cpu_vs_raw_per_round"] = [round(x, 3) for x in cpu_paired]
    ours_run.extra["client_cpu_vs_raw_per_round_median"] = round(statistics.median(cpu_paired), 3)
    if profile_top:
        for label, attempt in (("ours", ours), ("raw", raw)):
            ours_run.extra[f"profile_top_{label}"] = await profiled(
                per_round, concurrency, attempt, profile_top
            )
    ours_run.extra.update(
        node_settle_s=settled,
        node_settle_between_rounds_s=round(sum(settle_waits), 1),
        warmup_per_s_first_last=[warm_rates[0], warm_rates[-1]] if warm_rates else [],
        ratio_vs_raw_per_round_median=round(statistics.median(paired), 3),
        ratio_vs_demo=round(ours_run.per_second / demo_run.per_second, 2),
        ratio_vs_same_work_sequential=round(ours_run.per_second / seq_run.per_second, 2),
        ratio_vs_raw=round(ours_run.per_second / raw_run.per_second, 3),
    )
    plain_run.extra["lwt_cost_vs_plain"] = round(plain_run.per_second / raw_run.per_second, 2)
    again_run.extra.update(
        ratio_vs_raw=round(again_run.per_second / raw_run.per_second, 3),
        ratio_vs_raw_95_interval=ratio_interval(
            [
                (a.count, a.seconds, r.count, r.seconds)
                for a, r in zip(again_parts, raw_parts, strict=True)
            ]
        ),
    )
    return [ours_run, demo_run, seq_run, raw_run, plain_run, again_run]


def registration_attempts(
    conn: Connection, registry: Registry, prefix: str, *, check_applied: bool = True
) -> tuple[Callable[[int], Awaitable[None]], Callable[[int], Awaitable[None]]]:
    """Two ways to register a fresh user named `prefix`...: ours (`Registry.register`) and
    raw (the same statements on the driver, `registration_cql`). Call it on the running loop."""
    session, ks = conn.session, conn.settings.keyspace
    prepared = [session.prepare(cql) for cql in registration_cql(ks)]
    execute = raw_executor(session)
    run_id, counter = uuid.uuid4().hex[:6], [0]

    def user() -> tuple[str, str, str, str]:
        counter[0] += 1
        name = f"{prefix}{run_id}-{counter[0]:06d}"
        return name, f"{name}@bench.galaxy", f"Bench {counter[0]}", "Dimension-1"

    async def ours(_: int) -> None:
        outcome = await registry.register(*user())
        assert isinstance(outcome, Registered), outcome

    async def raw(_: int) -> None:
        name, email, display, dim = user()
        values = registration_params(name, email, display, dim, uuid.uuid4(), utc_now())
        for i, (statement, params) in enumerate(zip(prepared, values, strict=True)):
            rows = await execute(statement, params)
            assert not check_applied or i >= CONDITIONAL or rows[0][0] is True, rows

    return ours, raw


async def bench_register_paced(
    conn: Connection, n: int, rate: float, rounds: int, warmup_s: float, settle_s: float
) -> list[Run]:
    """Ours and raw at one fixed rate, in rotated rounds: the client's and the node's CPU per
    registration when both paths do the same work per second. With 32 in flight (the
    `register` section) the rate follows each path's own speed, and on shared cores the
    node's CPU per registration falls as its rate rises (its idle threads spin less), which
    amplifies any difference between the paths either way; at one rate that loop is cut."""
    ours, raw = registration_attempts(conn, Registry(conn), "q")
    paths = [
        (f"paced: ours at {rate:g}/s", ours),
        (f"paced: raw driver at {rate:g}/s", raw),
    ]
    warm_started = time.perf_counter()
    while time.perf_counter() - warm_started < warmup_s:
        for _, attempt in paths:
            await timed_pool("warm-up", 200, 32, attempt)
    if settle_s:
        await settle_node(limit_s=settle_s * 5)
    pool = functools.partial(paced_pool, rate=rate)
    parts: dict[str, list[Run]] = {name: [] for name, _ in paths}
    per_round = max(1, n // rounds)
    for r in range(rounds):
        for name, attempt in paths[r % 2 :] + paths[: r % 2]:
            if settle_s:
                await settle_node(limit_s=settle_s)
            parts[name].append(await measured(name, per_round, 64, attempt, pool))
    runs = [combine(name, parts[name]) for name, _ in paths]
    ours_run, raw_run = runs
    for run, name in zip(runs, parts, strict=True):
        for key in ("client_cpu_ms_per_op", "loop_thread_cpu_ms_per_op", "node_cpu_ms_per_op"):
            run.extra[key.replace("_per_op", "_per_round")] = [
                p.extra.get(key) for p in parts[name]
            ]
    # Both paths send the node the same requests; its CPU per registration moves round to
    # round with its own flushes and compactions (0.7-1.5 ms), so the estimate below charges
    # both paths the node's mean over all their rounds, and differs only by the client's.
    node = (
        statistics.mean(
            p.extra["node_cpu_ms_per_op"]
            for name in parts
            for p in parts[name]
            if "node_cpu_ms_per_op" in p.extra
        )
        if all("node_cpu_ms_per_op" in p.extra for name in parts for p in parts[name])
        else 0.0
    )
    cpu = {
        label: run.extra["client_cpu_ms_per_op"] + node
        for label, run in (("ours", ours_run), ("raw", raw_run))
    }
    ours_run.extra.update(
        client_cpu_vs_raw=round(
            ours_run.extra["client_cpu_ms_per_op"] / raw_run.extra["client_cpu_ms_per_op"], 3
        ),
        client_cpu_more_than_raw_ms=round(
            ours_run.extra["client_cpu_ms_per_op"] - raw_run.extra["client_cpu_ms_per_op"], 3
        ),
        # What the CPU per registration predicts for the throughput ratio when the client and
        # the node share the cores and the cores are the limit (the node's share: see above).
        node_cpu_ms_per_op_both_paths=round(node, 3),
        shared_cores_ratio_estimate=round(cpu["raw"] / cpu["ours"], 3),
    )
    return runs


async def bench_layers(conn: Connection, n: int, concurrency: int, rounds: int) -> list[Run]:
    """Client CPU per registration, one layer added at a time, in interleaved rounds: raw
    driver; the same CQL through coodie's driver; through coodie documents; the registry."""
    session, ks, models = conn.session, conn.settings.keyspace, conn.models
    registry = Registry(conn)
    cql = registration_cql(ks)
    prepared = [session.prepare(text) for text in cql]
    execute = raw_executor(session)
    driver = get_driver(conn.name)
    run_id, counter = uuid.uuid4().hex[:6], [0]

    def fresh() -> tuple[str, str, uuid.UUID, Any]:
        counter[0] += 1
        name = f"l{run_id}-{counter[0]:06d}"
        return name, f"{name}@bench.galaxy", uuid.uuid4(), utc_now()

    def params(name: str, email: str, uid: uuid.UUID, now: Any) -> list[tuple[Any, ...]]:
        return registration_params(name, email, "Layer", "Dimension-1", uid, now)

    async def raw(_: int) -> None:
        for statement, values in zip(prepared, params(*fresh()), strict=True):
            await execute(statement, values)

    async def coodie_driver(_: int) -> None:
        for text, values in zip(cql, params(*fresh()), strict=True):
            await driver.execute_async(text, list(values), timeout=registry.timeout)

    async def coodie_documents(_: int) -> None:
        name, email, uid, now = fresh()
        t = registry.timeout
        claim = models.email_claim(
            email=email, email_typed=email, user_id=uid, username=name, claimed_at=now
        )
        await claim.insert(timeout=t)
        await models.registration(
            username=name,
            username_typed=name,
            email=email,
            display_name="Layer",
            dimension="Dimension-1",
            registered_at=now,
            user_id=uid,
        ).insert(timeout=t)
        await models.profile(user_id=uid, username=name, updated_at=now, writer_id=uid).save(
            timestamp=1, timeout=t
        )

    async def whole_registry(_: int) -> None:
        name, email, _uid, _now = fresh()
        outcome = await registry.register(name, email, "Layer", "Dimension-1")
        assert isinstance(outcome, Registered), outcome

    layers = [
        ("layers: raw driver, tuple rows", raw),
        ("layers: + coodie's driver (same CQL, dict rows)", coodie_driver),
        ("layers: + coodie documents (insert/update)", coodie_documents),
        ("layers: + Registry.register (validation, outcomes)", whole_registry),
    ]
    parts: dict[str, list[Run]] = {name: [] for name, _ in layers}
    per_round = max(1, n // rounds)
    for name, attempt in layers:  # warm every path's prepared statements and caches
        await timed_pool(name, min(per_round, 100), concurrency, attempt)
    for _ in range(rounds):
        for name, attempt in layers:
            parts[name].append(await measured(name, per_round, concurrency, attempt))
    runs = []
    for name, _attempt in layers:
        run = combine(name, parts[name])
        run.extra["client_cpu_ms_per_op_round_median"] = round(
            statistics.median(p.extra["client_cpu_ms_per_op"] for p in parts[name]), 3
        )
        runs.append(run)
    return runs


class _Answered:
    """A driver response that has its answer already: `add_callbacks` calls back at once."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def add_callbacks(self, callback: Callable[[Any], object], errback: object) -> None:
        callback(self.rows)


async def bench_overhead(conn: Connection, n: int, concurrency: int) -> list[Run]:
    """Our Python per registration above the raw driver's, without the database and without
    the driver's own request building: the session answers every request at once ([applied]
    true). The loop thread's CPU time (best of 3 passes) and Python calls per registration
    (cProfile's count: the same on a loaded machine as on an idle one)."""
    import cProfile
    import pstats

    registry = Registry(conn)
    session = conn.session
    await registry.register("overhead-warm-up", "overhead-warm-up@bench.galaxy", "W", "D")
    # The faked answers below are not the rows raw expects: its [applied] is not checked.
    ours, raw = registration_attempts(conn, registry, "v", check_applied=False)

    answered = _Answered([{"[applied]": True}])
    session.execute_async = lambda *args, **kwargs: answered  # type: ignore[method-assign]
    try:
        runs = []
        for label, attempt in (("ours: Registry.register", ours), ("raw driver", raw)):
            best = float("inf")
            for _ in range(3):
                cpu0 = time.thread_time()
                await timed_pool(label, n, concurrency, attempt)
                best = min(best, (time.thread_time() - cpu0) * 1e6 / n)
            profiler = cProfile.Profile()
            profiler.enable()
            await timed_pool(label, n // 10, concurrency, attempt)
            profiler.disable()
            calls = pstats.Stats(profiler).total_calls / (n // 10)  # type: ignore[attr-defined]
            runs.append(
                Run(
                    f"overhead, answers at once: {label}",
                    n,
                    0.0,
                    extra={
                        "loop_cpu_us_per_op": round(best, 1),
                        "python_calls_per_op": round(calls),
                    },
                )
            )
        return runs
    finally:
        del session.execute_async  # the session's own method again


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
# 3. TUI: process start to the first painted page; memory while paging from the first row to
#    the last of a large keyspace (the table holds only the pages near the view)

TUI_PROBE = r"""
import asyncio, json, sys, time
from pathlib import Path
from registry_tui.core.config import settings_from_env
from registry_tui.tui.app import RegistryApp
from registry_tui.tui.widgets.users_table import UsersTable

to_the_end, expected = sys.argv[1] == "end", int(sys.argv[2])

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)

def peak():  # the high-water mark of the resident set, as the kernel keeps it
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)

async def main():
    app = RegistryApp(settings_from_env())
    async with app.run_test(size=(120, 36)) as pilot:
        while True:
            tables = app.screen.query(UsersTable)  # empty until the users screen is mounted
            if tables and tables.first().loaded > 0:
                break
            await asyncio.sleep(0.005)
        await pilot.pause()  # the frame holding the first page
        print("first-page", flush=True)
        screen, table = app.screen, tables.first()
        report = {"rss_first_page_mib": rss(), "peak_first_page_mib": peak()}
        if to_the_end:
            table.focus()
            step = max(expected // 10, 1000)
            samples, next_sample = [], step
            started = last_growth = time.perf_counter()
            seen = table.loaded
            # `end`: the last row counted so far; the table then reads the next page.
            while not table.exhausted and time.perf_counter() - last_growth < 60:
                await pilot.press("end")
                while screen.reading:
                    await asyncio.sleep(0.001)
                if screen.problem is not None:
                    break
                if table.loaded > seen:
                    seen, last_growth = table.loaded, time.perf_counter()
                if table.loaded >= next_sample:
                    samples.append([table.loaded, rss()])
                    next_sample += step
            report.update(
                rows_paged=table.loaded,
                exhausted=table.exhausted,
                problem=screen.problem,
                pages_passed=len(table.pages.pages),
                rows_held=table.held,
                paging_s=round(time.perf_counter() - started, 2),
                rss_at_last_row_mib=rss(),
                rss_samples_mib=samples,
            )
            # Back to the first row: its page was dropped long ago and is read again.
            t0 = time.perf_counter()
            await pilot.press("home")
            while table.user_at_cursor() is None and time.perf_counter() - t0 < 30:
                await asyncio.sleep(0.005)
            report.update(
                back_to_first_row_s=round(time.perf_counter() - t0, 3),
                first_row_shown=table.user_at_cursor() is not None,
                rss_after_mib=rss(),
            )
        report["peak_rss_mib"] = peak()
        print(json.dumps(report), flush=True)
        await app.action_quit()

asyncio.run(main())
"""


def bench_tui(keyspace: str, users: int, to_the_end: bool) -> Run:
    """One app process, headless: start to the first painted page, then (to_the_end) `end`
    pressed until the last page is read, then `home`. RSS is the probe process's own."""
    env = dict(os.environ, SCYLLA_KEYSPACE=keyspace)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", TUI_PROBE, "end" if to_the_end else "first", str(users)],
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
    if not to_the_end:
        return Run(
            f"tui: process start to first painted page ({keyspace})",
            1,
            first,
            extra={"first_page_s": round(first, 3), **detail},
        )
    if not detail["exhausted"]:
        raise RuntimeError(f"the TUI probe did not reach the last row: {detail}")
    return Run(
        f"tui: rows 1 to {detail['rows_paged']:,} with `end`, pages of 100 ({keyspace})",
        detail["rows_paged"],
        detail["paging_s"],
        extra={"first_page_s": round(first, 3), **detail},
    )


# ----------------------------------------------------------------------------------------------
# 4. Races


async def bench_race(conn: Connection, races: int, clones: int, concurrency: int) -> list[Run]:
    from registry_tui.race import AttackPlan, ContenderFinished, run_attack

    runs = []
    for protected in (True, False):
        plan = AttackPlan(races=races, clones=clones, concurrency=concurrency, protected=protected)
        latencies: list[float] = []

        def record(event: object, into: list[float] = latencies) -> None:
            if isinstance(event, ContenderFinished):
                into.append(event.latency_ms)

        started = time.perf_counter()
        report = (await run_attack(conn, plan, on_event=record)).as_document()
        label = "protected" if protected else "unprotected control"
        runs.append(
            Run(
                f"race: land-grab {races} x {clones + 1}, C={concurrency}, {label}",
                report["contenders"],
                time.perf_counter() - started,
                latencies,
                extra={
                    key: report[key]
                    for key in (
                        "attempts_per_s",
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


async def bench_race_recording(
    conn: Connection, races: int, clones: int, concurrency: int, rounds: int
) -> list[Run]:
    """The race engine records every attempt into a history (and checks it after the audit):
    the same protected race with that recorder and with one that keeps nothing, in
    alternating rounds; attempts/s, client CPU per attempt, and the check's own time."""
    from registry_tui.proof import HistoryRecorder
    from registry_tui.race import AttackPlan
    from registry_tui.race.engine import Attack

    class KeepsNothing(HistoryRecorder):
        def invoke(self, *args: Any, **kwargs: Any) -> int:
            return 0

        def complete(self, *args: Any, **kwargs: Any) -> None:
            return None

        def discard(self, handle: int) -> None:
            return None

    plan = AttackPlan(races=races, clones=clones, concurrency=concurrency, protected=True)
    parts: dict[bool, list[Run]] = {True: [], False: []}
    for r in range(rounds):
        for recording in (True, False) if r % 2 == 0 else (False, True):
            attack = Attack(conn, plan)
            if not recording:
                attack.recorder = KeepsNothing()
            cpu0 = time.process_time()
            started = time.perf_counter()
            report = (await attack.run()).as_document()
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu0
            check_s = attack.history.seconds if attack.history is not None else 0.0
            parts[recording].append(
                Run(
                    "race recording",
                    report["contenders"],
                    wall,
                    extra={
                        "attempts_per_s": report["attempts_per_s"],
                        "client_cpu_ms_per_attempt": round(cpu * 1000 / report["contenders"], 3),
                        "check_s": round(check_s, 3),
                        "operations_recorded": len(attack.recorder),
                        "violations": report["violations"],
                    },
                )
            )
    runs = []
    for recording, label in ((True, "history recorded"), (False, "nothing recorded")):
        done = parts[recording]
        run = Run(
            f"race {races} x {clones + 1}, C={concurrency}, {label}",
            sum(p.count for p in done),
            sum(p.seconds for p in done),
        )
        for key in ("attempts_per_s", "client_cpu_ms_per_attempt", "check_s"):
            values = [p.extra[key] for p in done]
            run.extra[f"{key}_per_round"] = values
            run.extra[f"{key}_median"] = round(statistics.median(values), 3)
        run.extra["operations_recorded"] = [p.extra["operations_recorded"] for p in done]
        run.extra["violations"] = sum(p.extra["violations"] for p in done)
        runs.append(run)
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


STARTUP_COMMANDS = (
    ("--help",),
    ("--version",),
    ("users", "list", "--limit", "1"),
    ("users", "get", "nobody-here"),
    ("users", "get", "nobody-here", "--json"),
    ("users", "list", "--limit", "1", "--json"),
)


def bench_startup(repeats: int, keyspace: str, other: str | None) -> list[Run]:
    """Each command as a user runs it, a fresh process each time: wall time and the process's
    CPU time (user + system, robust to other work on the machine), medians, and the slowest
    run and the runs over 2 s (the tail a median hides). With `other`
    (another `registry` executable, e.g. an older checkout's), the two run alternately."""
    ours = str(Path(sys.executable).parent / "registry")
    commands = [("registry", ours)] + ([("other", other)] if other else [])
    env = dict(os.environ, SCYLLA_KEYSPACE=keyspace)
    for _, executable in commands:  # the keyspace exists and the files are compiled
        subprocess.run([executable, "users", "list", "--limit", "1"], env=env, capture_output=True)
    runs = []
    for args in STARTUP_COMMANDS:
        walls: dict[str, list[float]] = {label: [] for label, _ in commands}
        cpus: dict[str, list[float]] = {label: [] for label, _ in commands}
        for i in range(repeats):
            order = commands if i % 2 == 0 else commands[::-1]
            for label, executable in order:
                before = os.times()
                t0 = time.perf_counter()
                subprocess.run([executable, *args], env=env, capture_output=True)
                walls[label].append((time.perf_counter() - t0) * 1000)
                after = os.times()
                cpus[label].append(
                    (after.children_user - before.children_user)
                    + (after.children_system - before.children_system)
                )
        for label, _ in commands:
            runs.append(
                Run(
                    f"start-up ({label}): registry {' '.join(args)}",
                    repeats,
                    sum(walls[label]) / 1000,
                    walls[label],
                    extra={
                        "wall_ms_median": round(statistics.median(walls[label]), 1),
                        # The tail a median hides: a process that ends seconds after its work.
                        "wall_ms_max": round(max(walls[label]), 1),
                        "runs_over_2s": sum(w > 2000 for w in walls[label]),
                        "cpu_ms_median": round(statistics.median(cpus[label]) * 1000, 1),
                    },
                )
            )
    return runs


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
            if key.startswith("profile_top_"):
                print(f"    {key}:")
                for line in value:
                    print(f"      {line}")
                continue
            print(f"    {key}: {value}")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sections = (
        set(args.only.split(","))
        if args.only
        else {"register", "layers", "list", "tui", "race", "cli"}
    )
    results: dict[str, Any] = {"machine": machine(), "sections": {}}
    runs: list[Run] = []
    settings = settings_from_env().with_overrides(keyspace=args.keyspace)
    global NODE_PORT
    NODE_PORT = settings.port
    conn = await open_connection(settings)
    try:
        if "register" in sections:
            reg_runs = []
            for repeat in range(args.repeat):
                one = await bench_register(
                    conn,
                    args.n,
                    args.concurrency,
                    args.rounds,
                    args.warmup_s,
                    args.settle_s,
                    args.profile_top,
                )
                if args.repeat > 1:
                    for run in one:
                        run.name = f"{run.name} [run {repeat + 1}]"
                reg_runs.append(one)
            results["sections"]["register"] = [r.as_document() for one in reg_runs for r in one]
            runs += [r for one in reg_runs for r in one]
            if args.repeat > 1:
                summary = repeated_summary(reg_runs)
                results["sections"]["register_repeated"] = [summary.as_document()]
                runs.append(summary)
        if "paced" in sections:
            paced_runs = await bench_register_paced(
                conn, args.n, args.rate, args.rounds, args.warmup_s, args.settle_s
            )
            results["sections"]["paced"] = [r.as_document() for r in paced_runs]
            runs += paced_runs
        if "overhead" in sections:
            overhead_runs = await bench_overhead(conn, args.overhead_n, args.concurrency)
            results["sections"]["overhead"] = [r.as_document() for r in overhead_runs]
            runs += overhead_runs
        if "layers" in sections:
            layer_runs = await bench_layers(conn, args.layers_n, args.concurrency, args.rounds)
            results["sections"]["layers"] = [r.as_document() for r in layer_runs]
            runs += layer_runs
        if "list" in sections:
            stored = await ensure_users(conn, args.list_users, args.concurrency)
            list_runs = await bench_listing(conn, args.page_size)
            results["sections"]["list"] = {
                "stored": stored,
                "runs": [r.as_document() for r in list_runs],
            }
            runs += list_runs
        if "race-recording" in sections:
            rec_runs = await bench_race_recording(
                conn, args.races, args.clones, args.race_concurrency, args.rounds
            )
            results["sections"]["race-recording"] = [r.as_document() for r in rec_runs]
            runs += rec_runs
        if "race" in sections:
            race_runs = await bench_race(conn, args.races, args.clones, args.race_concurrency)
            results["sections"]["race"] = [r.as_document() for r in race_runs]
            runs += race_runs
    finally:
        conn.close()
    if "tui" in sections:
        small, large = f"{args.keyspace}_small"[:48], f"{args.keyspace}_tui"[:48]
        stored = {}
        for keyspace, users in ((small, args.tui_small), (large, args.tui_users)):
            seeded = await open_connection(settings.with_overrides(keyspace=keyspace))
            try:
                stored[keyspace] = await ensure_users(seeded, users, args.concurrency)
            finally:
                seeded.close()
        try:
            tui_runs = [
                bench_tui(small, stored[small], to_the_end=False),
                bench_tui(large, stored[large], to_the_end=True),
            ]
        finally:
            if args.drop_tui_keyspace:
                dropping = await open_connection(settings, create_schema=False)
                try:
                    dropping.session.execute(f"DROP KEYSPACE IF EXISTS {large}", timeout=120)
                finally:
                    dropping.close()
        results["sections"]["tui"] = [r.as_document() for r in tui_runs]
        runs += tui_runs
    if "startup" in sections:
        startup_runs = bench_startup(args.cli_repeats, args.keyspace, args.startup_other)
        results["sections"]["startup"] = [r.as_document() for r in startup_runs]
        runs += startup_runs
    if "cli" in sections:
        cli_run = bench_cli(args.cli_repeats)
        results["sections"]["cli"] = cli_run.as_document()
        runs.append(cli_run)
    print_table(runs)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--only",
        help="comma-separated: register,layers,list,tui,race,cli (and overhead, race-recording, "
        "startup, paced: only when named)",
    )
    parser.add_argument(
        "--layers-n", type=int, default=4000, help="registrations per layer (client CPU)"
    )
    parser.add_argument("--n", type=int, default=2000, help="registrations per path")
    parser.add_argument(
        "--overhead-n", type=int, default=20000, help="overhead: registrations per pass"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="paced: registrations per second, both paths"
    )
    parser.add_argument("--rounds", type=int, default=8, help="rounds the N are split into")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="register: whole runs (warm-up included), and ours/raw over them",
    )
    parser.add_argument(
        "--settle-s",
        type=float,
        default=8.0,
        help="longest wait for the node to go idle before each round (0: never wait)",
    )
    parser.add_argument(
        "--warmup-s", type=float, default=30.0, help="seconds of unrecorded registrations"
    )
    parser.add_argument(
        "--profile-top",
        type=int,
        default=0,
        help="after the rounds, profile one round of ours and of raw: this many top entries",
    )
    parser.add_argument(
        "--startup-other",
        help="startup: another `registry` executable to time alternately with this one",
    )
    parser.add_argument("--list-users", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--cli-repeats", type=int, default=10)
    parser.add_argument("--races", type=int, default=1000)
    parser.add_argument("--clones", type=int, default=7)
    parser.add_argument("--race-concurrency", type=int, default=32)
    parser.add_argument("--tui-small", type=int, default=40, help="users in the small registry")
    parser.add_argument(
        "--tui-users",
        type=int,
        default=500_000,
        help="users in the keyspace <keyspace>_tui that the app pages through, first to last",
    )
    parser.add_argument(
        "--drop-tui-keyspace",
        action="store_true",
        help="drop <keyspace>_tui afterwards (filling it again takes minutes)",
    )
    parser.add_argument("--keyspace", default="registry_bench")
    parser.add_argument("--out", default="bench-results.json")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be 1 or more (got {args.repeat})")
    quiet_driver_logs()
    if args.smoke:
        args.n, args.list_users, args.cli_repeats, args.page_size = 20, 60, 2, 25
        args.tui_small, args.tui_users, args.races = 10, 150, 10
        args.drop_tui_keyspace = True
        args.rounds, args.warmup_s, args.settle_s, args.layers_n = 2, 0.0, 0.0, 20
    results = asyncio.run(main_async(args))
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
