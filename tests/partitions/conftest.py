"""Faults that need a cluster of their own in a private network namespace: partitions
(nftables), clock skew (libfaketime) and the combined schedule.

`make test-partitions` creates the namespace `registry-faults`, starts the 3-node cluster
layout inside it (CQL 9142 on 127.0.0.1-3 *of that namespace*, state under
.local/cassandra-netns, so nothing on the host is touched), and runs these tests inside it
too: the client reaches the nodes, and the launcher's `partition`/`heal` verbs cut and restore
links between them. Run elsewhere, the tests fail and say how to run them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from registry_tui.core.config import Settings
from tests.faults.conftest import REPO, cluster_connection, cluster_settings
from tests.partitions.workload import FAULT_LOG, FIGURES, restore_everything

sys.path.insert(0, str(REPO / "scripts"))

from cassandra_local import NETNS, in_private_netns, netns_missing

__all__ = ["cluster_connection", "cluster_settings"]


@pytest.fixture(scope="session", autouse=True)
def inside_the_namespace() -> None:
    missing = netns_missing()
    if missing or not in_private_netns():
        pytest.fail(
            "these tests run inside the private network namespace "
            f"{NETNS!r} with a cluster of their own: run `make test-partitions`"
            + (f" (missing here: {'; '.join(missing)})" if missing else ""),
            pytrace=False,
        )


@pytest.fixture(scope="module")
def real_clocks() -> None:
    """Every node on the real clock before a module makes its keyspace: a schema change while
    a node's clock is off (or its stamps still ahead after a clock moved back) can leave the
    nodes disagreeing on the schema ("Table metadata was not refreshed"). Ask for it before
    `cluster_connection`."""
    restore_everything()


@pytest.fixture
def healthy(cluster_settings: Settings) -> Iterator[Settings]:
    """No partition, every node up, before the test and after it, whatever it did."""
    restore_everything()
    try:
        yield cluster_settings
    finally:
        restore_everything()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.write_sep("-", "fault figures (docs/guarantees.md, Faults)")
    for row in FIGURES:
        terminalreporter.write_line(row.line())
    for entry in FAULT_LOG:
        terminalreporter.write_line(entry)
