"""The shape of the package, checked: imports point one way along the data flow, no module
imports itself back through others, only the link (and the receiver, and the test-only
clients) speaks MQTT, the outbox sits below the link, the receiver imports no node stage,
test-only clients stay out of the product path, and no module grows past the size a reader
can hold in mind."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "edge"

LAYERS: list[set[str]] = [
    {"core", "fakes", "schemas"},
    {"config"},
    {"wire"},
    {"capture"},
    {"analysis"},
    {"events"},
    {"evidence"},
    {"pki"},
    {"clips"},
    {"sensors"},
    {"outbox"},
    {"link"},
    {"node"},
    {"report"},
    {"receiver"},
    {"demo"},
    {"bench"},
    {"cli"},
]
"""Lowest first: a package may import from its own layer's package or from lower layers."""

MAX_LINES = 400
MQTT_PACKAGES = {"link", "receiver", "demo", "bench"}
"""Who may import paho: the node's link, the receiver, and the test-only clients."""
MQTT_MODULES = {"edge.wire.mqtt5"}
"""...and, of the shared packages, only the module that types paho's MQTT 5 properties and
sets up its clients for all of them."""

NODE_STAGES = {"capture", "analysis", "events", "clips", "sensors", "outbox", "link", "node"}
"""The node's own stages: the receiver imports none of them (what both sides share lives in
``wire``, ``evidence``, ``core``, ``config``)."""

TEST_ONLY = {"demo", "bench"}
"""Clients for the demo, tests and benchmarks (the police-side subscriber, the simulated fleet):
no product package imports them."""

PRODUCT = NODE_STAGES | {"core", "config", "wire", "evidence", "pki", "report", "receiver"}
"""What runs in the field, on the node or the police side."""


def _rank(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise AssertionError(f"edge/{package}/ is in no layer: add it to LAYERS in {__file__}")


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute import in the module, at any depth (TYPE_CHECKING blocks and function
    bodies included): (line, imported module or module.name)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def _package_of(module: str) -> str | None:
    """The stage package of ``edge.X...`` (None for ``edge`` itself)."""
    parts = module.split(".")
    if parts[0] != "edge" or len(parts) < 2:
        return None
    candidate = PACKAGE / parts[1]
    if candidate.is_dir():
        return parts[1]
    return None  # a top-level module of edge (edge.__version__, edge/__main__.py)


MODULES = dict(_modules())


def _target_module(name: str) -> str | None:
    """The edge module an import refers to (``edge.a.b.Name`` -> ``edge.a.b``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def test_every_module_sits_in_a_layer() -> None:
    """Each folder of edge/ is placed in the layer order (a new stage must be placed)."""
    for module in MODULES:
        package = _package_of(module)
        if package is not None:
            _rank(package)


def test_imports_point_one_way() -> None:
    """capture <- analysis <- events <- evidence/clips <- sensors <- delivery <- node <- cli:
    nothing imports a package of a higher layer, not even under TYPE_CHECKING."""
    upward = []
    for module, path in MODULES.items():
        own = _package_of(module)
        if own is None:
            continue
        for line, name in _imports(path):
            target = _package_of(name)
            if target is not None and _rank(target) > _rank(own):
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert not upward, "imports against the flow:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    """No module reaches itself through its imports (TYPE_CHECKING imports count too)."""
    graph = {
        m: {t for _, n in _imports(p) if (t := _target_module(n)) and t != m}
        for m, p in MODULES.items()
    }
    done: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[str] = []

    def visit(m: str) -> None:
        stack.append(m)
        on_stack.add(m)
        for t in sorted(graph.get(m, ())):
            if t in on_stack:
                cycles.append(" -> ".join([*stack[stack.index(t) :], t]))
            elif t not in done:
                visit(t)
        stack.pop()
        on_stack.discard(m)
        done.add(m)

    for m in sorted(graph):
        if m not in done:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_only_the_link_speaks_mqtt() -> None:
    """paho is imported by the node's link, the receiver, the test-only clients and, of the
    shared ``wire``, its one module ``edge.wire.mqtt5`` alone."""
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for module, path in MODULES.items()
        for line, name in _imports(path)
        if name.split(".")[0] == "paho"
        and _package_of(module) not in MQTT_PACKAGES
        and module not in MQTT_MODULES
    ]
    where = "link/receiver/demo/bench and wire/mqtt5.py"
    assert not offenders, f"paho imported outside {where}: " + ", ".join(offenders)
    assert MODULES.keys() >= MQTT_MODULES, f"no such module: {MQTT_MODULES - MODULES.keys()}"


def _crossings(sources: set[str], targets: set[str]) -> list[str]:
    """Imports from a module of a *sources* package into a *targets* package."""
    return [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for module, path in MODULES.items()
        if _package_of(module) in sources
        for line, name in _imports(path)
        if _package_of(name) in targets
    ]


def test_the_outbox_sits_below_the_link() -> None:
    """The outbox (what was accepted) never imports the link (how it leaves): a message is
    stored before any link can see it."""
    assert _rank("outbox") < _rank("link")
    assert not _crossings({"outbox", "wire"}, {"link"}), _crossings({"outbox", "wire"}, {"link"})


def test_the_receiver_imports_no_node_stage() -> None:
    """The police side runs without the node's stages: it shares only ``wire``, ``evidence``,
    ``core``, ``config`` and the report's reconciliation."""
    found = _crossings({"receiver"}, NODE_STAGES)
    assert not found, "the receiver imports node stages:\n" + "\n".join(found)


def test_test_only_clients_stay_out_of_the_product() -> None:
    """No product package imports the demo's subscriber or the bench's simulated fleet."""
    found = _crossings(PRODUCT, TEST_ONLY)
    assert not found, "product code imports a test-only client:\n" + "\n".join(found)


def test_every_package_is_product_or_test_only() -> None:
    """Each package of edge/ is classed (cli and fakes aside), so a new one is placed."""
    packages = {p for m in MODULES if (p := _package_of(m)) is not None}
    unclassed = packages - PRODUCT - TEST_ONLY - {"cli", "fakes", "schemas"}
    assert not unclassed, f"class these packages in {__file__}: {sorted(unclassed)}"


@pytest.mark.parametrize("root", ["edge", "tests"])
def test_no_module_is_too_long(root: str) -> None:
    """No module (code or test) is longer than MAX_LINES lines."""
    base = PACKAGE.parent / root
    long = [
        f"{p.relative_to(base.parent)}: {n} lines"
        for p in sorted(base.rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "modules over the limit:\n" + "\n".join(long)


def test_the_composition_root_only_wires() -> None:
    """The node's composition root stays a page of wiring (under 150 lines)."""
    lines = len((PACKAGE / "node" / "node.py").read_text().splitlines())
    assert lines < 150, f"edge/node/node.py has {lines} lines"


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The layer check is able to fail: an import of edge.node from capture is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import edge.node.node\n"
    )
    found = [n for _, n in _imports(bad)]
    assert found == ["typing.TYPE_CHECKING", "edge.node.node"]
    assert _rank(_package_of("edge.node.node") or "") > _rank("capture")
