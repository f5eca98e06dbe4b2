"""docs/receiver.md's key replacement commands, run exactly as written (with ``R`` set as the
docs set it, to this test's config): each exits as documented and prints what the docs show
(key ids and times are the test's own)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from edge.bench.fleet import SimNode
from edge.receiver.store import keys
from edge.receiver.store.store import ReceiverStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "receiver.md"
MARKER = "<!-- the commands below are run by tests/receiver/test_key_docs.py exactly as written -->"


def doc_steps() -> list[tuple[str, int, str]]:
    """(command, expected exit status, expected output) of the tested block."""
    text = DOC.read_text()
    block = text.split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, int, str]] = []
    for line in block.splitlines():
        if line.startswith("# -> "):
            expected = line.removeprefix("# -> ")
            status = 0
            if m := re.match(r"exit (\d+): ", expected):
                status, expected = int(m[1]), expected[m.end() :]
            command, _, _ = steps[-1]
            steps[-1] = (command, status, expected)
        elif line.strip():
            steps.append((line, 0, ""))
    return steps


def pattern(expected: str) -> re.Pattern[str]:
    """The documented output as a pattern: its key ids and times stand for any."""
    out = ""
    for token in re.split(r"(\s+)", expected):
        if token.isspace():
            out += r"\s+"
            continue
        escaped = re.escape(token)
        escaped = re.sub(r"[0-9a-f]{16}", "[0-9a-f]{16}", escaped)
        escaped = re.sub(r"\d{4}\\-\d\d\\-\d\dT\d\d:\d\d:\d\dZ", r"[0-9T:Z-]{20}", escaped)
        out += escaped
    return re.compile(out)


def test_the_documented_key_replacement_runs_as_written(tmp_path: Path) -> None:
    """The docs' commands: a different key refused without --replace (exit 1, one line),
    replaced with --replace --reason --by (audited), the same key again changes nothing,
    and ``keys`` lists the history; the store then holds both keys and the audit record."""
    data = tmp_path / "rx"
    conf = tmp_path / "receiver.toml"
    conf.write_text(
        f'[receiver]\nname = "polda-docs"\ndata_dir = "{data}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
    )
    old = SimNode("semarang-gudang-utara", "gudang-kpu-semarang-01")
    new = SimNode(old.site, old.node)
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    store.enrol(old.site, old.node, old.key.pem, reason="first enrolment")
    store.close()
    (tmp_path / "gudang-kpu-semarang-01-new.json").write_text(
        json.dumps({"node": new.node, "site": new.site, "public_key_pem": new.key.pem})
    )
    edge = Path(sys.executable).parent / "edge"
    env = {**os.environ, "R": f"{edge} receive -c {conf}"}
    steps = doc_steps()
    assert len(steps) == 4, steps
    for command, status, expected in steps:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == status, (command, done)
        output = done.stdout + done.stderr
        assert pattern(expected).search(output), (command, expected, output)
        if status:
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    store = ReceiverStore(f"sqlite:///{data / 'receiver.db'}", data)
    try:
        history = keys.history(store.db, old.site, old.node)
        assert [k.key_id for k in history] == [old.key.id, new.key.id]
        assert history[0].valid_until == history[1].valid_from
        assert history[0].replaced_by == new.key.id and history[1].valid_until is None
        (record,) = keys.replacements(store.db, old.site, old.node)
        assert (record["old_key_id"], record["new_key_id"], record["username"]) == (
            old.key.id, new.key.id, "budi"
        )  # fmt: skip
        assert record["reason"] == "board replaced after water damage, ticket 4411"
    finally:
        store.close()
