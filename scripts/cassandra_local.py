#!/usr/bin/env python3
"""Run a real Apache Cassandra 5.0 node, a 3-node cluster or two data centres from Maven jars.

Used where no Docker engine answers. Standard library only, so it runs before any virtualenv
exists. Jars are cached outside the repository; data, configuration and logs live under
``.local/cassandra`` (gitignored).

    python3 scripts/cassandra_local.py up                 # one node on 127.0.0.1:9042
    python3 scripts/cassandra_local.py up --nodes 3       # nodes on 127.0.0.1/.2/.3
    python3 scripts/cassandra_local.py up --layout dcs    # dc1 on 127.0.0.1, dc2 on 127.0.0.2
    python3 scripts/cassandra_local.py status
    python3 scripts/cassandra_local.py stop-node 2        # graceful stop of one node
    python3 scripts/cassandra_local.py start-node 2
    python3 scripts/cassandra_local.py kill-node 2        # SIGKILL
    python3 scripts/cassandra_local.py pause-node 2       # SIGSTOP (resume-node: SIGCONT)
    python3 scripts/cassandra_local.py violations         # what the nodes' Paxos detected
    python3 scripts/cassandra_local.py add-node           # bootstrap node 4 into the cluster
    python3 scripts/cassandra_local.py decommission 4     # node 4 streams its data away, leaves
    python3 scripts/cassandra_local.py ring               # the ring as node 1 sees it (nodetool)
    python3 scripts/cassandra_local.py netns up           # a private network namespace (root)
    python3 scripts/cassandra_local.py partition '1|2,3'  # inside it: cut links (nftables)
    python3 scripts/cassandra_local.py heal               # every link back
    python3 scripts/cassandra_local.py start-node 2 --clock -30s   # node 2 under libfaketime
    python3 scripts/cassandra_local.py clock-node 2 +30s  # move its clock while it runs
    python3 scripts/cassandra_local.py down               # stop everything, keep the data
    python3 scripts/cassandra_local.py clean              # stop and delete the data
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASSANDRA_VERSION = "5.0.8"
REPO_ROOT = Path(__file__).resolve().parent.parent
STATE_ROOT = Path(os.environ.get("REGISTRY_CASSANDRA_HOME", REPO_ROOT / ".local" / "cassandra"))
CACHE_ROOT = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "registry-tui"
    / f"cassandra-{CASSANDRA_VERSION}"
)
LIB_DIR = CACHE_ROOT / "lib"
CQL_PORT = 9042
STORAGE_PORT = 7000
# Layouts: name -> (nodes, CQL port, storage port, PasswordAuthenticator). Each has its own
# ports so that the cluster (fault tests), the auth node and the two data centres run beside
# the single dev node.
LAYOUTS = {
    "single": (1, CQL_PORT, STORAGE_PORT, False),
    "cluster": (3, 9142, 7100, False),
    "auth": (1, 9242, 7200, True),
    "dcs": (2, 9342, 7300, False),
}
# Layouts spread over data centres: node N (1-based) lives in the Nth data centre named here,
# announced through GossipingPropertyFileSnitch; the other layouts keep SimpleSnitch.
DATA_CENTRES = {"dcs": ("dc1", "dc2")}
RACK = "rack1"
# How long a node may take to answer CQL; raised where many nodes share few loaded cores.
START_BUDGET_S = float(os.environ.get("REGISTRY_START_BUDGET_S", "180"))
# How long a membership change may take: a bootstrap (ring delay, streaming its ranges, then
# CQL) or a decommission (streaming its ranges away), on a few loaded cores.
MEMBERSHIP_BUDGET_S = float(os.environ.get("REGISTRY_MEMBERSHIP_BUDGET_S", "900"))
# Nodes beyond a layout's own (added with `add-node`): at most this many in all.
MAX_NODES = 8

JVM17_FLAGS = [
    "-Djdk.attach.allowAttachSelf=true",
    *[
        f"--add-exports={m}=ALL-UNNAMED"
        for m in (
            "java.base/jdk.internal.misc",
            "java.management.rmi/com.sun.jmx.remote.internal.rmi",
            "java.management/com.sun.jmx.remote.security",
            "java.rmi/sun.rmi.registry",
            "java.rmi/sun.rmi.server",
            "java.sql/java.sql",
            "java.base/java.lang.ref",
            "jdk.unsupported/sun.misc",
        )
    ],
    *[
        f"--add-opens={m}=ALL-UNNAMED"
        for m in (
            "java.base/java.lang.module",
            "java.base/jdk.internal.loader",
            "java.base/jdk.internal.ref",
            "java.base/jdk.internal.reflect",
            "java.base/jdk.internal.math",
            "java.base/jdk.internal.module",
            "java.base/jdk.internal.util.jar",
            "jdk.management/com.sun.management.internal",
            "java.base/sun.nio.ch",
            "java.base/java.io",
            "java.base/java.lang.reflect",
            "java.base/java.lang",
            "java.base/java.util",
            "java.base/java.nio",
        )
    ],
]

LOGBACK_XML = """<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>{logdir}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>WARN</level></filter>
    <encoder><pattern>%-5level %date{{HH:mm:ss.SSS}} %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/><appender-ref ref="STDOUT"/></root>
</configuration>
"""


class LauncherError(Exception):
    """A failure with a message meant for the person at the terminal."""


def say(message: str) -> None:
    print(f"[cassandra-local] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Prerequisites and jars


def java_major_version(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in (out.stderr + out.stdout).splitlines():
        if "version" in line and '"' in line:
            version = line.split('"')[1]
            head = version.split(".")[0]
            if head == "1":
                head = version.split(".")[1]
            try:
                return int(head)
            except ValueError:
                return None
    return None


def find_java17() -> str:
    """Cassandra 5.0 runs on JDK 11 or 17 only; prefer an explicit JAVA_HOME, then the PATH."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    candidates += [str(p / "bin" / "java") for p in sorted(Path("/usr/lib/jvm").glob("*17*"))]
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    for java in candidates:
        if Path(java).exists() and java_major_version(java) in (11, 17):
            return java
    raise LauncherError(
        "Cassandra 5.0 needs Java 17 (or 11), and none was found. Install OpenJDK 17 "
        "(Debian/Ubuntu: `apt-get install openjdk-17-jdk-headless maven`; macOS: "
        "`brew install openjdk@17 maven`) or install Docker to run ScyllaDB instead."
    )


