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
async def across_data_centres(connection: Connection) -> AsyncIterator[AcrossDCs]:
    """(home DC, its registry), (another DC, a registry on a connection local to it)."""
    data_centres = connection.data_centres()
    home = home_data_centre(connection)
    others = [dc for dc in data_centres if dc != home]
    if not others:
        raise RaceSetupError(
            f"--across-dcs needs a cluster of two data centres; this one has "
            f"{', '.join(data_centres) or 'none known'}"
        )
    second = await open_connection(
        connection.settings.with_overrides(local_dc=others[0]),
        create_schema=False,
        serve_reads=False,
    )
    try:
        yield (home, Registry(connection)), (others[0], Registry(second))
    finally:
        second.close()
