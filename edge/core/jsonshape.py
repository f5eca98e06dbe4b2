"""Narrowing JSON read from a file or a peer (``json.loads`` gives ``object``s) to what the
code expects, with an error naming the place when it is something else: an object, a list
of objects, a number. ``null``, an absent key and an empty value read as empty, as the
``value or {}`` idiom they replace."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeGuard, TypeVar

JsonObject = Mapping[str, object]
"""A JSON object as read: its values are unknown until narrowed."""

T = TypeVar("T")


def _kind(value: object) -> str:
    return type(value).__name__


def as_object(value: object, where: str = "value") -> JsonObject:
    """*value* as a JSON object (empty when it is null or empty); raises ``ValueError``
    naming *where* when it is something else."""
    if isinstance(value, Mapping):
        return value
    if not value:
        return {}
    raise ValueError(f"{where}: expected a JSON object, got {_kind(value)}")


def _list_of(value: object, where: str, noun: str, ok: Callable[[object], TypeGuard[T]]) -> list[T]:
    """*value* as a list of *noun*s, each passing *ok* (empty when it is null or empty);
    raises ``ValueError`` naming *where* (and the entry's index) for anything else."""
    if not value:
        return []
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where}: expected a list of {noun}s, got {_kind(value)}")
    out: list[T] = []
    for i, entry in enumerate(value):
        if not ok(entry):
            raise ValueError(f"{where}[{i}]: expected a {noun}, got {_kind(entry)}")
        out.append(entry)
    return out


def _is_object(value: object) -> TypeGuard[JsonObject]:
    return isinstance(value, Mapping)


def _is_str(value: object) -> TypeGuard[str]:
    return isinstance(value, str)


def as_objects(value: object, where: str = "value") -> list[JsonObject]:
    """*value* as a list of JSON objects (empty when it is null or empty); raises
    ``ValueError`` naming *where* when it or one of its entries is something else."""
    return _list_of(value, where, "JSON object", _is_object)


def as_float(value: object, where: str = "value") -> float:
    """*value* as a float (a number or a numeric string, as ``float()`` takes them); raises
    ``TypeError`` naming *where* for anything else (``ValueError`` for a non-numeric
    string, as ``float()`` does)."""
    if isinstance(value, int | float | str):
        return float(value)
    raise TypeError(f"{where}: expected a number, got {_kind(value)}")


def as_str_or_none(value: object, where: str = "value") -> str | None:
    """*value* as a string or None; raises ``ValueError`` naming *where* for anything else."""
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{where}: expected a string or null, got {_kind(value)}")


def as_strs(value: object, where: str = "value") -> list[str]:
    """*value* as a list of strings (empty when it is null or empty); raises ``ValueError``
    naming *where* when it or one of its entries is something else."""
    return _list_of(value, where, "string", _is_str)


def as_int(value: object, where: str = "value") -> int:
    """*value* as an int (a number or a numeric string, as ``int()`` takes them); raises
    ``TypeError`` naming *where* for anything else."""
    if isinstance(value, int | float | str):
        return int(value)
    raise TypeError(f"{where}: expected an integer, got {_kind(value)}")
