"""Two connections, one local to each of two data centres, for races across DCs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection, open_connection
from registry_tui.race.engine import RaceSetupError

AcrossDCs = tuple[tuple[str, Registry], tuple[str, Registry]]


def home_data_centre(connection: Connection) -> str:
    """The DC the connection's requests are coordinated in: SCYLLA_LOCAL_DC, else the DC of
    the first contact point that the cluster knows."""
    if connection.settings.local_dc:
        return connection.settings.local_dc
    hosts = list(connection.cluster.metadata.all_hosts())
    contact = set(connection.settings.hosts)
    for host in hosts:
        if str(host.address) in contact and host.datacenter:
            return str(host.datacenter)
    return str(hosts[0].datacenter) if hosts else ""


@asynccontextmanager
async def across_data_centres(
    connection: Connection, serial: str | None = None
) -> AsyncIterator[AcrossDCs]:
    """(home DC, its registry), (another DC, a registry on a connection local to it); with
    `serial`, both contenders' connections run under that guarantee (the audit stays on
    `connection`'s)."""
    data_centres = connection.data_centres()
    home = home_data_centre(connection)
    others = [dc for dc in data_centres if dc != home]
    if not others:
        raise RaceSetupError(
            f"--across-dcs needs a cluster of two data centres; this one has "
            f"{', '.join(data_centres) or 'none known'}"
        )
    opened: list[Connection] = []
    try:
        for dc in (home, others[0]):
            if dc == home and (serial is None or serial == connection.settings.serial):
                continue
            opened.append(
                await open_connection(
                    connection.settings.with_overrides(local_dc=dc, serial=serial),
                    create_schema=False,
                    serve_reads=False,
                )
            )
        first = opened[0] if len(opened) == 2 else connection
        yield (home, Registry(first)), (others[0], Registry(opened[-1]))
    finally:
        for opened_connection in opened:
            opened_connection.close()
