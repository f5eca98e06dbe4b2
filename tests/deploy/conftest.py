"""The deploy tests' shared fixtures (defined in installed.py), and one pytest-xdist worker
for all of them: they share one installed root and the caches of debroot.py."""

from pathlib import Path

import pytest
from installed import install

__all__ = ["install"]

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put every test of this folder in the xdist group "deploy" (--dist loadgroup)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("deploy"))
