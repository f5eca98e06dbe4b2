"""Every import counts on a node (docs/memory.md): importing every module a node runs (the
command line, capture, analysis, clips, delivery, sensors; not the receiver, the benches, the
demo or ``edge eval``) in a fresh interpreter loads none of the heavy packages a node does
not need. SciPy and supervision alone cost a node 62 MB (ByteTrack's old library)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy", "supervision", "matplotlib", "pandas", "PIL", "requests", "torch",
         "ultralytics", "motmetrics", "onnx")  # fmt: skip

CODE = """
import importlib, pkgutil, sys
import edge
OFF_NODE = ("edge.receiver", "edge.bench", "edge.demo", "edge.fakes")
OFF_NAMES = ("evaluate", "quantize", "ultralytics", "__main__")
n = 0
for m in pkgutil.walk_packages(edge.__path__, "edge."):
    last = m.name.rsplit(".", 1)[-1]
    if m.name.startswith(OFF_NODE) or any(s in last for s in OFF_NAMES):
        continue
    importlib.import_module(m.name)
    n += 1
heavy = sorted({k.split(".")[0] for k in sys.modules} & set(sys.argv[1:]))
print(n, " ".join(heavy))
"""


def test_a_nodes_modules_import_no_heavy_package() -> None:
    """Over a hundred node modules import; not one of the heavy packages comes with them."""
    out = subprocess.run(
        [sys.executable, "-c", CODE, *HEAVY],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert int(out[0]) > 100, out
    assert out[1:] == [], f"a node module imports {out[1:]}"
