"""A node process for the SIGKILL test: the real Node (rules, outbox, MQTT link) accepting a
stream of events and now and then a clip, writing each accepted event id to a log only after
``accept`` returned (so the log lists exactly what was accepted). ``--drain`` accepts nothing
new and exits once everything is delivered."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from edge.config.loader import load
from edge.core import logs
from edge.core.ids import new_id
from edge.events.model import Kind, Severity, State
from edge.evidence.manifest import build_manifest, sign_manifest
from edge.node.node import Node
from edge.node.replay import drain


def main() -> int:
    """Run until killed (or, with --drain, until the outbox is empty)."""
    cfg = load(sys.argv[1])
    logs.configure(cfg.logging.level, "json")  # to stderr: stdout carries only "ready"
    log = Path(sys.argv[2])
    drain_first = "--drain" in sys.argv
    node = Node(cfg)
    node.start()
    if drain_first:
        ok = drain(node, 100)
        node.stop()
        return 0 if ok else 1
    print("ready", flush=True)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    n = 0
    while True:
        event = node.factory.make(
            Kind.DOOR_OPEN, Severity.WARNING, State.INSTANT, new_id(), data={"n": n}
        )
        node.accept(event)
        os.write(fd, f"{event.id}\n".encode())
        os.fsync(fd)
        n += 1
        if n % 40 == 0:
            path = node.store.path_for(f"{new_id()}.mp4")
            path.write_bytes(os.urandom(400_000))
            m = build_manifest(
                clip_id=path.stem,
                path=path,
                node=cfg.node.id,
                site=cfg.node.site,
                camera="hall",
                start=0,
                end=1,
                duration_s=1,
                event_ids=[event.id],
                mask_hash=None,
                method="remux",
            )
            node.delivery.clip(sign_manifest(m, node.key), path)
        time.sleep(0.005)


if __name__ == "__main__":
    raise SystemExit(main())
