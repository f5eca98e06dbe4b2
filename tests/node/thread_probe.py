"""A fresh process for the thread-count test: for each node config given, start the real Node,
wait until every camera analyses frames, sample the process's threads for a while (Python's
``threading.active_count()`` and the kernel's ``Threads:`` from /proc/self/status, which counts
FFmpeg's and ONNX Runtime's own threads too), stop it and print the figures as one JSON line.
Then, alone, how many threads FFmpeg adds to decode one input and to encode one masked
camera's frames.

Usage: ``python thread_probe.py SECONDS VIDEO CONFIG...``
"""

from __future__ import annotations

import gc
import json
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from edge.capture.file import FileInput
from edge.capture.frame import Frame
from edge.clips.encoder import FrameEncoder
from edge.config.loader import load
from edge.core import logs
from edge.node.node import Node


def os_threads() -> int:
    """The kernel's thread count of this process (what systemd's TasksMax counts)."""
    m = re.search(r"^Threads:\s+(\d+)", Path("/proc/self/status").read_text(), re.MULTILINE)
    assert m is not None
    return int(m.group(1))


def measure(config: Path, seconds: float) -> dict[str, Any]:
    """Threads of a node running *config*: before start, steady and peak while it runs."""
    node = Node(load(config))
    built = os_threads()
    node.start()
    try:
        deadline = time.monotonic() + 60
        while any(w.frames_analysed < 3 for w in node.cameras):
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"cameras did not run: {[w.frames_analysed for w in node.cameras]}"
                )
            time.sleep(0.05)
        frames_at_start = sum(w.frames_analysed for w in node.cameras)
        samples: list[tuple[int, int]] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            samples.append((os_threads(), threading.active_count()))
            time.sleep(0.05)
        frames = sum(w.frames_analysed for w in node.cameras) - frames_at_start
    finally:
        node.stop()
    cameras = len(node.cameras)
    del node
    gc.collect()  # the node's codecs are freed with it
    os_counts = sorted(s[0] for s in samples)
    return {
        "cameras": cameras,
        "built_os": built,
        "os_steady": os_counts[len(os_counts) // 2],
        "os_peak": os_counts[-1],
        "python_peak": max(s[1] for s in samples),
        "frames": frames,
        "after_stop_os": os_threads(),
    }


def codec_threads(video: Path) -> dict[str, int]:
    """Threads FFmpeg adds, in this process, to decode one file input to BGR frames (beyond
    the thread reading it), and to encode frames with libx264 as a masked camera's recorder
    does."""
    before = os_threads()
    inp = FileInput("probe", video)
    frames = inp.stream()
    first = next(frames)
    decoding = os_threads() - before
    inp.close()
    for _ in frames:  # ends at the next packet: closed
        pass
    assert isinstance(first, Frame)
    before = os_threads()
    encoder = FrameEncoder("probe", 10.0)
    encoder.encode(first)
    encoding = os_threads() - before
    encoder.close()
    return {"decoder_threads": decoding, "encoder_threads": encoding}


def main() -> int:
    """Print one JSON line per config, then one for the decoder."""
    logs.configure("warning", "json")
    seconds, video = float(sys.argv[1]), Path(sys.argv[2])
    for config in sys.argv[3:]:
        print(json.dumps(measure(Path(config), seconds)), flush=True)
    print(json.dumps(codec_threads(video)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
