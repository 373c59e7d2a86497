"""Connection settings: environment variables, overridden by CLI flags."""

from __future__ import annotations

import os
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

    def with_overrides(self, **changes: object) -> Settings:
        given = {k: v for k, v in changes.items() if v is not None}
        if "hosts" in given and isinstance(given["hosts"], str):
            given["hosts"] = parse_hosts(given["hosts"])
        return replace(self, **given)  # type: ignore[arg-type]

    def describe(self) -> str:
        """Where we connect, for messages. Never includes the password."""
        hosts = ", ".join(f"{h}:{self.port}" for h in self.hosts)
        who = f" as {self.username}" if self.username else ""
        return f"{hosts} (keyspace {self.keyspace}{who})"


def parse_hosts(raw: str) -> tuple[str, ...]:
    hosts = tuple(h.strip() for h in raw.split(",") if h.strip())
    if not hosts:
        raise ValidationError("hosts", "give at least one host, e.g. 127.0.0.1")
    return hosts


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
    )
