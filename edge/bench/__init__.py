"""Benchmarks behind ``edge bench``: each prints figures, none asserts a time."""
