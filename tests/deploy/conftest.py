"""The deploy tests' shared fixtures (defined in installed.py)."""

from installed import install

__all__ = ["install"]
