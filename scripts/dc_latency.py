#!/usr/bin/env python3
"""Registration latency under each guarantee on the two-DC layout (docs/guarantees.md).

    python3 scripts/cassandra_local.py up --layout dcs
    .venv/bin/python scripts/dc_latency.py --n 300

Registers N users one at a time through `Registry.register` from a connection local to dc1,
once with the global guarantee (SERIAL Paxos over both DCs, QUORUM commits) and once with the
local one (LOCAL_SERIAL, LOCAL_QUORUM), in a keyspace replicated dc1:1, dc2:1 that is dropped
at the end. Prints p50/p95/p99 in ms. Measures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from registry_tui.core.config import settings_from_env
from registry_tui.core.logs import quiet_driver_logs
from registry_tui.core.outcomes import Registered
from registry_tui.core.registry import Registry
from registry_tui.core.store import open_connection


async def measure(serial: str, n: int, keyspace: str, port: int) -> list[float]:
    settings = settings_from_env({}).with_overrides(
        hosts="127.0.0.1", port=port, keyspace=keyspace, local_dc="dc1",
        replication="dc1:1,dc2:1", serial=serial,
    )  # fmt: skip
    connection = await open_connection(settings)
    try:
        registry = Registry(connection)
        for _ in range(20):  # warm-up: prepared statements, JIT
            name = f"warm-{uuid.uuid4().hex[:10]}"
            await registry.register(name, f"{name}@dc.galaxy", "Warm", "Dimension-6")
        latencies = []
        for _ in range(n):
            name = f"{serial}-{uuid.uuid4().hex[:10]}"
            started = time.perf_counter()
            out = await registry.register(name, f"{name}@dc.galaxy", "Lat", "Dimension-6")
            latencies.append((time.perf_counter() - started) * 1000)
            assert isinstance(out, Registered), out
        return latencies
    finally:
        connection.close()


def summary(latencies: list[float]) -> str:
    q = statistics.quantiles(latencies, n=100)
    return f"p50 {q[49]:.2f} ms  p95 {q[94]:.2f} ms  p99 {q[98]:.2f} ms  (n={len(latencies)})"


async def main_async(args: argparse.Namespace) -> None:
    quiet_driver_logs()
    keyspace = f"dc_latency_{uuid.uuid4().hex[:8]}"
    try:
        for serial in ("global", "local", "global", "local"):
            print(f"{serial:6} {summary(await measure(serial, args.n, keyspace, args.port))}")
    finally:
        settings = settings_from_env({}).with_overrides(port=args.port)
        connection = await open_connection(settings, create_schema=False)
        connection.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--port", type=int, default=9342)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
