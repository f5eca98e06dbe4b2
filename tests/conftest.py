"""Shared fixtures: a real mosquitto (plain + mutual TLS) for the whole session, sample data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.demo.broker import LocalBroker
from edge.demo.pki import CertPair, DemoCA

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared").resolve()
VIDEOS = SHARED / "data" / "videos"

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCA:
    """A throwaway CA for the session's broker and clients."""
    return DemoCA(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory, ca: DemoCA) -> Iterator[LocalBroker]:
    """A real mosquitto on free 127.0.0.1 ports, plain and mutual-TLS listeners."""
    b = LocalBroker(tmp_path_factory.mktemp("broker"), ca)
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def node_cert(ca: DemoCA) -> CertPair:
    """Client certificate of the node under test."""
    return ca.issue("test-node")


@pytest.fixture(scope="session")
def police_cert(ca: DemoCA) -> CertPair:
    """Client certificate of the police-side subscriber."""
    return ca.issue("police-test")


@pytest.fixture(scope="session")
def videos() -> Path:
    """Directory of the shared sample videos."""
    if not VIDEOS.is_dir():
        pytest.fail(f"sample videos missing: {VIDEOS} (the tests read ../shared/data)")
    return VIDEOS
