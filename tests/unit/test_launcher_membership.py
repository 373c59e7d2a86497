"""The launcher's membership verbs, as text and configuration: the token an added node takes,
the JMX port nodetool reaches each node on, how `nodetool status` is read, and what
`add-node` and `decommission` refuse. No node is started and no nodetool runs here
(tests/partitions/test_membership.py does both, inside its namespace)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import cassandra_local  # noqa: E402
from cassandra_local import (  # noqa: E402
    LAYOUTS,
    LauncherError,
    Node,
    added_nodes,
    all_nodes,
    nodes_for,
    parse_ring,
)

RING_LOW, RING_HIGH = -(2**63), 2**63 - 1


@pytest.fixture(autouse=True)
def state_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cassandra_local, "STATE_ROOT", tmp_path)
    return tmp_path


def config_of(node: Node, bootstrap: bool = False) -> dict[str, str]:
    conf = node.write_config(auth=False, paxos="v2", bootstrap=bootstrap)
    pairs = (line.split(": ", 1) for line in conf.read_text().splitlines() if ": " in line)
    return {key.strip(" -"): value for key, value in pairs}


def test_node_4_splits_node_1s_range_in_the_middle() -> None:
    first, second, _ = nodes_for("cluster")
    fourth = Node("cluster", 4, 3)
    assert first.token < fourth.token < second.token
    assert fourth.token - first.token == (second.token - first.token) // 2
    assert fourth.address == "127.0.0.4"
    assert config_of(fourth)["initial_token"] == str(fourth.token)


def test_added_nodes_take_distinct_tokens_inside_the_ring() -> None:
    own = [n.token for n in nodes_for("cluster")]
    added = [Node("cluster", i, 3).token for i in range(4, 7)]
    tokens = own + added
    assert len(set(tokens)) == len(tokens)
    assert all(RING_LOW <= t <= RING_HIGH for t in tokens)
    # Nodes 4, 5, 6 split the ranges of nodes 1, 2, 3 in turn.
    assert sorted(tokens) == [own[0], added[0], own[1], added[1], own[2], added[2]]


def test_only_a_bootstrapping_node_streams_before_it_serves() -> None:
    assert config_of(nodes_for("cluster")[1])["auto_bootstrap"] == "false"
    assert config_of(Node("cluster", 4, 3), bootstrap=True)["auto_bootstrap"] == "true"


def test_each_node_has_a_jmx_port_of_its_own_on_loopback() -> None:
    ports = [n.jmx_port for layout in LAYOUTS for n in nodes_for(layout)]
    ports.append(Node("cluster", 4, 3).jmx_port)
    assert len(set(ports)) == len(ports)
    assert [n.jmx_port for n in nodes_for("cluster")] == [7191, 7192, 7193]
    assert Node("cluster", 4, 3).jmx_port == 7194
    taken = {p for layout in LAYOUTS.values() for p in layout[1:3]}
    assert not taken & set(ports)
    node = nodes_for("cluster")[0]
    cmd = node.command("java", Path("/lib"), node.write_config(False, "v2"), "512m")
    # cassandra.jmx.local.port: JMX bound to the loopback address only, no remote access.
    assert "-Dcassandra.jmx.local.port=7191" in cmd
    assert not any(arg.startswith("-Dcassandra.jmx.remote") for arg in cmd)


NODETOOL_STATUS = """Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load        Tokens  Owns (effective)  Host ID                               Rack
UN  127.0.0.1  174.31 KiB  1       100.0%            3a1c7a0e-4c1e-4a51-9a5e-0d6f3f4c2b11  rack1
UN  127.0.0.2  170.02 KiB  1       100.0%            9b2e1f44-7a0d-4f5b-8f55-21e9d8c1aa02  rack1
DL  127.0.0.3  161.9 KiB   1       100.0%            c5d4e3f2-1a0b-4c9d-8e7f-6a5b4c3d2e13  rack1
UJ  127.0.0.4  95.1 KiB    1       ?                 d6e5f4a3-2b1c-4d0e-9f8a-7b6c5d4e3f24  rack1
"""


def test_nodetool_status_is_read_as_address_and_state() -> None:
    assert parse_ring(NODETOOL_STATUS) == {
        "127.0.0.1": "UN",
        "127.0.0.2": "UN",
        "127.0.0.3": "DL",
        "127.0.0.4": "UJ",
    }
    assert parse_ring("") == {}
    assert parse_ring("nodetool: Failed to connect to '127.0.0.1:7191'") == {}


def test_added_nodes_are_the_ones_with_a_folder(state_root: Path) -> None:
    assert added_nodes("cluster") == []
    fourth = Node("cluster", 4, 3)
    fourth.write_config(False, "v2", bootstrap=True)
    assert [n.index for n in added_nodes("cluster")] == [4]
    assert [n.index for n in all_nodes("cluster")] == [1, 2, 3, 4]
    # Layouts over data centres have one node per DC and never grow.
    assert added_nodes("dcs") == []


def test_a_partition_can_cut_node_4_off_once_it_joined(
    state_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts: list[str] = []
    monkeypatch.setattr(cassandra_local, "_nft", scripts.append)
    with pytest.raises(LauncherError, match="'4' is not a node"):
        cassandra_local.apply_partition("cluster", "4|1,2,3")
    fourth = Node("cluster", 4, 3)
    fourth.write_config(False, "v2", bootstrap=True)
    assert cassandra_local.apply_partition("cluster", "4|1,2,3") == [(1, 4), (2, 4), (3, 4)]
    assert "ip daddr 127.0.0.4" in scripts[-1]
    # Gone again (decommissioned): not a member to cut.
    fourth.left_file.write_text(json.dumps({"since": 0}))
    with pytest.raises(LauncherError, match="'4' is not a node"):
        cassandra_local.apply_partition("cluster", "4|1,2,3")


def test_a_decommissioned_node_only_comes_back_by_bootstrap() -> None:
    node = nodes_for("cluster")[1]
    node.write_config(False, "v2")
    node.left_file.write_text(json.dumps({"since": 0}))
    with pytest.raises(LauncherError, match="add-node 2"):
        node.start("java", Path("/lib"), auth=False, paxos="v2", heap="512m")


def test_status_says_a_node_left(capsys: pytest.CaptureFixture[str]) -> None:
    fourth = Node("cluster", 4, 3)
    fourth.write_config(False, "v2", bootstrap=True)
    fourth.left_file.write_text("{}")
    assert cassandra_local.main(["status", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["node"], r["state"]) for r in rows] == [(4, "left")]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["decommission", "1"], "node 1 is the seed"),
        (["decommission", "2"], "node 2 is not running"),
        (["decommission", "4"], "has nodes 1..3, not 4"),
        (["add-node", "1"], "node 1 is the seed"),
        (["add-node", "2"], "`start-node 2` starts it"),
        (["add-node", "--layout", "dcs"], "single-DC layout"),
    ],
)
def test_membership_verbs_refuse_what_cannot_be_done(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cassandra_local.main(argv) == 1
    assert message in capsys.readouterr().err


def test_a_bootstrap_needs_every_member_up(capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing runs under this empty state root: refused before anything is started.
    assert cassandra_local.main(["add-node"]) == 1
    assert "nodes [1, 2, 3] are not running" in capsys.readouterr().err
    assert added_nodes("cluster") == []


def status_text(*rows: tuple[str, str]) -> str:
    lines = ["Datacenter: datacenter1", "=======================", "--  Address    Load  Tokens"]
    return "\n".join([*lines, *(f"{state}  {address}  1 MiB  1" for state, address in rows)])


def test_a_node_that_never_took_anothers_tokens_is_a_ring_disagreement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each node of the two-DC layout a ring of its own (seen once: CQL answered on both,
    and a quorum of one decided every write): `up` must see it, not call the layout ready."""
    one, two = nodes_for("dcs")
    views = {
        one.index: status_text(("UN", one.address)),  # node 2 unknown to node 1
        two.index: status_text(("UN", one.address), ("UJ", two.address)),
    }
    monkeypatch.setattr(cassandra_local, "nodetool", lambda node, *a, **k: views[node.index])
    assert cassandra_local.ring_disagreement([one, two]) == {
        one.index: {two.address: "absent"},
        two.index: {two.address: "UJ"},
    }
    views[one.index] = views[two.index] = status_text(("UN", one.address), ("UN", two.address))
    assert cassandra_local.ring_disagreement([one, two]) == {}


def test_a_node_that_cannot_be_asked_is_a_ring_disagreement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one, two = nodes_for("dcs")

    def nodetool(node: Node, *args: str, **kwargs: object) -> str:
        if node.index == two.index:
            raise LauncherError("nodetool status on node 2 gave no answer in 60s\nmore")
        return status_text(("UN", one.address), ("UN", two.address))

    monkeypatch.setattr(cassandra_local, "nodetool", nodetool)
    assert cassandra_local.ring_disagreement([one, two]) == {
        two.index: "nodetool status on node 2 gave no answer in 60s"
    }
