#!/usr/bin/env python3
"""Check the two-data-centre layout and measure what LWTs promise across its data centres.

Needs `python3 scripts/cassandra_local.py up --layout dcs` and the project's virtualenv:

    .venv/bin/python scripts/dc_race_check.py check            # each node's DC, peers, liveness
    .venv/bin/python scripts/dc_race_check.py race --keys 200  # double winners: local vs global
    .venv/bin/python scripts/dc_race_check.py pause            # pause dc2's node: what dc1 sees

Each run works in a keyspace of its own (NetworkTopologyStrategy dc1:1, dc2:1), dropped at the
end. It prints what it measured and asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cassandra import ConsistencyLevel, DriverException, WriteTimeout
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    FallthroughRetryPolicy,
    TokenAwarePolicy,
    WriteType,
)
from cassandra.query import PreparedStatement, SimpleStatement

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

from cassandra_local import LAYOUTS, STATE_ROOT  # noqa: E402

PORT = LAYOUTS["dcs"][1]
HOSTS = {"dc1": "127.0.0.1", "dc2": "127.0.0.2"}
REQUEST_TIMEOUT_S = 6.0
DDL_TIMEOUT_S = 60.0
# mode -> (serial consistency of the Paxos round, consistency of its commit)
MODES = {
    "local": (ConsistencyLevel.LOCAL_SERIAL, ConsistencyLevel.LOCAL_QUORUM),
    "global": (ConsistencyLevel.SERIAL, ConsistencyLevel.QUORUM),
}


def connect(dc: str) -> tuple[Cluster, Session]:
    """The registry's own policies (registry_tui/core/store.py), local to one DC."""
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=dc)),
        retry_policy=FallthroughRetryPolicy(),
        request_timeout=REQUEST_TIMEOUT_S,
    )
    cluster = Cluster(
        [HOSTS[dc]],
        port=PORT,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=REQUEST_TIMEOUT_S,
    )
    return cluster, cluster.connect()


@contextmanager
def sessions() -> Iterator[tuple[dict[str, Session], str]]:
    """One session local to each DC, and a fresh keyspace replicated once to each."""
    clusters = {dc: connect(dc) for dc in HOSTS}
    keyspace = f"dcs_{uuid.uuid4().hex[:10]}"
    by_dc = {dc: session for dc, (_, session) in clusters.items()}
    first = by_dc["dc1"]
    try:
        # Schema changes wait for both DCs to agree: slow on a loaded machine, not a failure.
        first.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'dc1': 1, 'dc2': 1}",
            timeout=DDL_TIMEOUT_S,
        )
        first.execute(
            f"CREATE TABLE {keyspace}.names (name text PRIMARY KEY, owner text)",
            timeout=DDL_TIMEOUT_S,
        )
        yield by_dc, keyspace
    finally:
        try:
            first.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=DDL_TIMEOUT_S)
        finally:
            for cluster, _ in clusters.values():
                cluster.shutdown()


def insert_if_not_exists(session: Session, keyspace: str, mode: str) -> PreparedStatement:
    statement = session.prepare(
        f"INSERT INTO {keyspace}.names (name, owner) VALUES (?, ?) IF NOT EXISTS"
    )
    statement.serial_consistency_level, statement.consistency_level = MODES[mode]
    return statement


def outcome_of(error: BaseException) -> str:
    if isinstance(error, WriteTimeout):
        kind = WriteType.value_to_name.get(error.write_type, error.write_type)
        return f"WriteTimeout({kind})"
    return type(error).__name__


# --------------------------------------------------------------------------------------------
# check


def cmd_check(_: argparse.Namespace) -> int:
    with sessions() as (by_dc, keyspace):
        for dc, session in by_dc.items():
            local = session.execute("SELECT data_center, rack FROM system.local").one()
            peers = session.execute("SELECT peer, data_center FROM system.peers_v2").all()
            seen = ", ".join(f"{p.peer} ({p.data_center})" for p in peers) or "none"
            print(f"{HOSTS[dc]}:{PORT}: data_center={local.data_center} rack={local.rack}")
            print(f"    peers_v2: {seen}")
            # ALL needs the other DC's replica: the coordinator refuses it (Unavailable)
            # unless its failure detector holds that node UP, and that node must answer.
            probe = SimpleStatement(
                f"INSERT INTO {keyspace}.names (name, owner) VALUES (%s, %s)",
                consistency_level=ConsistencyLevel.ALL,
            )
            session.execute(probe, (f"probe-{dc}", dc))
            print("    a write at ALL coordinated here was acknowledged by both DCs")
    return 0


