"""Authentication and transport.

- Username/password (SCYLLA_USERNAME / SCYLLA_PASSWORD) against the node started with
  PasswordAuthenticator (127.0.0.1:9242, role cassandra/cassandra): the right ones work; a wrong
  password, an unknown role or no credentials give one clear line and exit code 3; the password
  never appears in stdout, stderr, the driver's and our logs, exception texts and tracebacks,
  nor in the database node's own log.
- TLS (SCYLLA_SSL_CA_FILE, SCYLLA_SSL_CERT_FILE, SCYLLA_SSL_KEY_FILE): the files reach the
  driver as an ssl.SSLContext that trusts the CA and presents the client certificate (proved by
  a real handshake with a local TLS socket that requires it); a missing or unusable file is a
  clear error; pointed at a plaintext node, the driver really speaks TLS and fails cleanly.
  No TLS-enabled Cassandra is needed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cassandra.cluster import Cluster

from registry_tui.core.config import Settings, settings_from_env
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.store import cluster_options, open_connection, ssl_context
from registry_tui.core.validation import ValidationError
from tests.conftest import unique
from tests.faults.conftest import AUTH_HOST, AUTH_PORT, REGISTRY_CLI, fault_keyspace

SECRET = "s3cr3t-" + uuid.uuid4().hex  # a wrong password: it must never be shown anywhere
CASSANDRA_HOME = Path(
    os.environ.get(
        "REGISTRY_CASSANDRA_HOME", Path(__file__).resolve().parents[2] / ".local" / "cassandra"
    )
)


@pytest.fixture(scope="module")
def auth_env(auth_settings: Settings) -> Iterator[dict[str, str]]:
    """The CLI's environment for the auth node, with the right credentials and a keyspace of
    this module's own (dropped at the end)."""
    keyspace = fault_keyspace("auth")
    env = dict(os.environ)
    env.update(
        SCYLLA_HOSTS=AUTH_HOST,
        SCYLLA_PORT=str(AUTH_PORT),
        SCYLLA_KEYSPACE=keyspace,
        SCYLLA_USERNAME=auth_settings.username or "",
        SCYLLA_PASSWORD=auth_settings.password or "",
    )
    for name in ("SCYLLA_SSL_CA_FILE", "SCYLLA_SSL_CERT_FILE", "SCYLLA_SSL_KEY_FILE"):
        env.pop(name, None)
    yield env
    cluster = Cluster(**cluster_options(auth_settings))
    try:
        session = cluster.connect()
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
    finally:
        cluster.shutdown()


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REGISTRY_CLI), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


# ----------------------------------------------------------------------------------------------
# Username and password


def test_right_credentials_register_and_read(auth_env: dict[str, str]) -> None:
    name = unique("auth")
    args = ["users", "register", name, "--email", f"{name}@registry.galaxy"]
    proc = cli(auth_env, *args, "--display-name", "Agent", "--dimension", "Dimension-6", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == {"applied": True, "username": name}
    proc = cli(auth_env, "users", "get", name, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["username"] == name


REFUSED = {
    "wrong password": {"SCYLLA_USERNAME": "cassandra", "SCYLLA_PASSWORD": SECRET},
    "unknown role": {
        "SCYLLA_USERNAME": "doppel9-" + uuid.uuid4().hex[:6],
        "SCYLLA_PASSWORD": SECRET,
    },
    "no credentials": {"SCYLLA_USERNAME": "", "SCYLLA_PASSWORD": ""},
}
COMMANDS = [
    ["users", "get", "agent-cipher-007"],
    ["users", "register", "agent-cipher-007", "--email", "c@registry.galaxy", "--display-name", "A", "--dimension", "D"],
    ["users", "list"],
    ["profiles", "update", "00000000-0000-4000-8000-000000000000", "--bio", "x"],
    ["seed", "--count", "2"],
    ["race", "--usernames", "2", "--clones", "1"],
]  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED))
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_refused_credentials_are_one_clear_line_and_exit_3(
    auth_env: dict[str, str], case: str, args: list[str]
) -> None:
    env = dict(auth_env, **REFUSED[case])
    for as_json in (False, True):
        started = time.monotonic()
        proc = cli(env, *args, *(["--json"] if as_json else []))
        everything = proc.stdout + proc.stderr
        assert SECRET not in everything
        assert proc.returncode == 3, everything
        assert time.monotonic() - started < 20
        assert "Traceback" not in everything and 'File "' not in everything, everything
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr  # no "is a database running?" hint: it is running
        assert lines[0].startswith("error: cannot connect to 127.0.0.1:9242"), lines[0]
        assert "authentication failed" in lines[0], lines[0]
        assert "SCYLLA_USERNAME/SCYLLA_PASSWORD" in lines[0], lines[0]
        if as_json:
            doc = json.loads(proc.stdout)
            assert doc["detail"]["error"] == "database_unavailable"
            assert "authentication failed" in doc["detail"]["message"]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())
        if record.exc_info:
            self.texts.append("".join(traceback.format_exception(*record.exc_info)))


