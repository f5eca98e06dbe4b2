"""The node allocates from two malloc arenas, whatever its thread count: ``edge run`` limits
glibc before any thread starts and the systemd unit says the same (``MALLOC_ARENA_MAX``);
a value already in the environment is left to rule."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

from edge.node.memory_arenas import ARENAS, limit_malloc_arenas

PROBE = """
import ctypes, os, sys, tempfile, threading
from edge.node.memory_arenas import limit_malloc_arenas
print(limit_malloc_arenas() if sys.argv[1] == "limit" else "left")
bar = threading.Barrier(12)
def work():
    bar.wait()
    keep = [bytearray(1000) for _ in range(5000)]
    bar.wait()
threads = [threading.Thread(target=work) for _ in range(12)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL("libc.so.6")
libc.fdopen.restype = ctypes.c_void_p
libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fflush.argtypes = [ctypes.c_void_p]
with tempfile.TemporaryFile() as f:
    fp = libc.fdopen(os.dup(f.fileno()), b"w")
    libc.malloc_info(0, fp)
    libc.fflush(fp)
    f.seek(0)
    print(f.read().decode().count("<heap nr="))
"""


def _heaps(mode: str, env: dict[str, str]) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, timeout=60,
        check=True,
    ).stdout.split()  # fmt: skip
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_twelve_threads_share_two_arenas_once_limited() -> None:
    """Twelve threads allocating at once: many arenas unlimited, at most ARENAS limited, and
    a MALLOC_ARENA_MAX already set is left as it is."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _heaps("leave", env)[1] > ARENAS
    assert _heaps("limit", env) == ("set", ARENAS)
    assert _heaps("limit", {**env, "MALLOC_ARENA_MAX": "3"}) == ("environment", 3)


def test_the_unit_sets_the_same_arena_limit() -> None:
    """warehouse-edge.service gives the daemon MALLOC_ARENA_MAX=ARENAS; bad input is refused."""
    unit = (ROOT / "systemd" / "warehouse-edge.service").read_text()
    assert f"Environment=MALLOC_ARENA_MAX={ARENAS}" in unit.splitlines()
    with pytest.raises(ValueError, match="arenas must be >= 1"):
        limit_malloc_arenas(0)


TRIM_PROBE = """
import ctypes
from edge.node.memory_arenas import Trimmer
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
def rss():
    return next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmRSS"))
blocks = [libc.malloc(4096) for _ in range(20000)]
for b in blocks:
    libc.memset(b, 1, 4096)
for b in blocks[:-1]:
    libc.free(b)  # the last one pins the top of the heap: freed pages stay resident
before = rss()
clock = [0.0]
trimmer = Trimmer(60.0, clock=lambda: clock[0])
early = trimmer.maybe()
clock[0] = 61.0
print(early, trimmer.maybe(), trimmer.maybe(), trimmer.trims, before - rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_the_trimmer_hands_freed_pages_back_once_a_minute() -> None:
    """80 MB freed inside the heap stays resident until the trimmer runs; it runs at most
    once per period (a made clock), and then the process's RSS falls by most of it."""
    out = subprocess.run(
        [sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, timeout=60,
        check=True,
    ).stdout.splitlines()[-1].split()  # its last line (logs come before)  # fmt: skip
    assert out[:4] == ["False", "True", "False", "1"]
    assert int(out[4]) > 40_000  # kB given back, of about 80 000
