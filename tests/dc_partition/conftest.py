"""A partition between two data centres: the `dcs` layout (dc1 on 127.0.0.1, dc2 on 127.0.0.2,
CQL 9342, keyspace replicated dc1:1, dc2:1) run inside a private network namespace of its own,
where the launcher's `partition --layout dcs '1|2'` cuts the storage links between the DCs.

`make test-dc-partition` creates the namespace, starts the layout inside it (state under
.local/cassandra-dcpart), runs these tests inside it and stops everything. Run elsewhere, the
tests fail and say how to run them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dcs.conftest import dc1, dcs_settings
from tests.faults.conftest import REPO, launcher

sys.path.insert(0, str(REPO / "scripts"))

from cassandra_local import NETNS, in_private_netns, netns_missing

__all__ = ["dc1", "dcs_settings"]

# The rows of the table, one per test that ran, printed at the end of the session.
ROWS: list[Any] = []


@pytest.fixture(scope="session", autouse=True)
def inside_the_namespace() -> None:
    missing = netns_missing()
    if missing or not in_private_netns():
        pytest.fail(
            f"these tests run inside the private network namespace {NETNS!r} with a two-DC "
            "layout of their own: run `make test-dc-partition`"
            + (f" (missing here: {'; '.join(missing)})" if missing else ""),
            pytrace=False,
        )


@pytest.fixture
def healed() -> Iterator[None]:
    """No partition between the DCs before the test and after it, whatever it did."""
    launcher("heal", "--layout", "dcs")
    try:
        yield
    finally:
        launcher("heal", "--layout", "dcs")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    terminalreporter.write_sep("-", "DC partition figures")
    terminalreporter.write_line(ROWS[0].HEADER)
    for row in ROWS:
        terminalreporter.write_line(row.line())
        terminalreporter.write_line(row.detail)
