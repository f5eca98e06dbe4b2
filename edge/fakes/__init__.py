"""Typed fakes of hardware that cannot exist on a development machine, shaped like the real
APIs so the production adapters run unchanged against them."""
