"""All of the receiver's SQL lives in ``edge/receiver/store/``: no other receiver module (nor
the receiver's command line, ``edge/cli/receive*.py``) holds a string that reads or writes a
table (SELECT, INSERT INTO, UPDATE ... SET, DELETE FROM), so a change of schema or engine is
made in one package. Docstrings and comments may name SQL.

Modules not yet moved are listed in :data:`NOT_YET_MOVED`; the list only shrinks: a listed
module that no longer holds SQL fails the test until it is taken off the list."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "edge"
RECEIVER = PACKAGE / "receiver"
STORE = RECEIVER / "store"

SQL = re.compile(
    r"\bSELECT\b|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\w+\s+SET\b|\bON\s+CONFLICT\b"
)
"""What marks a string as SQL (upper case, as the project writes SQL)."""

NOT_YET_MOVED: dict[str, str] = {}
"""Receiver modules (relative to edge/receiver/) that still hold SQL, with what it does: none
since issue 25 (keep it empty; it exists so a staged move can list what is left)."""


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (module, class, function, and attribute docstrings)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for stmt in body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                out.add(id(stmt.value))
    return out


def sql_strings(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string in *path* that reads or writes a table (docstrings
    excepted; an f-string's literal parts are joined)."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree)
    skip |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        ):
            text = node.value
        else:
            continue
        if SQL.search(text):
            yield node.lineno, text


def _receiver_modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(RECEIVER.rglob("*.py")):
        if STORE not in path.parents:
            yield path.relative_to(RECEIVER).as_posix(), path


def test_receiver_sql_only_in_store() -> None:
    """No receiver module outside store/ (and not listed as not yet moved) holds SQL."""
    found = [
        f"edge/receiver/{rel}:{line}: {text[:60]!r}"
        for rel, path in _receiver_modules()
        if rel not in NOT_YET_MOVED
        for line, text in sql_strings(path)
    ]
    assert not found, "SQL outside edge/receiver/store/ (move it behind a store function):\n" + (
        "\n".join(found)
    )


def test_receiver_command_line_holds_no_sql() -> None:
    """The receiver's command line (edge/cli/receive*.py) reads and writes through the store
    too."""
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text[:60]!r}"
        for path in sorted((PACKAGE / "cli").glob("receive*.py"))
        for line, text in sql_strings(path)
    ]
    assert not found, "SQL in the receiver's command line (use a store function):\n" + (
        "\n".join(found)
    )


def test_not_yet_moved_list_only_shrinks() -> None:
    """Every module listed as not yet moved still exists and still holds SQL (take it off
    the list once its SQL is in store/)."""
    stale = [
        rel
        for rel in NOT_YET_MOVED
        if not (RECEIVER / rel).exists() or not any(sql_strings(RECEIVER / rel))
    ]
    assert not stale, f"no SQL left in {stale}: remove them from NOT_YET_MOVED in {__file__}"


def test_the_check_sees_sql(tmp_path: Path) -> None:
    """The scan finds SQL in f-strings and plain strings, and ignores docstrings and prose."""
    module = tmp_path / "mod.py"
    module.write_text(
        '"""Reads with SELECT ... FROM events (a docstring may name SQL)."""\n'
        "TABLE = 'events'\n"
        "def f(db):\n"
        '    """UPDATE x SET y: prose."""\n'
        "    return db.query(f'SELECT id FROM {TABLE} WHERE seq > ?', (1,))\n"
        "WORDS = 'Select the node, then update the page'\n"
    )
    assert [line for line, _ in sql_strings(module)] == [5]
    assert SQL.search("UPDATE users SET lang = ?") and SQL.search("DELETE FROM chunks")
