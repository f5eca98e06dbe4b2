"""docs/decisions/: each record has its parts and names only files that exist; and the one a
test can hold by reading the code (0004, no inbound topics on the node) is held here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DECISIONS = ROOT / "docs" / "decisions"
PACKAGE = ROOT / "edge"

RECORDS = sorted(DECISIONS.glob("[0-9][0-9][0-9][0-9]-*.md"))

NOT_THE_NODE = {"receiver", "demo", "bench"}
"""Packages that are not the node: the police side, the demo and the benchmarks."""

POLICE_CLIENTS = {"demo/subscriber.py"}
"""Police-side clients kept beside the node's code for the demo and the tests (record 0004)."""


def test_records_are_numbered_in_order_and_indexed() -> None:
    """Records are 0001, 0002, ... without gaps, and the index links every one."""
    numbers = [int(r.name[:4]) for r in RECORDS]
    assert numbers == list(range(1, len(RECORDS) + 1)), numbers
    index = (DECISIONS / "README.md").read_text(encoding="utf-8")
    missing = [r.name for r in RECORDS if f"({r.name})" not in index]
    assert not missing, f"docs/decisions/README.md does not link {missing}"


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name[:4])
def test_record_has_its_parts_and_names_real_files(record: Path) -> None:
    """A record has a title, a status and the four headings; every path it names exists."""
    text = record.read_text(encoding="utf-8")
    assert text.startswith(f"# {record.name[:4]}: ")
    assert re.search(r"^Status: \S", text, re.M)
    for heading in ("## Context", "## Decision", "## Consequences", "## Held by"):
        assert f"\n{heading}\n" in text, f"{record.name} has no {heading!r}"
    paths = re.findall(r"`((?:edge|tests|docs|deploy)/[A-Za-z0-9_./-]*)`", text)
    assert paths, f"{record.name} names no file that holds it"
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"{record.name} names files that do not exist: {missing}"


def _inbound(tree: ast.Module) -> list[int]:
    """Lines where *tree* subscribes to a topic or handles incoming MQTT messages."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"on_message", "on_subscribe"}:
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            topic_call = name == "subscribe" and (
                len(node.args) >= 2 or any(k.arg == "qos" for k in node.keywords)
            )
            if topic_call or name == "message_callback_add":
                lines.append(node.lineno)
    return lines


def test_the_node_has_no_inbound_topics() -> None:
    """Record 0004: no module of the node subscribes to a topic or handles an incoming
    message (the police-side demo client excepted, by name)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/")[0] in NOT_THE_NODE or rel in POLICE_CLIENTS:
            continue
        for line in _inbound(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"edge/{rel}:{line}")
    assert not found, f"the node handles inbound MQTT (docs/decisions/0004): {found}"


def test_the_inbound_check_sees_a_subscription() -> None:
    """The check above finds what it looks for: a paho subscription and a message handler."""
    code = "c.on_message = handle\nc.subscribe('warehouse/cmd', qos=1)\nsink.subscribe(listen)\n"
    assert _inbound(ast.parse(code)) == [1, 2]