def ensure_jars() -> Path:
    marker = LIB_DIR / f"cassandra-all-{CASSANDRA_VERSION}.jar"
    if marker.exists():
        return LIB_DIR
    mvn = shutil.which("mvn")
    if not mvn:
        raise LauncherError(
            "Maven is needed once to download Cassandra's jars from Maven Central, and `mvn` "
            "is not on the PATH. Install it (Debian/Ubuntu: `apt-get install maven`; macOS: "
            "`brew install maven`) or install Docker to run ScyllaDB instead."
        )
    say(f"downloading Apache Cassandra {CASSANDRA_VERSION} jars from Maven Central (once) ...")
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lib-", dir=CACHE_ROOT))
    pom = CACHE_ROOT / "pom.xml"
    pom.write_text(
        f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>registry-tui.local</groupId><artifactId>cassandra-jars</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId><artifactId>cassandra-all</artifactId>
      <version>{CASSANDRA_VERSION}</version>
    </dependency>
  </dependencies>
</project>
"""
    )
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not (staging / marker.name).exists():
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise LauncherError(f"Maven could not resolve cassandra-all {CASSANDRA_VERSION}:\n{tail}")
    if LIB_DIR.exists():
        shutil.rmtree(LIB_DIR)
    staging.rename(LIB_DIR)
    return LIB_DIR


# --------------------------------------------------------------------------------------------
# A minimal CQL v4 client: enough to prove the node answers a query (no driver needed)


def _frame(opcode: int, body: bytes, stream: int = 0) -> bytes:
    return struct.pack(">BBhBi", 0x04, 0, stream, opcode, len(body)) + body


def _string_map(pairs: dict[str, str]) -> bytes:
    out = struct.pack(">H", len(pairs))
    for key, value in pairs.items():
        for item in (key, value):
            raw = item.encode()
            out += struct.pack(">H", len(raw)) + raw
    return out


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    header = _recv_exact(sock, 9)
    _version, _flags, _stream, opcode, length = struct.unpack(">BBhBi", header)
    return opcode, _recv_exact(sock, length)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def cql_answers(host: str, port: int = CQL_PORT, timeout: float = 3.0) -> bool:
    """True when `SELECT release_version FROM system.local` succeeds on host:port."""
    user = os.environ.get("SCYLLA_USERNAME", "cassandra")
    password = os.environ.get("SCYLLA_PASSWORD", "cassandra")
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(_frame(0x01, _string_map({"CQL_VERSION": "3.0.0"})))
            opcode, _ = _read_frame(sock)
            if opcode == 0x03:  # AUTHENTICATE: answer with SASL PLAIN
                token = b"\x00" + user.encode() + b"\x00" + password.encode()
                sock.sendall(_frame(0x0F, struct.pack(">i", len(token)) + token))
                opcode, _ = _read_frame(sock)
                if opcode != 0x10:  # AUTH_SUCCESS
                    return False
            elif opcode != 0x02:  # READY
                return False
            query = b"SELECT release_version FROM system.local"
            body = struct.pack(">i", len(query)) + query + struct.pack(">HB", 0x0001, 0)
            sock.sendall(_frame(0x07, body, stream=1))
            opcode, _ = _read_frame(sock)
            return opcode == 0x08  # RESULT
    except (OSError, ConnectionError, struct.error):
        return False


# --------------------------------------------------------------------------------------------
# Nodes


class Node:
    def __init__(self, layout: str, index: int, total: int) -> None:
        self.layout = layout
        self.index = index
        self.total = total
        self.address = f"127.0.0.{index}"
        self.home = STATE_ROOT / layout / f"node{index}"
        _, self.cql_port, self.storage_port, self.auth = LAYOUTS[layout]
        centres = DATA_CENTRES.get(layout)
        self.dc: str | None = centres[index - 1] if centres else None

    @property
    def token(self) -> int:
        """Balanced single tokens: node i of n starts the ith n-th of the Murmur3 ring. A node
        added beyond the layout's n (index n+k) takes the middle of node k's range, so that it
        splits one range in two and takes over part of it."""
        slot = 2**64 // self.total
        if self.index <= self.total:
            return -(2**63) + (self.index - 1) * slot
        owner = (self.index - self.total - 1) % self.total
        return -(2**63) + owner * slot + slot // 2

    @property
    def jmx_port(self) -> int:
        """JMX, on the loopback address only (what nodetool talks to): one port per node,
        beside the layout's storage port (cluster: 7191, 7192, ...)."""
        return self.storage_port + 90 + self.index

    @property
    def left_file(self) -> Path:
        """Written when the node was decommissioned: it has left the ring and its data is
        gone, so only a bootstrap (`add-node N`) brings it back."""
        return self.home / "left.json"

    def has_left(self) -> bool:
        return self.left_file.exists()

    @property
    def seeds(self) -> str:
        """Node 1; with data centres, the first node of each DC that is this node or runs now.

        A seed that does not answer costs a 30 s gossip round at start-up, and a node that
        is not its own seed cannot start while its seeds are down: so each DC's first node
        seeds itself (either DC can restart alone) and names only the other DCs' live ones.
        """
        if self.dc is None:
            return f"127.0.0.1:{self.storage_port}"
        centres = DATA_CENTRES[self.layout]
        firsts = [
            Node(self.layout, centres.index(dc) + 1, self.total) for dc in dict.fromkeys(centres)
        ]
        live = [n for n in firsts if n.index == self.index or n.pid() is not None]
        return ",".join(f"{n.address}:{self.storage_port}" for n in live or firsts)

    @property
    def rackdc_file(self) -> Path:
        return self.home / "conf" / "cassandra-rackdc.properties"

    @property
    def pidfile(self) -> Path:
        return self.home / "node.pid"

    @property
    def logdir(self) -> Path:
        return self.home / "logs"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"CassandraDaemon" not in cmdline:
                return None
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            if state == "Z":
                return None
        except OSError:
            pass
        return pid

    def is_paused(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] == "T"
        except OSError:
            return False

    def write_config(
        self, auth: bool, paxos: str, purging: str | None = None, bootstrap: bool = False
    ) -> Path:
        for sub in ("data", "commitlog", "hints", "saved_caches", "logs", "conf"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        snitch = "SimpleSnitch" if self.dc is None else "GossipingPropertyFileSnitch"
        lines = [
            "cluster_name: registry-local",
            "num_tokens: 1",
            f"initial_token: {self.token}",
            "partitioner: org.apache.cassandra.dht.Murmur3Partitioner",
            f"endpoint_snitch: {snitch}",
            "seed_provider:",
            "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider",
            "    parameters:",
            f'      - seeds: "{self.seeds}"',
            f"listen_address: {self.address}",
            f"rpc_address: {self.address}",
            f"storage_port: {self.storage_port}",
            f"native_transport_port: {self.cql_port}",
            "start_native_transport: true",
            # A layout's own nodes start together with no data to stream; a node added to
            # a running cluster bootstraps: it streams its ranges before it serves.
            f"auto_bootstrap: {'true' if bootstrap else 'false'}",
            "auto_snapshot: false",
            "commitlog_sync: periodic",
            "commitlog_sync_period: 10000ms",
            "commitlog_segment_size: 8MiB",
            "concurrent_compactors: 1",
            f"data_file_directories: [{self.home / 'data'}]",
            f"commitlog_directory: {self.home / 'commitlog'}",
            f"hints_directory: {self.home / 'hints'}",
            f"saved_caches_directory: {self.home / 'saved_caches'}",
            f"paxos_variant: {paxos}",
            # The server's own alarm: Paxos v2 logs each linearizability violation it detects
            # ("Linearizability violation ..." at ERROR); `violations` reads them back.
            "paxos_on_linearizability_violations: log",
            # `up --paxos-purging repaired`: Paxos state purged once repaired, which lets a
            # v2 commit run at ANY (SCYLLA_LWT_COMMIT=any); unset: the server's default.
            *([f"paxos_state_purging: {purging}"] if purging else []),
            "cas_contention_timeout: "
            + os.environ.get("REGISTRY_CAS_CONTENTION_TIMEOUT", "1000ms"),
            "write_request_timeout: 2000ms",
            "read_request_timeout: 5000ms",
        ]
        if auth:
            lines += [
                "authenticator: PasswordAuthenticator",
                "authorizer: CassandraAuthorizer",
                "role_manager: CassandraRoleManager",
            ]
        conf = self.home / "conf" / "cassandra.yaml"
        conf.write_text("\n".join(lines) + "\n")
        if self.dc is not None:
            self.rackdc_file.write_text(f"dc={self.dc}\nrack={RACK}\n")
        (self.home / "conf" / "logback.xml").write_text(LOGBACK_XML.format(logdir=self.logdir))
        return conf

    def command(self, java: str, lib: Path, conf: Path, heap: str) -> list[str]:
        return [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-Xss256k",
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:+PerfDisableSharedMem",
            f"-javaagent:{lib / 'jamm-0.4.0.jar'}",
            *JVM17_FLAGS,
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dcassandra.config=file://{conf}",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.logdir={self.logdir}",
            f"-Dlogback.configurationFile={self.home / 'conf' / 'logback.xml'}",
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            f"-Dcassandra.jmx.local.port={self.jmx_port}",
            "-Dcassandra.superuser_setup_delay_ms=1000",
            f"-Dcassandra.system_auth.default_rf={self.total}",
            # Fast schema changes, but schema (and so the data of tables created since the
            # last flush) is lost when the node is SIGKILLed: only for the dev node, never
            # for the layouts whose nodes the fault tests kill.
            *(["-Dcassandra.unsafesystem=true"] if self.layout == "single" else []),
            *(
                [f"-Dcassandra-rackdc.properties=file://{self.rackdc_file}"]
                if self.dc is not None
                else []
            ),
            "-cp",
            f"{lib}/*",
            "org.apache.cassandra.service.CassandraDaemon",
        ]

    @property
    def clock_file(self) -> Path:
        """The offset libfaketime reads (FAKETIME_TIMESTAMP_FILE), for a node started skewed."""
        return self.home / "conf" / "faketime"

    def clock(self) -> str | None:
        """The offset this running node's clock is under ("+30", "-5"), None if it is real."""
        if self.pid() is None or not self.clock_file.exists():
            return None
        return self.clock_file.read_text().strip() or None

    @property
    def uid(self) -> int | None:
        """The user this node's JVM runs as: inside the partition namespace each node gets a
        user of its own, the only mark nftables can match its outgoing connections by (the
        JVMs do not bind them to their listen address: every one leaves from 127.0.0.1).
        Elsewhere, None: the launcher's own user."""
        if os.geteuid() != 0 or not in_private_netns():
            return None
        return NODE_UID_BASE + self.index

    def start(
        self,
        java: str,
        lib: Path,
        auth: bool,
        paxos: str,
        heap: str,
        purging: str | None = None,
        clock: str | None = None,
        bootstrap: bool = False,
    ) -> None:
        if self.pid() is not None:
            return
        if self.has_left() and not bootstrap:
            raise LauncherError(
                f"node {self.index} was decommissioned: it left the ring and its data was "
                f"removed; `add-node {self.index}` bootstraps it back"
            )
        conf = self.write_config(auth, paxos, purging, bootstrap)
        uid = self.uid
        if uid is not None:
            lib = readable_jars(lib)
            give_to(self.home, uid)
        cmd = self.command(java, lib, conf, heap)
        env = dict(os.environ)
        self.clock_file.unlink(missing_ok=True)
        if clock is not None:
            env.update(faketime_env(self.clock_file))
            self.clock_file.write_text(clock_offset(clock) + "\n")
        if uid is not None:
            env["HOME"] = str(self.home)
        out = open(self.logdir / "node.out", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.home,
            start_new_session=True,
            env=env,
            user=uid,
            group=uid,
            extra_groups=[] if uid is not None else None,
        )
        out.close()
        # Until exec completes, /proc shows this script's command line, not the JVM's.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if b"CassandraDaemon" in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
                break
            time.sleep(0.02)
        self.pidfile.write_text(str(proc.pid))
        (self.home / "started.json").write_text(
            json.dumps({"auth": auth, "paxos": paxos, "purging": purging, "clock": clock})
        )

    def wait_ready(self, budget: float = START_BUDGET_S) -> float:
        start = time.monotonic()
        while time.monotonic() - start < budget:
            if cql_answers(self.address, self.cql_port):
                return time.monotonic() - start
            if self.pid() is None:
                raise LauncherError(
                    f"node {self.index} exited during start-up; see {self.logdir / 'system.log'}"
                    f" and {self.logdir / 'node.out'}:\n{self.log_tail()}"
                )
            time.sleep(0.5)
        raise LauncherError(
            f"node {self.index} did not answer CQL within {budget:.0f}s; see "
            f"{self.logdir / 'system.log'}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 12) -> str:
        for name in ("node.out", "system.log"):
            path = self.logdir / name
            if path.exists():
                text = path.read_text(errors="replace").strip().splitlines()
                errors = [t for t in text if t.startswith(("ERROR", "Exception", "Error"))]
                return "\n".join((errors or text)[-lines:])
        return "(no log yet)"

    def signal(self, sig: int) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, sig)
        return True

    def stop(self, timeout: float = 45.0) -> None:
        pid = self.pid()
        if pid is None:
            return
        if self.is_paused():
            os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.3)
        if self.pid() is not None:
            say(f"node {self.index} did not stop in {timeout:.0f}s; killing it")
            os.kill(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)

    def rss_mib(self) -> float | None:
        pid = self.pid()
        if pid is None:
            return None
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


# --------------------------------------------------------------------------------------------
# Clock skew: one node's wall clock moved by libfaketime (Debian package `faketime`)

FAKETIME_LIBS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)


