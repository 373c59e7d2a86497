"""The launcher's partition and clock-skew verbs, as text: which links a SPEC cuts, the nft
rules that cut them, the offsets libfaketime is given, and the refusals. Nothing is started
and no rule is loaded here (tests/partitions does that, inside its namespace)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import cassandra_local  # noqa: E402
from cassandra_local import (  # noqa: E402
    NODE_UID_BASE,
    LauncherError,
    clock_offset,
    faketime_env,
    nft_script,
    parse_partition,
    partition_table,
)


@pytest.mark.parametrize(
    ("spec", "cut"),
    [
        ("1|2,3", [(1, 2), (1, 3)]),
        ("1,2|3", [(1, 3), (2, 3)]),
        (" 2 | 1 , 3 ", [(1, 2), (2, 3)]),
        ("1|2|3", [(1, 2), (1, 3), (2, 3)]),
        ("1|2", [(1, 2)]),  # node 3, named nowhere, keeps its links
        ("bridge 2", [(1, 3)]),
        ("bridge 1", [(2, 3)]),
    ],
)
def test_a_spec_names_the_links_it_cuts(spec: str, cut: list[tuple[int, int]]) -> None:
    assert parse_partition(spec, 3) == cut


def test_a_bridge_of_four_nodes_leaves_only_the_middle_connected() -> None:
    assert parse_partition("bridge 4", 4) == [(1, 2), (1, 3), (2, 3)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("1,2,3", "at least two groups"),
        ("1|4", "'4' is not a node"),
        ("1|1,2", "named twice"),
        ("1|x", "'x' is not a node"),
        ("1||2", "'' is not a node"),
        ("bridge", "'' is not a node"),
        ("bridge 9", "'9' is not a node"),
    ],
)
def test_a_bad_spec_is_refused_with_a_message(spec: str, message: str) -> None:
    with pytest.raises(LauncherError, match=message):
        parse_partition(spec, 3)


def test_a_bridge_needs_three_nodes() -> None:
    with pytest.raises(LauncherError, match="three nodes"):
        parse_partition("bridge 1", 2)


def test_the_rules_drop_both_directions_on_the_storage_port_only() -> None:
    script = nft_script([(1, 3)], 7100)
    rules = [line.strip() for line in script.splitlines() if "drop" in line]
    assert rules == [
        f"meta skuid {NODE_UID_BASE + 1} ip daddr 127.0.0.3 tcp dport 7100 drop",
        f"meta skuid {NODE_UID_BASE + 3} ip daddr 127.0.0.1 tcp dport 7100 drop",
    ]
    # One transaction: the table is created if absent, dropped, and written again.
    assert script.startswith("table inet registry_partition\ndelete table inet registry_partition")


def test_healing_is_an_empty_table() -> None:
    assert "drop" not in nft_script([], 7100)


def test_each_layout_cuts_in_a_table_of_its_own() -> None:
    """Two layouts in one namespace (the cluster and the two DCs) never replace or heal each
    other's partition."""
    tables = {partition_table(layout) for layout in ("cluster", "dcs")}
    assert len(tables) == 2
    assert f"table inet {partition_table('dcs')} {{" in nft_script(
        [(1, 2)], 7300, partition_table("dcs")
    )


def test_partitions_are_refused_outside_the_private_namespace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cassandra_local, "STATE_ROOT", tmp_path)
    monkeypatch.setattr(cassandra_local, "in_private_netns", lambda: False)
    with pytest.raises(LauncherError, match="never on the host's network"):
        cassandra_local.apply_partition("cluster", "1|2,3")
    assert cassandra_local.current_partition("cluster") is None  # nothing recorded


def test_without_the_named_namespace_the_check_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cassandra_local, "NETNS", "registry-no-such-namespace")
    assert cassandra_local.in_private_netns() is False


@pytest.mark.parametrize(
    ("text", "offset"),
    [("+30s", "+30"), ("-5s", "-5"), ("-5", "-5"), ("+2m", "+120"), ("+1h", "+3600")],
)
def test_clock_offsets_become_whole_seconds(text: str, offset: str) -> None:
    assert clock_offset(text) == offset


@pytest.mark.parametrize("text", ["30s", "+", "+3.5s", "+5d", "@2020-01-01", "", "-x"])
def test_a_bad_clock_offset_is_refused(text: str) -> None:
    with pytest.raises(LauncherError, match="clock offset"):
        clock_offset(text)


def test_a_skewed_node_keeps_monotonic_time_real(tmp_path: Path) -> None:
    try:
        env = faketime_env(tmp_path / "offset")
    except LauncherError as exc:
        assert "apt-get install faketime" in str(exc)
        return
    assert env["FAKETIME_DONT_FAKE_MONOTONIC"] == "1"
    assert env["FAKETIME_TIMESTAMP_FILE"] == str(tmp_path / "offset")
    assert env["LD_PRELOAD"].endswith("libfaketime.so.1")
