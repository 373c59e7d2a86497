#!/usr/bin/env python3
"""`registry adopt` at scale, on rows laid out as the coodie demo writes them (docs/benchmarks.md):

    .venv/bin/python scripts/bench_adopt.py --rows 5000
    .venv/bin/python scripts/bench_adopt.py --rows 100000 --keep   # keep the keyspace

Fills a fresh keyspace with N demo rows (the demo's two tables, made by its own documents'
`sync_table`; names keyed as typed, one in 50 a case-only duplicate of an earlier name, one in
50 sharing an earlier address, most with a profile), then times `registry adopt --json` as a
user runs it (a fresh process, wall time) and reports rows/s. `--limit-s` stops the adoption
after that many seconds (a stopped run is finished by the next, so the keyspace stays usable)
and reports the rate of the part done. Measures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coodie.aio import Document  # noqa: E402
from coodie.fields import Indexed, PrimaryKey  # noqa: E402
from pydantic import Field  # noqa: E402

from registry_tui.core.config import settings_from_env  # noqa: E402
from registry_tui.core.logs import quiet_driver_logs  # noqa: E402
from registry_tui.core.store import Connection, open_connection  # noqa: E402
from registry_tui.core.story import HERO_PREFIXES, HERO_SUFFIXES, STORY_DIMENSIONS  # noqa: E402

REGISTRY = str(Path(sys.executable).parent / "registry")
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def demo_models(connection: str, keyspace: str) -> tuple[type[Any], type[Any]]:
    """The demo's two documents, field for field (demos/lwt-user-registry/models.py)."""

    class UserRegistration(Document):
        username: Annotated[str, PrimaryKey()]
        email: Annotated[str, Indexed()]
        display_name: str
        dimension: Annotated[str, Indexed()]
        registered_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
        user_id: uuid.UUID = Field(default_factory=uuid.uuid4)

        class Settings:
            name = "user_registrations"

    class UserProfile(Document):
        user_id: Annotated[uuid.UUID, PrimaryKey()]
        username: str
        bio: str | None = None
        status: str = "active"
        version: int = 1
        updated_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

        class Settings:
            name = "user_profiles"

    for cls in (UserRegistration, UserProfile):
        settings: Any = cls.Settings
        settings.keyspace = keyspace
        settings.connection = connection
    return UserRegistration, UserProfile


async def fill(connection: Connection, rows: int, concurrency: int) -> None:
    """N demo rows: registrations keyed as typed, profiles for four in five."""
    ks = connection.settings.keyspace
    registration, profile = demo_models(connection.name, ks)
    await registration.sync_table()
    await profile.sync_table()
    session = connection.session
    insert_reg = session.prepare(
        f"INSERT INTO {ks}.user_registrations (username, email, display_name, dimension, "
        "registered_at, user_id) VALUES (?, ?, ?, ?, ?, ?)"
    )
    insert_profile = session.prepare(
        f"INSERT INTO {ks}.user_profiles (user_id, username, bio, status, version, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    rng = random.Random(7)
    names: list[str] = []
    emails: list[str] = []
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)

    def send(statement: Any, params: tuple[Any, ...]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = loop.create_future()
        response = session.execute_async(statement, params, timeout=60)
        response.add_callbacks(
            lambda rows: loop.call_soon_threadsafe(future.set_result, rows),
            lambda exc: loop.call_soon_threadsafe(future.set_exception, exc),
        )
        return future

    async def one(i: int) -> None:
        if names and i % 50 == 17:
            name = rng.choice(names).upper()  # a case-only duplicate, registered later
        else:
            name = f"{rng.choice(HERO_PREFIXES)}-{rng.choice(HERO_SUFFIXES)}-{i:07d}"
            names.append(name)
        dimension = rng.choice(STORY_DIMENSIONS)
        if emails and i % 50 == 33:
            email = rng.choice(emails)  # one address, two users (the demo allowed it)
        else:
            email = f"{name.lower()}@coodie-corps.{dimension.lower()}.galaxy"
            emails.append(email)
        uid, at = uuid.uuid4(), T0 + timedelta(seconds=i)
        async with gate:
            await send(insert_reg, (name, email, name.replace("-", " "), dimension, at, uid))
            if i % 5:
                await send(insert_profile, (uid, name, f"bio {i}", "active", 1, at))

    started = time.perf_counter()
    chunk = 5000
    for first in range(0, rows, chunk):
        await asyncio.gather(*(one(i) for i in range(first, min(rows, first + chunk))))
    print(f"  filled {rows} demo rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)


async def prepare_keyspace(keyspace: str, rows: int, concurrency: int) -> None:
    quiet_driver_logs()
    settings = settings_from_env().with_overrides(keyspace=keyspace)
    connection = await open_connection(settings, create_schema=False)
    try:
        connection.session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}",
            timeout=60,
        )
        await fill(connection, rows, concurrency)
    finally:
        connection.close()


def drop(keyspace: str) -> None:
    async def run() -> None:
        connection = await open_connection(settings_from_env(), create_schema=False)
        try:
            connection.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        finally:
            connection.close()

    asyncio.run(run())


def run_adopt(
    keyspace: str, limit_s: float | None, extra: list[str], registry: str = REGISTRY
) -> dict[str, Any]:
    """`registry adopt --json` in a fresh process; wall time, CPU time, the stderr line count."""
    env = dict(os.environ, SCYLLA_KEYSPACE=keyspace)
    before = os.times()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [registry, "adopt", "--json", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stopped = False
    try:
        out, err = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        stopped = True
    wall = time.perf_counter() - started
    after = os.times()
    result: dict[str, Any] = {
        "exit": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(
            (after.children_user - before.children_user)
            + (after.children_system - before.children_system),
            2,
        ),
        "stderr_lines": err.count("\n"),
        "stopped_after_limit": stopped,
    }
    result["phases"] = [line for line in err.splitlines() if line.endswith("rows/s)")]
    if not stopped and out.strip():
        report = json.loads(out)
        result.update(
            rows_seen=report["rows_seen"],
            adopted=report["adopted"],
            conflicts=len(report["conflicts"]),
            rows_per_s=round(report["rows_seen"] / wall, 1),
        )
    else:
        result["stderr_tail"] = err.strip().splitlines()[-3:]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--keyspace", help="default: bench_adopt_<rows>_<random>")
    parser.add_argument("--concurrency", type=int, default=64, help="in flight while filling")
    parser.add_argument("--limit-s", type=float, help="stop the adoption after this long")
    parser.add_argument("--reuse", action="store_true", help="the keyspace is filled already")
    parser.add_argument("--keep", action="store_true", help="do not drop the keyspace")
    parser.add_argument("--no-adopt", action="store_true", help="only fill the keyspace")
    parser.add_argument("--registry", default=REGISTRY, help="the `registry` command to time")
    args, extra = parser.parse_known_args()
    keyspace = args.keyspace or f"bench_adopt_{args.rows}_{uuid.uuid4().hex[:6]}"
    try:
        if not args.reuse:
            asyncio.run(prepare_keyspace(keyspace, args.rows, args.concurrency))
        if args.no_adopt:
            print(keyspace)
            return 0
        result = {
            "keyspace": keyspace,
            "rows": args.rows,
            **run_adopt(keyspace, args.limit_s, extra, args.registry),
        }
        print(json.dumps(result))
    finally:
        if not args.keep:
            drop(keyspace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