def faketime_library() -> str:
    for candidate in FAKETIME_LIBS:
        if Path(candidate).exists():
            return candidate
    raise LauncherError(
        "a skewed clock needs libfaketime, which is not installed "
        "(Debian/Ubuntu: `apt-get install faketime`)"
    )


def clock_offset(text: str) -> str:
    """'+30s', '-5', '+2m' -> libfaketime's relative offset in whole seconds ('+30', '-5',
    '+120'); anything else is refused with a message."""
    raw = text.strip()
    units = {"s": 1, "m": 60, "h": 3600}
    body, unit = (raw[:-1], units[raw[-1]]) if raw and raw[-1] in units else (raw, 1)
    if not body or body[0] not in "+-" or not body[1:].isdigit():
        raise LauncherError(
            f"a clock offset is a sign, a whole number and an optional unit (s, m, h), "
            f"e.g. +30s or -5s; not {text!r}"
        )
    seconds = int(body[1:]) * unit
    if seconds > 10 * 365 * 86400:
        raise LauncherError(f"a clock offset of {text!r} is more than ten years")
    return f"{body[0]}{seconds}"


def faketime_env(offset_file: Path) -> dict[str, str]:
    """The environment that puts a JVM's wall clock under `offset_file`'s offset. Monotonic
    time stays real (the JVM's timers and Cassandra's failure detector rely on it); the file
    is read again at most every second, so `clock-node` moves a running node's clock.

    FAKETIME_FORCE_MONOTONIC_FIX=0: libfaketime 0.9.10 turns on a workaround for glibc's
    pthread_cond_timedwait by default, and with it every timed wait of a JVM (Object.wait,
    LockSupport.parkNanos, on CLOCK_MONOTONIC condition variables) returns at once: a JVM
    then keeps its timer threads runnable (measured: a 3 s wait returned after 40 µs, and a
    Cassandra node kept 27 threads running at offset 0). Off, waits last as long as asked
    and the wall clock is still moved."""
    return {
        "LD_PRELOAD": faketime_library(),
        "FAKETIME_TIMESTAMP_FILE": str(offset_file),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_CACHE_DURATION": "1",
        "FAKETIME_FORCE_MONOTONIC_FIX": "0",
    }