@contextlib.contextmanager
def every_log_record() -> Iterator[_Collect]:
    """Everything logged at DEBUG by any logger (our driver loggers do not propagate)."""
    handler = _Collect()
    names = ["", "cassandra", "coodie", "registry_tui", "asyncio"]
    saved = {n: logging.getLogger(n).level for n in names}
    for name in names:
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for name in names:
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(saved[name])


async def test_password_never_in_errors_logs_or_tracebacks(auth_settings: Settings) -> None:
    settings = auth_settings.with_overrides(password=SECRET, keyspace=fault_keyspace("authx"))
    assert SECRET not in repr(settings) + str(settings) + settings.describe()
    assert SECRET not in repr(cluster_options(settings))
    with every_log_record() as logged, pytest.raises(DatabaseUnavailable) as caught:
        await open_connection(settings)
    exc = caught.value
    shown = [
        exc.message,
        str(exc),
        repr(exc),
        exc.hosts,
        "".join(traceback.format_exception(exc)),  # with its __cause__/__context__ chain
    ]
    assert "authentication failed" in exc.message
    assert logged.texts, "the driver logged nothing: the capture is not working"
    for text in shown + logged.texts:
        assert SECRET not in text


def test_password_never_in_the_database_log(auth_env: dict[str, str]) -> None:
    env = dict(auth_env, SCYLLA_PASSWORD=SECRET)
    assert cli(env, "users", "get", "agent-cipher-007").returncode == 3
    logs = CASSANDRA_HOME / "auth" / "node1" / "logs"
    texts = [p.read_text(errors="replace") for p in logs.glob("*.log")]
    texts += [p.read_text(errors="replace") for p in logs.glob("node.out")]
    assert texts, f"no node log under {logs}"
    assert all(SECRET not in text for text in texts)


