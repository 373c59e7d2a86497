"""Connection settings: environment variables, overridden by CLI flags."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from registry_tui.core.validation import ValidationError


@dataclass(frozen=True)
class Settings:
    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 9042
    keyspace: str = "registry"
    replication_factor: int = 1
    local_dc: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_ca_file: Path | None = None
    ssl_cert_file: Path | None = None
    ssl_key_file: Path | None = None
    connect_timeout: float = 5.0
    request_timeout: float = 6.0
    # Signs list cursors (REGISTRY_CURSOR_KEY). None: a key kept per user on disk (core.cursor).
    cursor_key: str | None = field(default=None, repr=False)
    # The guarantee: "global" (SERIAL Paxos, QUORUM commits: one owner per name in the whole
    # cluster) or "local" (LOCAL_SERIAL + LOCAL_QUORUM: one owner per name per data centre).
    serial: str = "global"
    # Replication of a keyspace this registry creates, per data centre (SCYLLA_REPLICATION);
    # empty: SimpleStrategy with replication_factor.
    replication: tuple[tuple[str, int], ...] = ()
    # The connection profile these settings start from (--profile / REGISTRY_PROFILE), if any.
    profile: str | None = None
    # The commit level of a conditional write (SCYLLA_LWT_COMMIT): "quorum" (the guarantee's
    # commit level, QUORUM or LOCAL_QUORUM) or "any" (the coordinator answers once its own
    # replica committed; needs Paxos v2 nodes with `paxos_state_purging: repaired`; see
    # docs/guarantees.md "The commit's round"). Plain reads and writes keep their own level.
    lwt_commit: str = "quorum"

    def with_overrides(self, **changes: object) -> Settings:
        given = {k: v for k, v in changes.items() if v is not None}
        if "hosts" in given and isinstance(given["hosts"], str):
            given["hosts"] = parse_hosts(given["hosts"])
        if "serial" in given and isinstance(given["serial"], str):
            given["serial"] = parse_serial(given["serial"])
        if "lwt_commit" in given and isinstance(given["lwt_commit"], str):
            given["lwt_commit"] = parse_lwt_commit(given["lwt_commit"])
        if "replication" in given and isinstance(given["replication"], str):
            given["replication"] = parse_replication(given["replication"])
        return replace(self, **given)  # type: ignore[arg-type]

    def describe(self) -> str:
        """Where we connect, for messages. Never includes the password."""
        hosts = ", ".join(f"{h}:{self.port}" for h in self.hosts)
        who = f" as {self.username}" if self.username else ""
        return f"{hosts} (keyspace {self.keyspace}{who})"


SERIAL_MODES = ("global", "local")
LWT_COMMIT_LEVELS = ("quorum", "any")
_HOST_NAME_RE = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?"
)
_DC_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")


def parse_hosts(raw: str) -> tuple[str, ...]:
    """Contact points: IP addresses or host names, checked for form here (whether a name
    resolves is the connection's question)."""
    hosts = tuple(h.strip() for h in raw.split(",") if h.strip())
    if not hosts:
        raise ValidationError("hosts", "give at least one host, e.g. 127.0.0.1")
    return tuple(_check_host(host) for host in hosts)


def _check_host(host: str) -> str:
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
        return bare
    except ValueError:
        pass
    looks_numeric = bool(re.fullmatch(r"[0-9.]+", bare))
    if looks_numeric or not _HOST_NAME_RE.fullmatch(bare):
        raise ValidationError(
            "hosts",
            f"{host!r} is neither an IP address nor a host name (e.g. 127.0.0.1, ::1, "
            "db1.example.org); give the port with --port / SCYLLA_PORT",
        )
    return bare


def parse_serial(raw: str) -> str:
    value = raw.strip().lower()
    if value not in SERIAL_MODES:
        raise ValidationError(
            "serial",
            f"must be global (one owner per name in the whole cluster) or local (one per "
            f"data centre), not {raw!r}",
        )
    return value


def parse_replication(raw: str) -> tuple[tuple[str, int], ...]:
    """`dc1:3,dc2:3` -> (("dc1", 3), ("dc2", 3))."""
    pairs: list[tuple[str, int]] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        dc, colon, factor = (x.strip() for x in part.partition(":"))
        if not colon or not _DC_RE.fullmatch(dc):
            raise ValidationError(
                "replication", f"{part!r} is not DC:FACTOR (e.g. SCYLLA_REPLICATION=dc1:3,dc2:3)"
            )
        if not factor.isdigit() or not 1 <= int(factor) <= 9:
            raise ValidationError(
                "replication", f"the factor of {dc} must be a whole number 1-9, not {factor!r}"
            )
        if dc in dict(pairs):
            raise ValidationError("replication", f"{dc} is named twice")
        pairs.append((dc, int(factor)))
    if not pairs:
        raise ValidationError("replication", "give DC:FACTOR pairs, e.g. dc1:3,dc2:3")
    return tuple(pairs)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(name, f"must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ValidationError(name, f"must be between {low} and {high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError(name, f"must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 600:
        raise ValidationError(name, "must be between 0 and 600 seconds")
    return value


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else None


def parse_lwt_commit(raw: str) -> str:
    value = raw.strip().lower()
    if value not in LWT_COMMIT_LEVELS:
        raise ValidationError(
            "lwt_commit",
            f"SCYLLA_LWT_COMMIT must be quorum (the default) or any (Paxos v2 nodes with "
            f"paxos_state_purging: repaired), not {raw!r}",
        )
    return value


def check_variable(variable: str, raw: str) -> None:
    """Raise the ValidationError `settings_from_env` would raise for `variable` set to `raw`
    (a profile's values are checked this way where they are read, to name file and line)."""
    settings_from_env({variable: raw})


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        hosts=parse_hosts(env.get("SCYLLA_HOSTS", "127.0.0.1")),
        port=_int(env, "SCYLLA_PORT", 9042, 1, 65535),
        keyspace=env.get("SCYLLA_KEYSPACE", "registry") or "registry",
        replication_factor=_int(env, "SCYLLA_RF", 1, 1, 9),
        local_dc=env.get("SCYLLA_LOCAL_DC") or None,
        username=env.get("SCYLLA_USERNAME") or None,
        password=env.get("SCYLLA_PASSWORD") or None,
        ssl_ca_file=_path(env, "SCYLLA_SSL_CA_FILE"),
        ssl_cert_file=_path(env, "SCYLLA_SSL_CERT_FILE"),
        ssl_key_file=_path(env, "SCYLLA_SSL_KEY_FILE"),
        connect_timeout=_float(env, "SCYLLA_CONNECT_TIMEOUT", 5.0),
        request_timeout=_float(env, "SCYLLA_REQUEST_TIMEOUT", 6.0),
        cursor_key=env.get("REGISTRY_CURSOR_KEY") or None,
        serial=parse_serial(env.get("SCYLLA_SERIAL") or "global"),
        replication=parse_replication(env["SCYLLA_REPLICATION"])
        if env.get("SCYLLA_REPLICATION")
        else (),
        profile=env.get("REGISTRY_PROFILE") or None,
        lwt_commit=parse_lwt_commit(env.get("SCYLLA_LWT_COMMIT") or "quorum"),
    )