# --------------------------------------------------------------------------------------------
# Network partitions: nftables rules inside a private network namespace, never the host's

NETNS = os.environ.get("REGISTRY_NETNS", "registry-faults")
PARTITION_TABLE = "registry_partition"  # one table per layout: registry_partition_<layout>
# Inside the namespace node N runs as user NODE_UID_BASE + N (no account needed).
NODE_UID_BASE = 47000


def readable_jars(lib: Path) -> Path:
    """The jars where another user can read them (the cache may sit in root's private home):
    hard links (or copies) under the state root."""
    shared = STATE_ROOT / "jars"
    if not (shared / f"cassandra-all-{CASSANDRA_VERSION}.jar").exists():
        staging = Path(tempfile.mkdtemp(prefix="jars-", dir=STATE_ROOT))
        for jar in lib.iterdir():
            try:
                os.link(jar, staging / jar.name)
            except OSError:
                shutil.copy2(jar, staging / jar.name)
            (staging / jar.name).chmod(0o644)
        staging.chmod(0o755)
        if shared.exists():
            shutil.rmtree(shared)
        staging.rename(shared)
    for folder in (STATE_ROOT, *STATE_ROOT.parents):
        if folder == Path("/"):
            break
        mode = folder.stat().st_mode
        if not mode & 0o001:
            raise LauncherError(
                f"{folder} cannot be entered by other users (mode {oct(mode & 0o777)}): the "
                "nodes of the partition namespace run as users of their own; choose another "
                "REGISTRY_CASSANDRA_HOME"
            )
    return shared


def give_to(home: Path, uid: int) -> None:
    """Make a node's folder (data, logs, configuration) its user's."""
    os.chown(home, uid, uid)
    for root, dirs, files in os.walk(home):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def in_private_netns() -> bool:
    """True when this process runs in the namespace `netns up` made (named NETNS), and so
    not on the host's network. (/proc/1/ns/net, the boot namespace, may not be readable in a
    container even as root: the check is positive, on the named namespace itself.)"""
    try:
        mine = os.stat("/proc/self/ns/net")
        named = os.stat(f"/run/netns/{NETNS}")
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino)


def netns_missing() -> list[str]:
    """What `netns up` and the faults run in the namespace (partitions, clock skew) need and
    this machine lacks, said for a person."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces and nftables need it)")
    if not shutil.which("ip"):
        missing.append("`ip` (Debian/Ubuntu: `apt-get install iproute2`)")
    if not shutil.which("nft"):
        missing.append("`nft` (Debian/Ubuntu: `apt-get install nftables`)")
    if not any(Path(lib).exists() for lib in FAKETIME_LIBS):
        missing.append("libfaketime, for the clock-skew tests (`apt-get install faketime`)")
    return missing


def parse_partition(spec: str, total: int) -> list[tuple[int, int]]:
    """The links a SPEC cuts, as sorted node pairs.

    `1|2,3`: groups split by `|`; every link between two groups is cut, links inside a group
    stay, a node named nowhere keeps all its links. `bridge 2`: node 2 alone reaches everyone,
    every other link is cut (with 3 nodes: 1-2 and 2-3 up, 1-3 cut).
    """
    text = spec.strip()
    nodes = range(1, total + 1)

    def node_number(item: str) -> int:
        item = item.strip()
        if not item.isdigit() or int(item) not in nodes:
            raise LauncherError(f"partition {spec!r}: {item!r} is not a node (1..{total})")
        return int(item)

    if text.startswith("bridge"):
        middle = node_number(text[len("bridge") :])
        if total < 3:
            raise LauncherError("a bridge needs at least three nodes")
        return [(a, b) for a in nodes for b in nodes if a < b and middle not in (a, b)]
    groups = [part.split(",") for part in text.split("|")]
    if len(groups) < 2:
        raise LauncherError(
            f"partition {spec!r}: give at least two groups split by '|' (e.g. '1|2,3') "
            "or 'bridge N'"
        )
    members = [[node_number(item) for item in group] for group in groups]
    flat = [n for group in members for n in group]
    if len(flat) != len(set(flat)):
        raise LauncherError(f"partition {spec!r}: a node is named twice")
    return sorted(
        (min(a, b), max(a, b))
        for i, left in enumerate(members)
        for right in members[i + 1 :]
        for a in left
        for b in right
    )


def partition_table(layout: str) -> str:
    """The nft table that holds `layout`'s cuts: two layouts in one namespace never heal or
    replace each other's partition."""
    return f"{PARTITION_TABLE}_{layout}"


