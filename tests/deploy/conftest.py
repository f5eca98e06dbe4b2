"""The deploy tests' shared fixtures (defined in installed.py), and one pytest-xdist worker
for all of them: they share one installed root and the caches of debroot.py."""

from pathlib import Path

import pytest
from installed import install
from installed import pytest_collection_modifyitems as give_install_its_timeout

__all__ = ["install"]

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put every test of this folder in the xdist group "deploy" (--dist loadgroup); a test
    that uses the shared root gets the fixture's timeout (installed.py)."""
    give_install_its_timeout(items)
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("deploy"))
