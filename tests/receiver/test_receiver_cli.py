"""``edge receive`` from a terminal: enrol, list, show, nodes, alerts, quarantine, heads,
and the fleet bench (figures printed; every event sent is stored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rx import receiver_toml

from edge.bench.fleet import SimNode
from edge.cli.main import main
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.messages import Accepted
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Checker, Registry


def _stored(conf: Path, data: Path, node: SimNode) -> str:
    """Commit an event and a heartbeat of *node* straight into the store; the event id."""
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    try:
        check = Checker(Registry(store.identities()), "warehouse", max_clip_bytes=1 << 20)
        verdicts = []
        for topic, payload, props in (node.event("person"), node.heartbeat()):
            full = f"warehouse/{node.site}/{node.node}/{topic}"
            verdicts.append(check.check(full, payload, dict(props)))
        store.commit(verdicts)
        assert isinstance(verdicts[0], Accepted)
        return verdicts[0].id
    finally:
        store.close()


def test_enrol_then_look_through_what_arrived(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """Enrol a node from its exported key (JSON), store its messages, then list, show,
    nodes and heads print them; an unknown event id exits 1."""
    conf = tmp_path / "receiver.toml"
    data = tmp_path / "rx"
    conf.write_text(receiver_toml(data, broker, ca))
    node = SimNode("semarang", "gudang-07")
    exported = tmp_path / "gudang-07.json"
    exported.write_text(json.dumps({"node": node.node, "site": node.site,
                                    "public_key_pem": node.key.pem}))  # fmt: skip
    assert main(["receive", "-c", str(conf), "enrol", node.node, str(exported)]) == 0
    assert f"enrolled semarang/gudang-07 key {node.key.id}" in capsys.readouterr().out
    event_id = _stored(conf, data, node)
    assert main(["receive", "-c", str(conf), "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in listed] == [event_id]
    assert main(["receive", "-c", str(conf), "show", event_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["payload"]["kind"] == "person"
    assert main(["receive", "-c", str(conf), "nodes"]) == 0
    assert "gudang-07\tonline" in capsys.readouterr().out
    assert main(["receive", "-c", str(conf), "heads", "semarang/gudang-07", "--json"]) == 0
    heads = json.loads(capsys.readouterr().out)
    assert len(heads) == 1 and len(heads[0]["head"]) == 64
    assert main(["receive", "-c", str(conf), "show", "no-such-id"]) == 1


def test_enrol_refuses_a_key_exported_by_another_node(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """Enrolling gudang-01 with gudang-02's exported key file fails and says whose it is."""
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(tmp_path / "rx", broker, ca))
    other = SimNode("solo", "gudang-02")
    exported = tmp_path / "k.json"
    exported.write_text(json.dumps({"node": other.node, "site": other.site,
                                    "public_key_pem": other.key.pem}))  # fmt: skip
    assert main(["receive", "-c", str(conf), "enrol", "gudang-01", str(exported)]) == 1
    assert "key of node 'gudang-02'" in capsys.readouterr().err


@pytest.mark.bench
@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_fleet_bench_stores_every_event_and_prints_figures(
    tmp_path: Path,
    broker: LocalBroker,
    ca: DemoCA,
    engine: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``edge receive bench`` (small): every event published is stored, the backlog drains;
    the figures are printed (README: the full-size run)."""
    store = "sqlite" if engine == "sqlite" else str(request.getfixturevalue("pg_url"))
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(tmp_path / "rx", broker, ca, store=store))
    args = ["receive", "-c", str(conf), "bench", "--nodes", "50", "--seconds", "4",
            "--events-per-node-per-min", "60", "--backlog", "1000", "--json"]  # fmt: skip
    assert main(args) == 0
    figures = json.loads(capsys.readouterr().out)
    with capsys.disabled():
        print(f"\nreceive bench {engine}: {figures}")
    assert figures["events_stored"] == figures["events_sent"] == 200
    assert figures["backlog"]["stored"] == 1000


def test_a_corrupt_store_is_named_and_refused(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """A receiver.db that is not a database: exit 1 with one line naming the file, no
    traceback, and the file left as it was for an operator to look at."""
    conf = tmp_path / "receiver.toml"
    conf.write_text(receiver_toml(tmp_path / "rx", broker, ca))
    db = tmp_path / "rx" / "receiver.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(SystemExit) as stop:
        main(["receive", "-c", str(conf), "list"])
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert str(db) in err and "not a database" in err and "Traceback" not in err
    assert db.read_bytes() == b"this is not SQLite" * 100