def nft_script(cut: list[tuple[int, int]], storage_port: int, table: str = PARTITION_TABLE) -> str:
    """One nft transaction that replaces the partition table: both directions of every cut
    pair, on the storage port only (clients' CQL connections are never touched).

    A node sends its messages only on the connections it opened (internode connections are
    one-way), and those leave from 127.0.0.1 whatever the node's address: so a link A-B is cut
    by dropping what A's user sends to B's storage port, and what B's user sends to A's.
    """
    rules = []
    for a, b in cut:
        for src, dst in ((a, b), (b, a)):
            rules.append(
                f"    meta skuid {NODE_UID_BASE + src} ip daddr 127.0.0.{dst} tcp dport "
                f"{storage_port} drop"
            )
    body = "\n".join(rules)
    return (
        f"table inet {table}\n"
        f"delete table inet {table}\n"
        f"table inet {table} {{\n"
        "  chain out {\n"
        "    type filter hook output priority 0; policy accept;\n"
        f"{body}{chr(10) if body else ''}"
        "  }\n"
        "}\n"
    )


def partition_file(layout: str) -> Path:
    return STATE_ROOT / layout / "partition.json"


def current_partition(layout: str) -> dict[str, object] | None:
    try:
        return dict(json.loads(partition_file(layout).read_text()))
    except (OSError, ValueError):
        return None


def _nft(script: str) -> None:
    if not in_private_netns():
        raise LauncherError(
            "partitions are only made inside a private network namespace, never on the "
            f"host's network: run this under `ip netns exec {NETNS}` (`netns up` creates it; "
            "`make test-partitions` does both)"
        )
    missing = netns_missing()
    if missing:
        raise LauncherError("partitions need " + "; ".join(missing))
    done = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
    if done.returncode != 0:
        raise LauncherError(f"nft refused the partition rules: {done.stderr.strip()}")


def apply_partition(layout: str, spec: str) -> list[tuple[int, int]]:
    total, _, storage_port, _ = LAYOUTS[layout]
    # Nodes `add-node` bootstrapped are members too while they have not left: node 4 can be
    # cut off like any other (it runs as its own user, as every node does).
    joined = [n.index for n in added_nodes(layout) if not n.has_left()]
    cut = parse_partition(spec, max([total, *joined]))
    _nft(nft_script(cut, storage_port, partition_table(layout)))
    partition_file(layout).parent.mkdir(parents=True, exist_ok=True)
    partition_file(layout).write_text(json.dumps({"spec": spec, "cut": cut, "since": time.time()}))
    return cut


def heal_partition(layout: str) -> bool:
    """Every link back; False when nothing was cut."""
    was = current_partition(layout) is not None
    if in_private_netns() and shutil.which("nft"):
        table = partition_table(layout)
        _nft(f"table inet {table}\ndelete table inet {table}\n")
    elif was:
        raise LauncherError(
            f"a partition is recorded but cannot be healed from here: run `heal` under "
            f"`ip netns exec {NETNS}`"
        )
    partition_file(layout).unlink(missing_ok=True)
    return was


def nodes_for(layout: str) -> list[Node]:
    total = LAYOUTS[layout][0]
    return [Node(layout, i, total) for i in range(1, total + 1)]


def added_nodes(layout: str) -> list[Node]:
    """The nodes `add-node` started beyond the layout's own (they have a folder). Layouts
    spread over data centres have none: their nodes are one per DC."""
    total = LAYOUTS[layout][0]
    if layout in DATA_CENTRES:
        return []
    extra = [Node(layout, i, total) for i in range(total + 1, MAX_NODES + 1)]
    return [n for n in extra if n.home.exists()]


def all_nodes(layout: str) -> list[Node]:
    return nodes_for(layout) + added_nodes(layout)


# --------------------------------------------------------------------------------------------
# Membership: nodetool (from the cassandra-all jar) over each node's loopback JMX port

NODETOOL_LOGBACK = """<configuration scan="false">
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%-5level %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR"/></root>
</configuration>
"""


