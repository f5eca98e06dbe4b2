"""README's layout table, layer chain and hop-by-hop lists, checked against the code: every
file they name exists, every module of a stage package is named, the layer chain is the one
the layer test enforces, and each hop-by-hop list names the modules its stages run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "edge"
README = ROOT / "README.md"
LAYER_TEST = Path(__file__).with_name("test_layers.py")

STAGES = [
    "core",
    "config",
    "wire",
    "capture",
    "analysis",
    "events",
    "evidence",
    "pki",
    "clips",
    "sensors",
    "outbox",
    "link",
    "node",
    "report",
]
"""The packages of the node's data flow: the layout table names every module of each."""

SUMMARISED = {
    "receiver": "the police side: docs/receiver.md and docs/dashboard.md describe it",
    "cli": "one module per command: the row names the commands",
    "bench": "benchmarks: `edge bench --help` lists them",
    "demo": "the demo's throwaway CA and broker",
    "fakes": "test doubles of hardware libraries",
    "schemas": "JSON schemas, no modules",
}
"""Packages whose row summarises instead of naming each module, and why."""

UNNAMED: dict[str, str] = {}
"""Modules of a stage package deliberately left out of the layout table (path under edge/:
why). Empty: name a new module in its package's row instead."""

FLOWS = {
    "### A frame, hop by hop": [
        "capture/pyav.py",
        "capture/rtsp.py",
        "node/camera.py",
        "analysis/analyzer.py",
        "events/camera.py",
        "events/path.py",
    ],
    "### A door edge, hop by hop": ["sensors/contacts.py", "sensors/panel.py", "events/path.py"],
}
"""Each hop-by-hop list and the modules that run its stages: what they import from a stage
package (below) is named in the list."""

FLOW_PACKAGES = {"capture", "analysis", "events", "evidence", "clips", "sensors", "outbox", "link"}
"""Packages whose modules a hop-by-hop list must name when its runners import them."""

NOT_A_HOP = {
    "capture/base.py": "the CameraInput interface, not a hop",
    "capture/redact.py": "credentials out of error text on every path, not a hop",
    "analysis/detect/base.py": "the detector interface, not a hop",
    "analysis/motion/base.py": "the motion-gate interface, not a hop",
}
"""Modules a runner imports that the hop-by-hop lists need not name, and why."""

_NAME = re.compile(r"`([A-Za-z0-9_./]+)`")


def _section(title: str) -> str:
    """The README text from the heading *title* to the next heading; for a hop-by-hop list,
    to the first paragraph of prose after it."""
    text = README.read_text(encoding="utf-8")
    start = text.index(title)
    rest = text[start + len(title) :]
    end = re.search(r"\n#{2,3} |\n\n[A-Z]" if title in FLOWS else r"\n#{2,3} ", rest)
    return rest[: end.start() if end else len(rest)]


def _rows() -> dict[str, str]:
    """The layout table: each package folder its first cell names -> the rest of its row."""
    arch = _section("## Architecture")
    rows: dict[str, str] = {}
    for line in arch.splitlines():
        if not line.startswith("| `"):
            continue
        _, first, rest = line.split("|", 2)
        for folder in re.findall(r"`([a-z_/]+)/`", first):
            rows[folder] = rest
    return rows


def _modules(folder: str) -> list[str]:
    """The modules of the package *folder* (paths under it), sub-packages included, except
    those of a sub-package with a row of its own."""
    base = PACKAGE / folder
    others = {f for f in _rows() if f.startswith(folder + "/")}
    found = []
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(base).as_posix()
        if path.name == "__init__.py" or any(path.is_relative_to(PACKAGE / o) for o in others):
            continue
        found.append(rel)
    return found


def _named(row: str) -> set[str]:
    return set(_NAME.findall(row))


def test_layout_table_has_a_row_for_every_package() -> None:
    """Every package of edge/ has a row (stage packages) or is summarised for a reason."""
    rows = _rows()
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    missing = [p for p in packages if p not in rows and p not in SUMMARISED]
    assert not missing, f"README's layout table has no row for {missing}"
    assert set(STAGES) <= set(rows), sorted(set(STAGES) - set(rows))


@pytest.mark.parametrize("folder", STAGES)
def test_layout_row_names_every_module(folder: str) -> None:
    """Each module of a stage package is named (`name.py` or `sub/name.py`) in its row."""
    names = _named(_rows()[folder])
    unnamed = [
        m
        for m in _modules(folder)
        if not {m, Path(m).name} & names and f"{folder}/{m}" not in UNNAMED
    ]
    assert not unnamed, f"README's `{folder}/` row does not name {unnamed}"


def test_layout_rows_name_only_files_that_exist() -> None:
    """A `name.py` or `sub/` in a row is a file or folder of that row's package."""
    wrong = []
    for folder, row in _rows().items():
        base = PACKAGE / folder
        for name in _named(row):
            is_file = name.endswith(".py") and any(base.rglob(name))
            is_folder = name.endswith("/") and (base / name).is_dir()
            if name.endswith((".py", "/")) and not (is_file or is_folder):
                wrong.append(f"{folder}/: {name}")
    assert not wrong, f"README's layout table names what does not exist: {wrong}"


def test_layer_chain_is_the_layer_tests() -> None:
    """README's layer chain lists the packages in the order tests/architecture enforces."""
    tree = ast.parse(LAYER_TEST.read_text(encoding="utf-8"))
    layers = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "LAYERS"
        and node.value is not None
    )
    order = [p for layer in layers for p in sorted(layer) if p not in {"fakes", "schemas"}]
    chain = re.search(r"```\n(core <- .*)\n```", _section("## Architecture"))
    assert chain, "README's Architecture has no layer chain"
    assert chain[1].split(" <- ") == order


@pytest.mark.parametrize("title", sorted(FLOWS))
def test_flow_names_only_files_that_exist(title: str) -> None:
    """Every `path.py` of a hop-by-hop list is a module under edge/."""
    names = [n for n in _named(_section(title)) if n.endswith(".py")]
    assert names, f"no files in {title!r}"
    missing = [n for n in names if not (PACKAGE / n).is_file()]
    assert not missing, f"{title!r} names files that do not exist: {missing}"


def _imports(module: str) -> set[str]:
    """The edge modules *module* (a path under edge/) imports, as paths under edge/."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edge."):
            parts = node.module.split(".")[1:]
            for candidate in ("/".join(parts) + ".py", "/".join(parts) + "/__init__.py"):
                if (PACKAGE / candidate).is_file():
                    found.add(candidate)
    return found


@pytest.mark.parametrize("title", sorted(FLOWS))
def test_flow_names_every_stage_its_runners_use(title: str) -> None:
    """Each module of a flow package that the list's runners import is named in the list
    (an interface or a cross-cutting helper is exempt, with its reason in NOT_A_HOP)."""
    names = _named(_section(title))
    runners = FLOWS[title]
    assert set(runners) <= names, f"{title!r} does not name its runners {runners}"
    used = {m for r in runners for m in _imports(r) if m.split("/")[0] in FLOW_PACKAGES}
    unnamed = sorted(m for m in used if m not in names and m not in NOT_A_HOP)
    unnamed = [m for m in unnamed if not m.endswith("__init__.py")]
    assert not unnamed, f"{title!r} does not name {unnamed}, which its stages run"
