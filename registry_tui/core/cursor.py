"""The opaque, signed cursor of a paged list.

A cursor carries the driver's paging state and an HMAC that binds it to one listing (keyspace
and filter), so the server never sees a paging state this registry did not hand out for that
same listing. The key comes from `Settings.cursor_key` (REGISTRY_CURSOR_KEY); without one, a
key kept per user on disk, so a cursor printed by one CLI run works in the next.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from registry_tui.core.validation import ValidationError

CURSOR_PREFIX = "c1."
CURSOR_MAX_CHARS = 4096
_MAC_BYTES = 16
_KEY_MIN_BYTES = 16


def cursor_key(secret: str | None) -> bytes:
    """The signing key: `secret` hashed when one is configured, else the key on disk (made on
    first use), else one per process (a read-only or missing home directory)."""
    if secret:
        return hashlib.sha256(secret.encode()).digest()
    return _local_key()


def default_key_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "registry-tui" / "cursor.key"


def key_from_file(path: Path) -> bytes:
    """The key kept in `path`, written there (readable by its owner only) when missing.
    Raises OSError when it can be neither read nor written."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) < _KEY_MIN_BYTES:
        raise OSError(f"cursor key too short: {path}")
    return key


@functools.cache
def _local_key() -> bytes:
    try:
        return key_from_file(default_key_file())
    except OSError:
        return secrets.token_bytes(32)


def _mac(paging_state: bytes, scope: str, key: bytes) -> bytes:
    message = scope.encode() + b"\x00" + paging_state
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(paging_state: bytes | None, scope: str, key: bytes) -> str | None:
    """The cursor of the next page (None on the last page). `scope` names the listing."""
    if not paging_state:
        return None
    body = _mac(paging_state, scope, key) + paging_state
    return CURSOR_PREFIX + base64.urlsafe_b64encode(body).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str, key: bytes) -> bytes | None:
    """The paging state inside `cursor`; refuses any cursor not signed for this listing."""
    if not cursor:
        return None
    refused = ValidationError("cursor", "is not a cursor this registry handed out for this list")
    if not cursor.startswith(CURSOR_PREFIX) or len(cursor) > CURSOR_MAX_CHARS:
        raise refused
    body = cursor[len(CURSOR_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    mac, state = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if not state or not hmac.compare_digest(mac, _mac(state, scope, key)):
        raise refused
    return state
