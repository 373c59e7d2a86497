"""The state of the database link as the status indicator shows it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class LinkState(Enum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Link:
    state: LinkState
    # Hosts the driver holds a live connection to (ONLINE), or the ones we tried (otherwise).
    hosts: tuple[str, ...] = ()
    detail: str = ""
    # What the person should know about the guarantee, e.g. names unique per data centre only.
    warning: str = ""