# --------------------------------------------------------------------------------------------
# race


@dataclass
class Attempt:
    outcome: str  # applied | taken | an error's name
    ms: float


@dataclass
class RaceResult:
    mode: str
    attempts: dict[str, dict[str, Attempt]] = field(default_factory=dict)  # dc -> key -> attempt
    owners: dict[str, str | None] = field(default_factory=dict)  # key -> owner read at SERIAL


def race(
    by_dc: dict[str, Session], keyspace: str, mode: str, keys: list[str], wave: int
) -> RaceResult:
    """Both DCs try every key; each wave of keys is released in both at the same instant."""
    result = RaceResult(mode)
    gate = threading.Barrier(len(by_dc))

    def contend(dc: str, session: Session) -> None:
        statement = insert_if_not_exists(session, keyspace, mode)
        mine: dict[str, Attempt] = {}
        for start in range(0, len(keys), wave):
            chunk = keys[start : start + wave]
            gate.wait()
            began = time.perf_counter()
            futures = [(key, session.execute_async(statement, (key, dc))) for key in chunk]
            for key, future in futures:
                try:
                    applied = future.result().one().applied
                    outcome = "applied" if applied else "taken"
                except Exception as error:  # every failure is a measured outcome here
                    outcome = outcome_of(error)
                mine[key] = Attempt(outcome, (time.perf_counter() - began) * 1000)
        result.attempts[dc] = mine

    threads = [threading.Thread(target=contend, args=item) for item in by_dc.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    audit = SimpleStatement(
        f"SELECT owner FROM {keyspace}.names WHERE name = %s",
        consistency_level=ConsistencyLevel.SERIAL,
    )
    for key in keys:
        row = by_dc["dc1"].execute(audit, (key,)).one()
        result.owners[key] = row.owner if row else None
    return result


def report_race(result: RaceResult, keys: list[str]) -> None:
    told = {
        key: [dc for dc, tries in result.attempts.items() if tries[key].outcome == "applied"]
        for key in keys
    }
    doubles = [key for key, winners in told.items() if len(winners) > 1]
    overwritten = [
        key for key, winners in told.items() if any(result.owners[key] != dc for dc in winners)
    ]
    outcomes = Counter(a.outcome for tries in result.attempts.values() for a in tries.values())
    latencies = sorted(a.ms for tries in result.attempts.values() for a in tries.values())
    serial, commit = MODES[result.mode]
    print(
        f"{result.mode:6} ({ConsistencyLevel.value_to_name[serial]} + "
        f"{ConsistencyLevel.value_to_name[commit]}): {len(doubles)} of {len(keys)} keys had both "
        f"DCs told they won; {len(overwritten)} acknowledged winners overwritten"
    )
    print(f"        attempts: {dict(sorted(outcomes.items()))}")
    unknown = [
        (key, dc)
        for dc, tries in result.attempts.items()
        for key, attempt in tries.items()
        if attempt.outcome.startswith("WriteTimeout")
    ]
    if unknown:
        landed = sum(result.owners[key] == dc for key, dc in unknown)
        print(
            f"        timed out, then found applied by the SERIAL audit: {landed} of {len(unknown)}"
        )
    print(
        f"        latency ms: p50 {statistics.median(latencies):.1f}, "
        f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.1f}, max {latencies[-1]:.1f}"
    )


def cmd_race(args: argparse.Namespace) -> int:
    with sessions() as (by_dc, keyspace):
        for mode in args.modes:
            keys = [f"{mode}-{i:04d}-{uuid.uuid4().hex[:6]}" for i in range(args.keys)]
            report_race(race(by_dc, keyspace, mode, keys, args.wave), keys)
    return 0


# --------------------------------------------------------------------------------------------
# pause


def launcher(*args: str) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPTS / "cassandra_local.py"), *args, "--layout", "dcs", "2"],
        check=True,
        capture_output=True,
    )


class GossipLog:
    """Watch node 1's system.log for its failure detector's verdict on node 2."""

    def __init__(self) -> None:
        self.path = STATE_ROOT / "dcs" / "node1" / "logs" / "system.log"
        self.offset = self.path.stat().st_size

    def verdict_at(self, state: str) -> float | None:
        """Wall-clock time of the first `is now STATE` line about node 2 written since start."""
        with self.path.open(errors="replace") as log:
            log.seek(self.offset)
            for line in log:
                if f"/{HOSTS['dc2']}:" in line and f"is now {state}" in line:
                    stamp = " ".join(line.split()[2:4])
                    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        return None


