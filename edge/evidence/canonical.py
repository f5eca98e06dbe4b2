"""The one byte form of a JSON object that gets hashed or signed."""

from __future__ import annotations

import json


def canonical(obj: object) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same object always gives the same bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
