#!/usr/bin/env python3
"""Registration as a user meets it, ours against the demo's (docs/benchmarks.md):

    .venv/bin/python scripts/bench_story.py serve --n 300    # one request at a time, p50
    .venv/bin/python scripts/bench_story.py seed --count 1000

`serve`: `registry serve` against an endpoint doing what the demo's register does (one
`INSERT ... IF NOT EXISTS` through coodie) behind the same FastAPI/uvicorn stack, both on the
dev node, requests one at a time, interleaved in rounds. `seed`: the wall time of
`registry seed --count N` against the demo's seed as written (its three phases, one await at a
time, with coodie), each a fresh process on a fresh keyspace. Measures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from registry_tui.core.config import settings_from_env  # noqa: E402
from registry_tui.core.logs import quiet_driver_logs  # noqa: E402
from registry_tui.core.store import open_connection  # noqa: E402
from registry_tui.core.story import HERO_PREFIXES, HERO_SUFFIXES, STORY_DIMENSIONS  # noqa: E402

PYTHON = sys.executable
REGISTRY = str(Path(sys.executable).parent / "registry")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(port: int, deadline_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"bench_story: nothing serves on {port}")


def demo_api(port: int, keyspace: str) -> None:
    """The demo's register endpoint: one INSERT ... IF NOT EXISTS, behind FastAPI/uvicorn."""
    import uvicorn
    from fastapi import FastAPI, HTTPException

    app = FastAPI()
    state: dict[str, Any] = {}

    @app.on_event("startup")
    async def connect() -> None:
        quiet_driver_logs()
        state["conn"] = await open_connection(settings_from_env().with_overrides(keyspace=keyspace))

    @app.post("/api/users", status_code=201)
    async def register(username: str, email: str, display_name: str, dimension: str) -> dict:
        row = state["conn"].models.registration(
            username=username, email=email, display_name=display_name, dimension=dimension
        )
        result = await row.insert()
        if result is None or not result.applied:
            raise HTTPException(status_code=409, detail={"error": "username_taken"})
        return {"applied": True, "username": username}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def bench_serve(n: int, rounds: int) -> dict[str, Any]:
    import httpx

    keyspace = f"bench_serve_{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, SCYLLA_KEYSPACE=keyspace)
    ours_port, demo_port = free_port(), free_port()
    ours = subprocess.Popen(
        [REGISTRY, "serve", "--port", str(ours_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_serving(ours_port)  # it creates the keyspace (schema v2) first
    demo = subprocess.Popen(
        [PYTHON, __file__, "demo-api", "--port", str(demo_port), "--keyspace", keyspace],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(demo_port)
        latencies: dict[str, list[float]] = {"ours": [], "demo": []}
        with httpx.Client(timeout=30) as http:

            def one(which: str, port: int, record: bool) -> None:
                name = f"{which}-{uuid.uuid4().hex[:12]}"
                params = {
                    "username": name,
                    "email": f"{name}@bench.galaxy",
                    "display_name": "Bench",
                    "dimension": "Dimension-6",
                }
                t0 = time.perf_counter()
                response = http.post(f"http://127.0.0.1:{port}/api/users", params=params)
                took = (time.perf_counter() - t0) * 1000
                assert response.status_code == 201, response.text
                if record:
                    latencies[which].append(took)

            for _ in range(100):  # warm-up: prepared statements, the node's JIT
                one("ours", ours_port, False)
                one("demo", demo_port, False)
            per_round = max(1, n // rounds)
            for r in range(rounds):
                order = [("ours", ours_port), ("demo", demo_port)]
                for which, port in order if r % 2 == 0 else order[::-1]:
                    for _ in range(per_round):
                        one(which, port, True)
        result = {}
        for which, values in latencies.items():
            q = statistics.quantiles(values, n=100)
            result[which] = {"n": len(values), "p50": round(q[49], 2), "p95": round(q[94], 2)}
        result["p50_ratio_ours_vs_demo"] = round(result["ours"]["p50"] / result["demo"]["p50"], 2)
        return result
    finally:
        for process in (ours, demo):
            process.terminate()
            process.wait(timeout=30)
        drop(keyspace)


async def demo_seed(count: int, keyspace: str) -> None:
    """The demo's seed as written: register, clone, then profiles, one await at a time."""
    quiet_driver_logs()
    conn = await open_connection(settings_from_env().with_overrides(keyspace=keyspace))
    models = conn.models
    try:
        regs = []
        for _ in range(count):
            name = (
                f"{random.choice(HERO_PREFIXES)}-{random.choice(HERO_SUFFIXES)}-"
                f"{random.randint(1, 999):03d}"
            )
            dim = random.choice(STORY_DIMENSIONS)
            row = models.registration(
                username=name,
                email=f"{name.lower()}@coodie-corps.{dim.lower()}.galaxy",
                display_name="Hero",
                dimension=dim,
            )
            result = await row.insert()
            regs.append((row, bool(result and result.applied)))
        registered = sum(applied for _, applied in regs)
        for _ in range(max(1, count // 4)):
            target = random.choice(regs)[0]
            clone = models.registration(
                username=target.username,
                email=f"clone-{uuid.uuid4().hex[:8]}@mirror.void",
                display_name="CLONE",
                dimension="Dimension-9",
            )
            await clone.insert()
        for row, _ in regs[:registered]:
            await models.profile(user_id=row.user_id, username=row.username, version=1).save()
    finally:
        conn.close()


def bench_seed(count: int) -> dict[str, Any]:
    result: dict[str, Any] = {"count": count}
    for which in ("ours", "demo"):
        keyspace = f"bench_seed_{which}_{uuid.uuid4().hex[:6]}"
        env = dict(os.environ, SCYLLA_KEYSPACE=keyspace)
        if which == "ours":
            command = [REGISTRY, "seed", "--count", str(count), "--json"]
        else:
            command = [PYTHON, __file__, "demo-seed", "--count", str(count)]
        t0 = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=1800)
        result[f"{which}_wall_s"] = round(time.perf_counter() - t0, 2)
        drop(keyspace)
    result["speedup_ours_vs_demo"] = round(result["demo_wall_s"] / result["ours_wall_s"], 2)
    return result


def drop(keyspace: str) -> None:
    async def run() -> None:
        conn = await open_connection(settings_from_env(), create_schema=False)
        try:
            conn.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        finally:
            conn.close()

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--n", type=int, default=300)
    serve.add_argument("--rounds", type=int, default=6)
    seed = sub.add_parser("seed")
    seed.add_argument("--count", type=int, default=1000)
    api = sub.add_parser("demo-api")
    api.add_argument("--port", type=int, required=True)
    api.add_argument("--keyspace", required=True)
    dseed = sub.add_parser("demo-seed")
    dseed.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    quiet_driver_logs()
    if args.what == "serve":
        print(bench_serve(args.n, args.rounds))
    elif args.what == "seed":
        print(bench_seed(args.count))
    elif args.what == "demo-api":
        demo_api(args.port, args.keyspace)
    else:
        asyncio.run(demo_seed(args.count, os.environ["SCYLLA_KEYSPACE"]))


if __name__ == "__main__":
    main()