@dataclass
class Probe:
    at: float  # seconds since the pause
    mode: str
    outcome: str
    ms: float
    detail: str = ""


def probe(session: Session, statement: PreparedStatement, mode: str, since: float) -> Probe:
    began = time.time()
    detail = ""
    try:
        applied = session.execute(statement, (f"{mode}-{uuid.uuid4().hex[:10]}", "dc1")).one()
        outcome = "applied" if applied.applied else "taken"
    except Exception as error:  # every failure is a measured outcome here
        outcome, detail = outcome_of(error), str(error)
    return Probe(began - since, mode, outcome, (time.time() - began) * 1000, detail)


def summarise(probes: list[Probe]) -> None:
    """Consecutive probes of one mode with one outcome, as one line each."""
    for mode in MODES:
        runs: list[list[Probe]] = []
        for p in (p for p in probes if p.mode == mode):
            if runs and runs[-1][-1].outcome == p.outcome:
                runs[-1].append(p)
            else:
                runs.append([p])
        for run in runs:
            ms = [p.ms for p in run]
            print(
                f"    {mode:6} t={run[0].at:5.1f}..{run[-1].at:5.1f}s  {run[0].outcome:22} "
                f"x{len(run):<3} took {min(ms):.0f}..{max(ms):.0f} ms"
            )
            if run[0].detail:
                print(f"        first: {run[0].detail[:200]}")


def cmd_pause(args: argparse.Namespace) -> int:
    with sessions() as (by_dc, keyspace):
        session = by_dc["dc1"]
        statements = {mode: insert_if_not_exists(session, keyspace, mode) for mode in MODES}
        log = GossipLog()
        host = session.cluster.metadata.get_host(HOSTS["dc2"])
        watch_driver = host is not None and host.is_up is True
        paused_at = time.time()
        launcher("pause-node")
        probes: list[Probe] = []
        down_at = driver_down_at = None
        try:
            while time.time() - paused_at < args.budget:
                for mode, statement in statements.items():
                    probes.append(probe(session, statement, mode, paused_at))
                down_at = down_at or log.verdict_at("DOWN")
                if watch_driver and driver_down_at is None and host and not host.is_up:
                    driver_down_at = time.time()
                after = [p for p in probes if down_at and p.at > down_at - paused_at]
                if sum(p.mode == "global" for p in after) >= args.after_down:
                    break
        finally:
            resumed_at = time.time()
            launcher("resume-node")
        print(f"paused dc2's node ({HOSTS['dc2']}); dc1 probed one write per mode at a time:")
        summarise(probes)
        print(f"    node 1 logged node 2 DOWN after {fmt(down_at, paused_at)}")
        if watch_driver:
            print(f"    the dc1 driver marked node 2 down after {fmt(driver_down_at, paused_at)}")
        else:
            print("    the dc1 driver keeps no pool to node 2 (remote DC): no view of its own")
        recovered = None
        while time.time() - resumed_at < args.budget:
            if probe(session, statements["global"], "global", resumed_at).outcome == "applied":
                recovered = time.time()
                break
            time.sleep(0.2)
        print(
            f"resumed: node 1 logged node 2 UP after {fmt(log.verdict_at('UP'), resumed_at)}; "
            f"first global write applied after {fmt(recovered, resumed_at)}"
        )
    return 0


def fmt(moment: float | None, since: float) -> str:
    return "(not seen)" if moment is None else f"{moment - since:.1f}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="each node's DC and peers; a write at ALL from each DC")
    race_parser = sub.add_parser("race", help="both DCs race INSERT IF NOT EXISTS on fresh keys")
    race_parser.add_argument("--keys", type=int, default=200)
    race_parser.add_argument("--wave", type=int, default=1, help="keys released per instant")
    race_parser.add_argument("--modes", nargs="+", choices=tuple(MODES), default=list(MODES))
    pause_parser = sub.add_parser("pause", help="pause dc2's node and probe writes from dc1")
    pause_parser.add_argument("--budget", type=float, default=90.0, help="seconds, per phase")
    pause_parser.add_argument(
        "--after-down", type=int, default=5, help="global probes to keep after the DOWN verdict"
    )
    args = parser.parse_args(argv)
    commands = {"check": cmd_check, "race": cmd_race, "pause": cmd_pause}
    try:
        return commands[args.command](args)
    except (DriverException, NoHostAvailable, subprocess.CalledProcessError) as error:
        print(
            f"dc_race_check: {type(error).__name__}: {str(error)[:300]} (is the dcs layout up? "
            "python3 scripts/cassandra_local.py up --layout dcs)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