# ----------------------------------------------------------------------------------------------
# TLS settings


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    other_server_cert: Path
    other_server_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _issue(cwd: Path, ca: str, name: str, cn: str, ext: str) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=cwd)  # fmt: skip
    (cwd / f"{name}.ext").write_text(ext + "\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=cwd)  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server and a client certificate signed by it, and a second, unrelated CA."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    d = tmp_path_factory.mktemp("pki")
    for ca, cn in (("ca", "registry-test-ca"), ("other", "doppel9-rogue-ca")):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN={cn}", cwd=d)  # fmt: skip
    _issue(d, "ca", "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1")
    _issue(d, "ca", "client", "registry-client", "extendedKeyUsage=clientAuth")
    _issue(d, "other", "rogue", "127.0.0.1", "subjectAltName=IP:127.0.0.1")
    return Pki(
        d / "ca.pem",
        d / "server.pem",
        d / "server.key",
        d / "client.pem",
        d / "client.key",
        d / "other.pem",
        d / "rogue.pem",
        d / "rogue.key",
    )


def tls_settings(pki: Pki) -> Settings:
    return settings_from_env(
        {
            "SCYLLA_SSL_CA_FILE": str(pki.ca),
            "SCYLLA_SSL_CERT_FILE": str(pki.client_cert),
            "SCYLLA_SSL_KEY_FILE": str(pki.client_key),
        }
    )


def test_tls_files_reach_the_driver(pki: Pki) -> None:
    settings = tls_settings(pki)
    options = cluster_options(settings)
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    subjects = [dict(item[0] for item in c["subject"]) for c in context.get_ca_certs()]
    assert {"commonName": "registry-test-ca"} in subjects
    cluster = Cluster(**options)  # built, not connected
    try:
        assert cluster.ssl_context is context
    finally:
        cluster.shutdown()
    assert "ssl_context" not in cluster_options(Settings())  # no TLS unless asked


def _serve_once(context: ssl.SSLContext, listener: socket.socket, seen: dict[str, object]) -> None:
    with contextlib.suppress(OSError, ssl.SSLError):
        conn, _ = listener.accept()
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                seen["peer"] = tls.getpeercert()
                tls.sendall(b"ok")
        except (OSError, ssl.SSLError) as exc:
            seen["error"] = exc


def _handshake(client: ssl.SSLContext, cert: Path, key: Path, ca: Path) -> dict[str, object]:
    """A TLS server on 127.0.0.1 that requires a client certificate signed by `ca`; the
    client connects with `client`. Returns what the server saw."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_cert_chain(str(cert), str(key))
    seen: dict[str, object] = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]
        thread = threading.Thread(target=_serve_once, args=(server, listener, seen), daemon=True)
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                client.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                seen["reply"] = tls.recv(2)
        except (OSError, ssl.SSLError) as exc:
            seen["client_error"] = exc
        thread.join(10)
    return seen


def test_tls_context_trusts_the_ca_and_presents_the_client_certificate(pki: Pki) -> None:
    context = ssl_context(tls_settings(pki))
    assert context is not None
    seen = _handshake(context, pki.server_cert, pki.server_key, pki.ca)
    assert seen.get("reply") == b"ok", seen
    peer = seen["peer"]
    assert isinstance(peer, dict)
    assert dict(item[0] for item in peer["subject"]) == {"commonName": "registry-client"}


def test_tls_context_refuses_a_server_from_another_ca(pki: Pki) -> None:
    context = ssl_context(tls_settings(pki))
    assert context is not None
    seen = _handshake(context, pki.other_server_cert, pki.other_server_key, pki.ca)
    assert isinstance(seen.get("client_error"), ssl.SSLCertVerificationError), seen
    assert "reply" not in seen


@pytest.mark.parametrize(
    "missing", ["SCYLLA_SSL_CA_FILE", "SCYLLA_SSL_CERT_FILE", "SCYLLA_SSL_KEY_FILE"]
)
def test_a_missing_tls_file_is_a_clear_error_naming_it(pki: Pki, missing: str) -> None:
    env = {
        "SCYLLA_SSL_CA_FILE": str(pki.ca),
        "SCYLLA_SSL_CERT_FILE": str(pki.client_cert),
        "SCYLLA_SSL_KEY_FILE": str(pki.client_key),
    }
    absent = pki.ca.parent / f"absent-{missing.lower()}.pem"
    env[missing] = str(absent)
    with pytest.raises(ValidationError) as caught:
        ssl_context(settings_from_env(env))
    assert caught.value.field == "tls"
    assert str(absent) in caught.value.message, caught.value.message


def test_a_certificate_without_its_key_is_a_clear_error(pki: Pki) -> None:
    settings = settings_from_env(
        {"SCYLLA_SSL_CA_FILE": str(pki.ca), "SCYLLA_SSL_CERT_FILE": str(pki.client_cert)}
    )
    with pytest.raises(ValidationError) as caught:
        ssl_context(settings)
    assert caught.value.field == "tls"
    message = caught.value.message
    assert str(pki.client_cert) in message and "key" in message.lower(), message


def test_a_key_without_its_certificate_is_refused_not_ignored(pki: Pki) -> None:
    settings = settings_from_env({"SCYLLA_SSL_KEY_FILE": str(pki.client_key)})
    with pytest.raises(ValidationError) as caught:
        cluster_options(settings)
    assert caught.value.field == "tls"


def test_cli_tls_file_missing_exits_2(auth_env: dict[str, str], pki: Pki) -> None:
    absent = pki.ca.parent / "absent-ca.pem"
    proc = cli(dict(auth_env, SCYLLA_SSL_CA_FILE=str(absent)), "users", "get", "agent-cipher-007")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: invalid tls: "), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_cli_tls_against_a_plaintext_node_fails_cleanly(auth_env: dict[str, str], pki: Pki) -> None:
    # The auth node speaks plaintext CQL: a driver that really uses the TLS settings fails
    # its handshake there (a driver that ignored them would connect).
    env = dict(
        auth_env,
        SCYLLA_SSL_CA_FILE=str(pki.ca),
        SCYLLA_SSL_CERT_FILE=str(pki.client_cert),
        SCYLLA_SSL_KEY_FILE=str(pki.client_key),
        SCYLLA_PASSWORD=SECRET,
    )
    proc = cli(env, "users", "get", "agent-cipher-007", timeout=60)
    everything = proc.stdout + proc.stderr
    assert proc.returncode == 3, everything
    assert "Traceback" not in everything and SECRET not in everything
    first = proc.stderr.splitlines()[0]
    assert first.startswith("error: cannot connect to 127.0.0.1:9242"), first
    assert "SSL" in first or "TLS" in first, first
