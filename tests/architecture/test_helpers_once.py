"""The shared test helpers of tests/timing.py are defined once: a test module imports them
(``from timing import wait_until``) instead of keeping its own copy."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SHARED = TESTS / "timing.py"


def _top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")
    }


def test_timing_helpers_have_no_copies() -> None:
    """No module under tests/ defines a function or class of tests/timing.py's names."""
    shared = _top_level_names(SHARED)
    assert "wait_until" in shared
    copies = [
        f"{path.relative_to(TESTS)}: {name}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != SHARED
        for name in sorted(_top_level_names(path) & shared)
    ]
    assert not copies, f"copies of tests/timing.py's helpers (import them instead): {copies}"
