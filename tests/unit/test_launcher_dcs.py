"""The launcher's two-data-centre layout, as configuration: what each node would be started with.

No node is started here (that takes a minute and a gigabyte per node); scripts/dc_race_check.py
checks a running layout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import cassandra_local  # noqa: E402
from cassandra_local import LAYOUTS, Node, nodes_for  # noqa: E402


@pytest.fixture(autouse=True)
def state_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cassandra_local, "STATE_ROOT", tmp_path)
    return tmp_path


def config_of(node: Node) -> dict[str, str]:
    conf = node.write_config(auth=False, paxos="v2")
    pairs = (line.split(": ", 1) for line in conf.read_text().splitlines() if ": " in line)
    return {key.strip(" -"): value for key, value in pairs}


def test_every_layout_has_ports_of_its_own() -> None:
    cql = [ports[1] for ports in LAYOUTS.values()]
    storage = [ports[2] for ports in LAYOUTS.values()]
    assert len(set(cql)) == len(cql) and len(set(storage)) == len(storage)
    assert LAYOUTS["dcs"][:3] == (2, 9342, 7300)


def test_dcs_nodes_live_in_dc1_and_dc2() -> None:
    first, second = nodes_for("dcs")
    assert (first.address, first.dc) == ("127.0.0.1", "dc1")
    assert (second.address, second.dc) == ("127.0.0.2", "dc2")
    for node in (first, second):
        config = config_of(node)
        assert config["endpoint_snitch"] == "GossipingPropertyFileSnitch"
        assert config["native_transport_port"] == "9342"
        assert config["storage_port"] == "7300"
        # Nothing runs: each DC's node seeds itself alone (no 30 s wait for a dead seed).
        assert config["seeds"] == f'"{node.address}:7300"'
        assert config["paxos_variant"] == "v2"
        assert node.rackdc_file.read_text() == f"dc={node.dc}\nrack=rack1\n"


def test_a_dcs_node_also_seeds_from_the_other_dcs_live_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Node, "pid", lambda node: 4242 if node.index == 1 else None)
    first, second = nodes_for("dcs")
    assert second.seeds == "127.0.0.1:7300,127.0.0.2:7300"
    assert first.seeds == "127.0.0.1:7300"


def test_dcs_tokens_are_balanced() -> None:
    assert [config_of(n)["initial_token"] for n in nodes_for("dcs")] == [
        "-9223372036854775808",
        "0",
    ]


def test_the_other_layouts_keep_their_tokens_and_snitch() -> None:
    tokens = [config_of(n)["initial_token"] for n in nodes_for("cluster")]
    assert tokens == ["-9223372036854775808", "-3074457345618258603", "3074457345618258602"]
    for layout in ("single", "cluster", "auth"):
        for node in nodes_for(layout):
            assert node.dc is None
            assert config_of(node)["endpoint_snitch"] == "SimpleSnitch"
            assert not node.rackdc_file.exists()


def test_dcs_nodes_get_their_rackdc_file_and_keep_their_schema() -> None:
    node = nodes_for("dcs")[1]
    cmd = node.command("java", Path("/lib"), node.write_config(False, "v2"), "512m")
    assert f"-Dcassandra-rackdc.properties=file://{node.rackdc_file}" in cmd
    assert node.rackdc_file.is_absolute()
    # Its nodes are paused and killed by fault tests: schema must survive a SIGKILL.
    assert "-Dcassandra.unsafesystem=true" not in cmd
    assert "-Xmx512m" in cmd
    single = nodes_for("single")[0]
    assert "-Dcassandra.unsafesystem=true" in single.command(
        "java", Path("/lib"), single.write_config(False, "v2"), "768m"
    )


def test_node_commands_accept_the_dcs_layout(capsys: pytest.CaptureFixture[str]) -> None:
    assert cassandra_local.main(["pause-node", "--layout", "dcs", "3"]) == 1
    assert "the dcs layout has nodes 1..2, not 3" in capsys.readouterr().err
    # Nothing runs under this empty state root, so resuming node 2 is refused, not attempted.
    assert cassandra_local.main(["resume-node", "--layout", "dcs", "2"]) == 1
    assert "node 2 is not running" in capsys.readouterr().err


def test_status_names_each_dcs_node_with_its_dc(capsys: pytest.CaptureFixture[str]) -> None:
    for node in nodes_for("dcs"):
        node.write_config(auth=False, paxos="v2")
    assert cassandra_local.main(["status", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["layout"], r["node"], r["dc"], r["state"]) for r in rows] == [
        ("dcs", 1, "dc1", "stopped"),
        ("dcs", 2, "dc2", "stopped"),
    ]
    assert cassandra_local.main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("dcs      node1 127.0.0.1:9342") and lines[0].endswith("dc=dc1")
    assert lines[1].endswith("dc=dc2")