def nodetool(node: Node, *args: str, timeout: float = 120.0) -> str:
    """Run `nodetool ARGS` against `node`'s JMX port; its output, or LauncherError."""
    lib = ensure_jars()
    conf = STATE_ROOT / "nodetool-logback.xml"
    STATE_ROOT.mkdir(parents=True, exist_ok=True)
    if not conf.exists():
        conf.write_text(NODETOOL_LOGBACK)
    cmd = [
        find_java17(),
        "-Xmx128m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        *JVM17_FLAGS,
        f"-Dlogback.configurationFile={conf}",
        "-cp",
        f"{lib}/*",
        "org.apache.cassandra.tools.NodeTool",
        "-h",
        "127.0.0.1",
        "-p",
        str(node.jmx_port),
        *args,
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise LauncherError(
            f"nodetool {' '.join(args)} on node {node.index} gave no answer in {timeout:.0f}s"
        ) from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise LauncherError(f"nodetool {' '.join(args)} on node {node.index} failed:\n{tail}")
    return done.stdout


def parse_ring(status: str) -> dict[str, str]:
    """`nodetool status` text -> address -> its two-letter state (UN up and normal, UJ
    joining, UL leaving, DN down...)."""
    ring: dict[str, str] = {}
    for line in status.splitlines():
        fields = line.split()
        if (
            len(fields) >= 2
            and len(fields[0]) == 2
            and fields[0][0] in "UD"
            and fields[0][1] in "NLJM"
            and fields[1].count(".") == 3
        ):
            ring[fields[1].split(":")[0]] = fields[0]
    return ring


def ring_view(layout: str, exclude: int | None = None) -> dict[str, str]:
    """The ring as the first running node (other than `exclude`) sees it."""
    for node in nodes_for(layout):
        if node.index != exclude and node.pid() is not None and not node.is_paused():
            return parse_ring(nodetool(node, "status"))
    raise LauncherError(f"no running {layout} node to ask about the ring")


def wait_ring(
    layout: str, address: str, wanted: str | None, budget: float, exclude: int | None = None
) -> float:
    """Wait until the ring shows `address` in state `wanted` (None: absent); seconds taken."""
    start = time.monotonic()
    seen: dict[str, str] = {}
    while time.monotonic() - start < budget:
        try:
            seen = ring_view(layout, exclude)
        except LauncherError as exc:
            say(f"ring: {exc}")
        else:
            if seen.get(address) == wanted:
                return time.monotonic() - start
        time.sleep(2)
    raise LauncherError(
        f"{address} is not {wanted or 'gone'} in the ring after {budget:.0f}s: {seen}"
    )


def ring_disagreement(nodes: list[Node]) -> dict[int, object]:
    """Node index -> what it sees wrong (a member not "UN", or why it could not be asked);
    empty when every node sees every member of `nodes` up and normal."""
    wanted = {n.address for n in nodes}
    behind: dict[int, object] = {}
    for node in nodes:
        try:
            seen = parse_ring(nodetool(node, "status", timeout=60))
        except LauncherError as exc:
            behind[node.index] = str(exc).splitlines()[0]
            continue
        wrong = {a: seen.get(a, "absent") for a in sorted(wanted) if seen.get(a) != "UN"}
        if wrong:
            behind[node.index] = wrong
    return behind


def wait_ring_agreed(nodes: list[Node], budget: float) -> tuple[float, dict[int, object]]:
    """Ask every node for the ring until each sees every member up and normal, at most
    `budget` seconds: (seconds taken, what is still wrong: empty when agreed)."""
    start = time.monotonic()
    while True:
        behind = ring_disagreement(nodes)
        if not behind or time.monotonic() - start >= budget:
            return time.monotonic() - start, behind
        time.sleep(2)


def wipe_data(node: Node) -> None:
    """A node's data, commit log, hints and caches removed; its logs and settings stay (the
    server's own alarm is read from the logs)."""
    for sub in ("data", "commitlog", "hints", "saved_caches"):
        shutil.rmtree(node.home / sub, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Commands


RING_AGREE_S = 60.0  # how long `up` waits for every node to see every member up and normal


def cmd_up(args: argparse.Namespace) -> int:
    layout = "cluster" if args.nodes == 3 else args.layout
    # Nodes added with `add-node` and not decommissioned are members: they restart too.
    nodes = nodes_for(layout) + [n for n in added_nodes(layout) if not n.has_left()]
    running = [n for n in nodes if n.pid() is not None]
    if len(running) == len(nodes) and all(cql_answers(n.address, n.cql_port) for n in nodes):
        say(f"{layout} node(s) already running and answering CQL; nothing to do")
        return 0
    first = nodes[0]
    if not running and cql_answers(first.address, first.cql_port):
        say(f"something else already answers CQL on {first.address}:{first.cql_port}; using it")
        return 0
    java = find_java17()
    t0 = time.monotonic()
    lib = ensure_jars()
    fetched = time.monotonic() - t0
    heap = args.heap or ("768m" if layout == "single" else "512m")

    def start(node: Node) -> float:
        node.start(
            java,
            lib,
            auth=args.auth or node.auth,
            paxos=args.paxos,
            heap=heap,
            purging=args.paxos_purging,
            clock=args.clock,
        )
        return node.wait_ready()

    for node in nodes:
        waited = start(node)
        where = f" ({node.dc})" if node.dc else ""
        say(
            f"node {node.index}{where} answers CQL on {node.address}:{node.cql_port} "
            f"after {waited:.1f}s"
        )
    if len(nodes) > 1:
        # CQL answering on every node is not a cluster: a node that never took another's
        # tokens (seen once on a loaded machine: each node a ring of its own) replicates to
        # itself alone, and a quorum of one proves nothing. Every node must see every member
        # up and normal; one that does not after RING_AGREE_S is restarted, once.
        took, behind = wait_ring_agreed(nodes, RING_AGREE_S)
        if behind:
            last = nodes[-1]
            say(f"ring: not agreed after {took:.0f}s ({behind}); restarting node {last.index}")
            last.stop()
            start(last)
            took, behind = wait_ring_agreed(nodes, RING_AGREE_S)
            if behind:
                raise LauncherError(f"the {layout} ring does not agree after a restart: {behind}")
        say(f"ring: every node sees {len(nodes)} members up and normal ({took:.1f}s)")
    total = time.monotonic() - t0
    say(
        f"ready: {len(nodes)} node(s) in {total:.1f}s (jar resolution {fetched:.1f}s); "
        f"logs under {nodes[0].home.parent}"
    )
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stopped = 0
    layouts = tuple(LAYOUTS) if args.layout == "all" else (args.layout,)
    for layout in layouts:
        for node in reversed(all_nodes(layout)):
            if node.pid() is not None:
                node.stop()
                stopped += 1
    say(f"stopped {stopped} node(s)" if stopped else "no node was running")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    cmd_down(args)
    if STATE_ROOT.exists():
        shutil.rmtree(STATE_ROOT)
        say(f"deleted {STATE_ROOT}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    rows = []
    for layout in LAYOUTS:
        for node in all_nodes(layout):
            pid = node.pid()
            if pid is None and not node.home.exists():
                continue
            state = "stopped" if pid is None else ("paused" if node.is_paused() else "running")
            if pid is None and node.has_left():
                state = "left"
            answers = (
                pid is not None and state == "running" and cql_answers(node.address, node.cql_port)
            )
            rss = node.rss_mib()
            cut = (current_partition(layout) or {}).get("cut", [])
            assert isinstance(cut, list)
            rows.append(
                {
                    "layout": layout,
                    "node": node.index,
                    "address": f"{node.address}:{node.cql_port}",
                    "dc": node.dc,
                    "pid": pid,
                    "state": state,
                    "cql": answers,
                    "rss_mib": round(rss, 1) if rss else None,
                    # The nodes this one cannot reach (partition), and its clock's offset.
                    "cut_from": sorted(
                        b if a == node.index else a for a, b in cut if node.index in (a, b)
                    ),
                    "clock": node.clock(),
                }
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no local Cassandra node has been started")
    else:
        for r in rows:
            rss = f"{r['rss_mib']:.0f} MiB" if r["rss_mib"] else "-"
            dc = f" dc={r['dc']}" if r["dc"] else ""
            clock = f" clock={r['clock']}s" if r["clock"] else ""
            print(
                f"{r['layout']:8} node{r['node']} {r['address']:15} {r['state']:8} "
                f"cql={'yes' if r['cql'] else 'no ':3} pid={r['pid'] or '-'} rss={rss}{dc}"
                f"{clock}"
            )
    if not args.json:
        for layout in LAYOUTS:
            state = current_partition(layout)
            if state is not None:
                links = ", ".join(f"{a}-{b}" for a, b in state["cut"])  # type: ignore[attr-defined]
                print(f"{layout:8} partition {state['spec']}: links cut {links or '(none)'}")
    return 0


def cmd_partition(args: argparse.Namespace) -> int:
    cut = apply_partition(args.layout, args.spec)
    links = ", ".join(f"{a}-{b}" for a, b in cut) or "(none)"
    say(f"{args.layout}: partition {args.spec}: links cut on the storage port: {links}")
    return 0


def cmd_heal(args: argparse.Namespace) -> int:
    healed = heal_partition(args.layout)
    say(f"{args.layout}: every link restored" if healed else f"{args.layout}: nothing was cut")
    return 0


def netns_pids(name: str) -> list[int]:
    """The processes running in the named namespace (`ip netns pids`)."""
    done = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def cmd_netns(args: argparse.Namespace) -> int:
    missing = netns_missing()
    if missing:
        raise LauncherError(
            "network partitions need " + "; ".join(missing) + ". Nothing was started."
        )
    exists = Path(f"/run/netns/{NETNS}").exists()
    if args.action == "check":
        say(f"namespace {NETNS}: {'present' if exists else 'absent'}; ip and nft found")
        return 0
    if args.action == "down":
        if exists:
            inside = netns_pids(NETNS)
            if inside and not args.force:
                raise LauncherError(
                    f"namespace {NETNS} still has {len(inside)} process(es) running in it "
                    f"(pids {', '.join(map(str, inside[:5]))}): stop its nodes first (`ip netns "
                    f"exec {NETNS} ... down --layout L`), or pass --force. Nothing was deleted."
                )
            subprocess.run(["ip", "netns", "delete", NETNS], check=True)
            say(f"namespace {NETNS} deleted")
        return 0
    # up: the jars first (Maven needs the network, the namespace has none), then the
    # namespace with its loopback up, and proof that nft works in it.
    ensure_jars()
    find_java17()
    if not exists:
        subprocess.run(["ip", "netns", "add", NETNS], check=True)
    inside = ["ip", "netns", "exec", NETNS]
    subprocess.run([*inside, "ip", "link", "set", "lo", "up"], check=True)
    probe = subprocess.run([*inside, "nft", "list", "tables"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise LauncherError(f"nft does not work inside {NETNS}: {probe.stderr.strip()}")
    say(
        f"namespace {NETNS} ready (loopback up, nftables answers); run commands in it with "
        f"`ip netns exec {NETNS} ...`"
    )
    return 0


VIOLATION_MARK = "Linearizability violation"


def server_violations(layout: str) -> list[dict[str, object]]:
    """Every linearizability violation the nodes of `layout` logged, oldest log first."""
    found: list[dict[str, object]] = []
    for node in all_nodes(layout):
        logs = sorted(Path(node.logdir).glob("system*.log"))
        for log in logs:
            with log.open(encoding="utf-8", errors="replace") as lines:
                for number, line in enumerate(lines, start=1):
                    if VIOLATION_MARK in line:
                        found.append(
                            {
                                "node": node.index,
                                "log": str(log),
                                "line": number,
                                "text": line.strip()[:2000],
                            }
                        )
    return found


def cmd_violations(args: argparse.Namespace) -> int:
    found = server_violations(args.layout)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print(f"{len(found)} linearizability violation(s) logged by the {args.layout} nodes")
        for item in found[: args.show]:
            print(f"node{item['node']} {item['log']}:{item['line']}: {item['text']}")
    return 0


def _cluster_node(index: int, layout: str) -> Node:
    nodes = nodes_for(layout)
    added = {n.index: n for n in added_nodes(layout)}
    if index in added:
        return added[index]
    if not 1 <= index <= len(nodes):
        more = f" (added: {', '.join(map(str, added))})" if added else ""
        raise LauncherError(f"the {layout} layout has nodes 1..{len(nodes)}{more}, not {index}")
    return nodes[index - 1]


def node_settings(node: Node) -> dict[str, object]:
    """What a node was last started with (auth, paxos, purging), defaults where unknown."""
    settings: dict[str, object] = {"auth": False, "paxos": "v2"}
    started = node.home / "started.json"
    if started.exists():
        settings.update(json.loads(started.read_text()))
    return settings


def cmd_add_node(args: argparse.Namespace) -> int:
    """Bootstrap a node into the running layout: node N+1 by default (the cluster's node 4 on
    127.0.0.4), or a decommissioned node back under its own token. Waits until it answers CQL
    and the ring shows it Up and Normal."""
    layout = args.layout
    if layout in DATA_CENTRES:
        raise LauncherError(f"add-node grows a single-DC layout, not {layout}")
    total = LAYOUTS[layout][0]
    base = nodes_for(layout)
    index = args.index
    if index is None:
        taken = {n.index for n in base} | {
            n.index for n in added_nodes(layout) if n.pid() is not None or not n.has_left()
        }
        index = next(i for i in range(1, MAX_NODES + 2) if i not in taken)
    if not 2 <= index <= MAX_NODES:
        raise LauncherError(f"add-node: a node from 2 to {MAX_NODES} (node 1 is the seed)")
    node = Node(layout, index, total)
    if node.pid() is not None:
        raise LauncherError(f"node {index} is already running")
    if index <= total and not node.has_left():
        raise LauncherError(
            f"node {index} is one of the layout's own nodes and has not left the ring: "
            f"`start-node {index}` starts it"
        )
    # A bootstrap needs every member up (consistent range movement): say so before starting.
    down = [n.index for n in base if n.index != index and not n.has_left() and n.pid() is None]
    if down:
        raise LauncherError(f"nodes {down} are not running: a bootstrap needs every member up")
    if node.address in ring_view(layout):
        raise LauncherError(f"{node.address} is still in the ring: decommission it first")
    wipe_data(node)
    node.left_file.unlink(missing_ok=True)
    settings = node_settings(base[0])
    t0 = time.monotonic()
    node.start(
        find_java17(),
        ensure_jars(),
        bool(settings["auth"]),
        str(settings["paxos"]),
        args.heap,
        settings.get("purging"),  # type: ignore[arg-type]
        bootstrap=True,
    )
    say(f"node {index} bootstrapping on {node.address} (token {node.token})")
    node.wait_ready(budget=MEMBERSHIP_BUDGET_S)
    answered = time.monotonic() - t0
    wait_ring(layout, node.address, "UN", max(60.0, MEMBERSHIP_BUDGET_S - answered))
    say(
        f"node {index} joined: answers CQL after {answered:.1f}s, Up/Normal in the ring "
        f"after {time.monotonic() - t0:.1f}s"
    )
    return 0


def cmd_decommission(args: argparse.Namespace) -> int:
    """A real decommission: the node streams its ranges to the nodes that take them over and
    leaves the ring (nodetool decommission, over JMX); then it is stopped and its data
    removed, its logs kept."""
    layout = args.layout
    node = _cluster_node(args.index, layout)
    if node.index == 1:
        raise LauncherError("node 1 is the seed and the clients' first contact: not node 1")
    if node.pid() is None:
        raise LauncherError(f"node {node.index} is not running")
    t0 = time.monotonic()
    say(f"node {node.index}: decommissioning (streaming its ranges away) ...")
    nodetool(node, "decommission", timeout=MEMBERSHIP_BUDGET_S)
    streamed = time.monotonic() - t0
    wait_ring(layout, node.address, None, 120.0, exclude=node.index)
    node.stop()
    wipe_data(node)
    node.left_file.write_text(json.dumps({"since": time.time(), "seconds": streamed}))
    say(
        f"node {node.index} decommissioned in {streamed:.1f}s, gone from the ring after "
        f"{time.monotonic() - t0:.1f}s; stopped, data removed, logs kept"
    )
    return 0


def cmd_ring(args: argparse.Namespace) -> int:
    ring = ring_view(args.layout)
    if args.json:
        print(json.dumps(ring, indent=2))
    else:
        for address, state in sorted(ring.items()):
            print(f"{state} {address}")
    return 0


def cmd_node(args: argparse.Namespace) -> int:
    node = _cluster_node(args.index, args.layout)
    action = args.command
    if action == "start-node":
        settings = node_settings(node)
        node.start(
            find_java17(),
            ensure_jars(),
            bool(settings["auth"]),
            str(settings["paxos"]),
            "512m",
            settings.get("purging"),
            clock=args.clock,
        )
        say(f"node {node.index} answers after {node.wait_ready():.1f}s")
    elif action == "clock-node":
        if node.clock() is None:
            raise LauncherError(
                f"node {node.index} was not started under libfaketime: stop it, then "
                f"`start-node {node.index} --clock OFFSET`"
            )
        node.clock_file.write_text(clock_offset(args.offset) + "\n")
        say(f"node {node.index}: clock offset now {node.clock()}s (applied within 1 s)")
    elif action == "stop-node":
        node.stop()
        say(f"node {node.index} stopped")
    else:
        sig = {
            "kill-node": signal.SIGKILL,
            "pause-node": signal.SIGSTOP,
            "resume-node": signal.SIGCONT,
        }[action]
        if not node.signal(sig):
            raise LauncherError(f"node {node.index} is not running")
        if sig == signal.SIGKILL:
            while node.pid() is not None:
                time.sleep(0.1)
            node.pidfile.unlink(missing_ok=True)
        say(f"node {node.index}: sent {signal.Signals(sig).name}")
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    start = time.monotonic()
    while time.monotonic() - start < args.timeout:
        if cql_answers(args.host, args.port):
            say(f"{args.host}:{args.port} answers CQL after {time.monotonic() - start:.1f}s")
            return 0
        time.sleep(1)
    raise LauncherError(f"{args.host}:{args.port} did not answer CQL within {args.timeout:.0f}s")


def cmd_ping(args: argparse.Namespace) -> int:
    return 0 if cql_answers(args.host, args.port) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start node(s) and wait until CQL answers")
    up.add_argument("--layout", choices=tuple(LAYOUTS), default="single")
    up.add_argument("--nodes", type=int, choices=(1, 3), default=1, help="3: the cluster layout")
    up.add_argument(
        "--auth", action="store_true", help="PasswordAuthenticator (cassandra/cassandra)"
    )
    up.add_argument("--paxos", choices=("v1", "v2"), default="v2")
    up.add_argument("--heap", default=None, help="JVM heap per node, e.g. 768m")
    up.add_argument(
        "--paxos-purging",
        choices=("legacy", "gc_grace", "repaired"),
        default=None,
        help="paxos_state_purging (repaired: a v2 commit may run at ANY)",
    )
    up.add_argument(
        "--clock",
        default=None,
        help="every node under libfaketime at this offset (e.g. --clock=+0s), so that "
        "`clock-node` can move any node's clock later without a restart",
    )
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop nodes, keep the data")
    down.add_argument("--layout", choices=("all", *LAYOUTS), default="all")
    down.set_defaults(func=cmd_down)
    clean = sub.add_parser("clean", help="stop every node and delete all data")
    clean.set_defaults(func=cmd_clean, layout="all")
    status = sub.add_parser("status", help="which nodes run, answer CQL, and their RSS")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    wait = sub.add_parser("wait", help="wait until a CQL node answers (any kind)")
    wait.add_argument("--host", default="127.0.0.1")
    wait.add_argument("--port", type=int, default=CQL_PORT)
    wait.add_argument("--timeout", type=float, default=START_BUDGET_S)
    wait.set_defaults(func=cmd_wait)
    ping = sub.add_parser("ping", help="exit 0 when a CQL node answers now")
    ping.add_argument("--host", default="127.0.0.1")
    ping.add_argument("--port", type=int, default=CQL_PORT)
    ping.set_defaults(func=cmd_ping)
    violations = sub.add_parser(
        "violations",
        help="the linearizability violations the nodes' Paxos detected and logged "
        "(paxos_on_linearizability_violations: log)",
    )
    violations.add_argument("--layout", choices=tuple(LAYOUTS), default="cluster")
    violations.add_argument("--json", action="store_true")
    violations.add_argument("--show", type=int, default=5, help="lines shown (default 5)")
    violations.set_defaults(func=cmd_violations)
    for name in (
        "start-node",
        "stop-node",
        "kill-node",
        "pause-node",
        "resume-node",
        "clock-node",
    ):
        p = sub.add_parser(name, help=f"{name.split('-')[0]} one node of the running layout")
        p.add_argument("index", type=int)
        p.add_argument("--layout", choices=tuple(LAYOUTS), default="cluster")
        if name == "start-node":
            p.add_argument(
                "--clock",
                default=None,
                help="start under libfaketime with this wall-clock offset, e.g. -30s, +5s",
            )
        if name == "clock-node":
            p.add_argument("offset", help="the new offset of a node started with --clock")
        p.set_defaults(func=cmd_node)
    add = sub.add_parser(
        "add-node",
        help="bootstrap a node into the running layout (default: the next one, e.g. node 4 "
        "on 127.0.0.4) and wait until it is Up/Normal and answers CQL",
    )
    add.add_argument("index", type=int, nargs="?", default=None)
    add.add_argument("--layout", choices=tuple(LAYOUTS), default="cluster")
    add.add_argument("--heap", default="512m")
    add.set_defaults(func=cmd_add_node)
    decom = sub.add_parser(
        "decommission",
        help="nodetool decommission: the node streams its data away and leaves the ring; "
        "then it is stopped and its data removed",
    )
    decom.add_argument("index", type=int)
    decom.add_argument("--layout", choices=tuple(LAYOUTS), default="cluster")
    decom.set_defaults(func=cmd_decommission)
    ring = sub.add_parser("ring", help="the ring (address, state) as the first node sees it")
    ring.add_argument("--layout", choices=tuple(LAYOUTS), default="cluster")
    ring.add_argument("--json", action="store_true")
    ring.set_defaults(func=cmd_ring)
    part = sub.add_parser(
        "partition",
        help="cut links between nodes on the storage port (inside a private network "
        "namespace only): '1|2,3', '1,2|3', 'bridge 2'",
    )
    part.add_argument("spec")
    part.add_argument("--layout", choices=tuple(LAYOUTS), default="cluster")
    part.set_defaults(func=cmd_partition)
    heal = sub.add_parser("heal", help="restore every link the last partition cut")
    heal.add_argument("--layout", choices=tuple(LAYOUTS), default="cluster")
    heal.set_defaults(func=cmd_heal)
    netns = sub.add_parser(
        "netns",
        help=f"the private network namespace ({NETNS}) partitions run in: up, down, check",
    )
    netns.add_argument("action", choices=("up", "down", "check"))
    netns.add_argument(
        "--force", action="store_true", help="down: delete it even with processes inside"
    )
    netns.set_defaults(func=cmd_netns)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LauncherError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
