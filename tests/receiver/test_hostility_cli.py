"""``edge receive`` on a store that bounded hostility: ``quarantine`` ends with how many
messages it keeps and dropped and how many forged messages the open alerts count; ``alerts``
shows an alert's count and last time; ``show ID`` names the nodes when several have the id
and takes ``--node SITE/NODE``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rx import receiver_toml

from edge.bench.fleet import SimNode
from edge.cli.main import main
from edge.demo.broker import LocalBroker
from edge.demo.pki import DemoCA
from edge.receiver.bounds import Bounds
from edge.receiver.config import loads
from edge.receiver.store.store import ReceiverStore
from edge.receiver.trust import Checker, Registry


def test_quarantine_alerts_and_show_on_the_command_line(
    tmp_path: Path, broker: LocalBroker, ca: DemoCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """30 unsigned messages with a cap of 10 rows: the table lists 10 with size and sha256,
    the last line says 10 kept, 20 dropped, 1 alert counting 30; ``alerts`` shows times 30;
    one event id on two nodes: ``show`` exits 1 naming both, ``--node`` picks one."""
    conf = tmp_path / "receiver.toml"
    data = tmp_path / "rx"
    conf.write_text(receiver_toml(data, broker, ca))
    a, b = SimNode("semarang", "gudang-07"), SimNode("solo", "gudang-07")
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    try:
        for n in (a, b):
            store.enrol(n.site, n.node, n.key.pem)
        store.bounds = Bounds(quarantine_rows=10)
        check = Checker(Registry(store.identities()), "warehouse", max_clip_bytes=1 << 20)
        topic = "warehouse/semarang/gudang-07/events"
        store.commit([check.check(topic, b"x" * (100 + i), {}) for i in range(30)])
        shared = "0193aaaa-0000-7000-8000-00000000cafe"
        for n, kind in ((a, "person"), (b, "motion")):
            t, payload, _ = n.event(kind)
            body = json.loads(payload) | {"id": shared, "occurrence": shared}
            wire = n._wire(t, shared, json.dumps(body).encode(), ("kind", kind))
            store.commit([check.check(f"warehouse/{n.site}/{n.node}/{t}", wire[1],
                                      dict(wire[2]))])  # fmt: skip
    finally:
        store.close()
    capsys.readouterr()  # the log lines of the setup
    assert main(["receive", "-c", str(conf), "quarantine"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "received\treason\tnode\ttopic\tsize\tsha256\tdetail"
    assert len(out) == 12 and "\t129\t" in out[1]
    assert out[-1] == ("# 10 kept, 20 older dropped (2190 bytes); 1 open forged_message"
                       " alerts counting 30 messages")  # fmt: skip
    assert main(["receive", "-c", str(conf), "alerts", "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)
    assert [(x["kind"], x["node"], x["ref"], x["times"]) for x in alerts] == [
        ("forged_message", "gudang-07", "unsigned", 30)
    ]
    assert main(["receive", "-c", str(conf), "show", shared]) == 1
    err = capsys.readouterr().err
    assert "semarang/gudang-07" in err and "solo/gudang-07" in err and "--node" in err
    assert (
        main(["receive", "-c", str(conf), "show", shared, "--node", "solo/gudang-07", "--json"])
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert (shown["site"], shown["kind"]) == ("solo", "motion")


def test_the_documented_limits_are_valid_config_and_the_defaults() -> None:
    """The ``[quarantine]``, ``[supervision]`` and ``[clips]`` snippets of docs/receiver.md
    load as a receiver config and say what the defaults are."""
    docs = (Path(__file__).parents[2] / "docs" / "receiver.md").read_text()
    blocks = [b.split("```", 1)[0] for b in docs.split("```toml\n")[1:]]
    ours = [b for b in blocks if "forged_window_s" in b or "orphan_chunks_after_s" in b]
    assert len(ours) == 2
    head = (
        '[receiver]\nname = "r"\ndata_dir = "/tmp/r"\n[broker]\nhost = "h"\nallow_insecure = true\n'
    )
    cfg = loads(head + "\n".join(ours))
    assert Bounds.of(cfg) == Bounds(topic_prefix="warehouse")
    assert cfg.clips.orphan_max_bytes == Bounds().orphan_max_bytes
