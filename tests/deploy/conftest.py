"""The deploy tests' shared fixtures (defined in installed.py)."""

from installed import install, pytest_collection_modifyitems

__all__ = ["install", "pytest_collection_modifyitems"]
