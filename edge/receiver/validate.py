"""The wire schema every message is held to before anything of it is stored (docs/mqtt.md,
"What a receiver accepts"): topic levels and user properties are short ASCII of a known
form, JSON payloads are valid UTF-8 without NUL or lone surrogates anywhere, and the
fields the receiver reads (of events, heartbeats, statuses, clip manifests) have the
types and lengths the node sends. A breach raises :class:`Invalid`, whose text names the
field and the problem; the message is then quarantined as ``malformed``."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
"""A site or node level (as ``node.site`` and ``node.id`` of the node's config)."""
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A clip or snapshot id level: a UUID in canonical lowercase form (nodes make UUIDv7)."""
CHUNK = re.compile(r"[0-9]{1,6}")
"""A chunk number level: ASCII digits only (``"²".isdigit()`` is True, ``int`` fails)."""
MESSAGE_ID = re.compile(r"[0-9a-z][0-9a-z/_.-]{0,127}")
"""The ``id`` user property (``EVENT_ID``, ``CLIP_ID/manifest``, ``snapshot/ID``, ...)."""
KEY_ID = re.compile(r"[0-9a-f]{16}")
"""The ``kid`` user property."""
SIGNATURE = re.compile(r"[A-Za-z0-9+/]{1,200}={0,2}")
"""The ``sig`` user property (base64; an Ed25519 signature is 88 characters)."""
KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""An event's kind."""
SHA256 = re.compile(r"[0-9a-f]{64}")

MAX_JSON = 1 << 20
"""An event, heartbeat or manifest is a few kilobytes; a larger JSON payload is refused."""
MAX_DEPTH = 32
"""Nesting of objects and arrays in a JSON payload."""
MAX_TEXT = 256
"""Characters in one text field the receiver stores in a column of its own."""

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
"""NUL (PostgreSQL text refuses it) and lone surrogates (no UTF-8 encoding exists)."""


class Invalid(ValueError):
    """A message that breaks the schema; the text names the field and what is wrong."""


def safe_text(value: object, limit: int = 1024) -> str:
    """*value* as text any store column takes: NUL and lone surrogates escaped
    (``\\x00``, ``\\ud800``), at most *limit* characters (for what a quarantine row keeps
    of a message that failed the schema)."""
    text = value if isinstance(value, str) else str(value)
    if _BAD_CHARS.search(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= limit else text[:limit] + "..."


def level(value: str, pattern: re.Pattern[str], what: str) -> str:
    """*value* if it matches *pattern* entirely, else :class:`Invalid` naming *what*."""
    if not pattern.fullmatch(value):
        raise Invalid(f"{what} {safe_text(value, 80)!r} is not of the form {pattern.pattern}")
    return value


def properties(props: Mapping[str, str]) -> None:
    """The user properties the receiver reads (``id``, ``kid``, ``sig``) are, when present,
    short ASCII of their form."""
    for key, pattern in (("id", MESSAGE_ID), ("kid", KEY_ID), ("sig", SIGNATURE)):
        value = props.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise Invalid(f"user property {key} is not text")
            level(value, pattern, f"user property {key}")


def json_object(payload: bytes, what: str) -> dict[str, object]:
    """*payload* parsed as one JSON object: UTF-8 (UTF-16 and UTF-32, which ``json.loads``
    would take from bytes, are refused), no NaN or Infinity, nested at most
    :data:`MAX_DEPTH` deep, and no NUL or lone surrogate in any key or string."""
    if len(payload) > MAX_JSON:
        raise Invalid(f"{what} payload of {len(payload)} bytes is over {MAX_JSON}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid(f"{what} payload is not UTF-8 (byte {e.start}): {e.reason}") from e
    if text.startswith("\ufeff"):
        raise Invalid(f"{what} payload starts with a BOM")
    try:
        data = _DECODER.decode(text)
    except RecursionError as e:
        raise Invalid(f"{what} payload is nested too deep") from e
    except ValueError as e:
        raise Invalid(f"{what} payload is not JSON: {safe_text(e, 200)}") from e
    if not isinstance(data, dict):
        raise Invalid(f"{what} payload is not a JSON object")
    # Fast path: valid UTF-8 carries no raw surrogate and JSON no raw NUL, so without a
    # \u escape no string can hold either; and fewer brackets than MAX_DEPTH cannot nest
    # deeper. Only other payloads are walked.
    if "\\u" in text or text.count("[") + text.count("{") > MAX_DEPTH:
        _clean(data, what)
    return data


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
"""One decoder for every payload (``json.loads`` with an argument makes one per call)."""


def _clean(data: object, what: str) -> None:
    """Walk *data* (without recursion): depth, and no NUL or surrogate in any string."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _BAD_CHARS.search(value):
                raise Invalid(f"{what} payload has NUL or a lone surrogate in {value[:40]!r}")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise Invalid(f"{what} payload is nested deeper than {MAX_DEPTH}")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for k, v in items:
                if isinstance(k, str):
                    stack.append((k, depth))
                stack.append((v, depth + 1))


def text(data: Mapping[str, object], key: str, what: str, *, null: bool = True) -> str | None:
    """``data[key]``: a printable string of at most :data:`MAX_TEXT` characters (or
    missing/null when *null*)."""
    value = data.get(key)
    if value is None and null:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT or not value.isprintable():
        raise Invalid(f"{what} field {key!r} is not a printable string of <= {MAX_TEXT}")
    return value


def _number(data: Mapping[str, object], key: str, what: str, kind: type | tuple[type, ...]) -> None:
    value = data.get(key)
    if value is None:
        return
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        name = "an integer" if kind is int else "a number"
        raise Invalid(f"{what} field {key!r} is not {name} or null: {safe_text(value, 40)!r}")


def _mapping(data: Mapping[str, object], key: str, what: str) -> dict[str, object]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"{what} field {key!r} is not an object")
    return value


def _strings(data: Mapping[str, object], key: str, what: str) -> None:
    value = data.get(key)
    if value is None:
        return
    if not isinstance(value, list) or len(value) > 1000:
        raise Invalid(f"{what} field {key!r} is not a list of strings")
    for item in value:
        if not isinstance(item, str) or len(item) > MAX_TEXT:
            raise Invalid(f"{what} field {key!r} holds {safe_text(item, 40)!r}, not a string")


EVENT_TEXT = ("severity", "state", "camera", "sensor", "incident", "clip_id", "snapshot_id",
              "time")  # fmt: skip
"""Event fields stored in columns of their own (with ``kind`` and ``id``)."""


def event(data: Mapping[str, object], message_id: str) -> None:
    """An event: its ``id`` is the message id (of the ``id`` property's form; nodes make
    UUIDv7), a kind, bounded text fields, a list of zone names and a ``data`` object."""
    if data.get("id") != message_id:
        raise Invalid("event id does not match the message id")
    value = data.get("kind")
    if not isinstance(value, str) or not KIND.fullmatch(value):
        raise Invalid(f"event field 'kind' is not of the form {KIND.pattern}")
    for key in EVENT_TEXT:
        text(data, key, "event")
    _strings(data, "zones", "event")
    _mapping(data, "data", "event")


def health(data: Mapping[str, object]) -> None:
    """A heartbeat: the fields the receiver stores or shows have the schema's types
    (``edge/schemas/health.schema.json``); each may be missing."""
    for key in ("status", "version", "key_id"):
        text(data, key, "heartbeat")
    head = data.get("audit_head")
    if head is not None and not (isinstance(head, str) and SHA256.fullmatch(head)):
        raise Invalid("heartbeat field 'audit_head' is not a sha256 in hex")
    for key in ("cpu_temp_c", "time", "uptime_s"):
        _number(data, key, "heartbeat", (int, float))
    for key in ("disk_free_bytes", "clips_bytes", "clips_evicted"):
        _number(data, key, "heartbeat", int)
    if data.get("clock_synced") not in (None, True, False):
        raise Invalid("heartbeat field 'clock_synced' is not true, false or null")
    for key in ("queue", "cameras", "links"):
        for name, inner in _mapping(data, key, "heartbeat").items():
            if not isinstance(inner, dict):
                raise Invalid(f"heartbeat field {key!r}: {safe_text(name, 40)!r} is no object")
            if key == "queue":
                for cls in inner:
                    _number(inner, cls, f"heartbeat queue {safe_text(name, 40)!r}", int)
            elif key == "links":
                _link(inner, f"heartbeat link {safe_text(name, 40)!r}")
    _mapping(data, "storage", "heartbeat")
    _mapping(data, "outbox_counters", "heartbeat")
    _strings(data, "reasons", "heartbeat")


LINK_DAYS = ("cert_days", "ca_days", "crl_days")
"""A heartbeat link's days to its TLS files' expiry (numbers or null)."""


def _link(link: Mapping[str, object], what: str) -> None:
    """The fields of a heartbeat's link entry the receiver reads (:mod:`~edge.receiver.expiry`)."""
    for key in LINK_DAYS:
        _number(link, key, what, (int, float))
    text(link, "certificate_refused", what)


def manifest(m: Mapping[str, object]) -> None:
    """A clip's signed manifest: the fields the receiver stores."""
    text(m, "camera", "manifest")
    digest = m.get("sha256")
    if not isinstance(digest, str) or not SHA256.fullmatch(digest):
        raise Invalid("manifest field 'sha256' is not a sha256 in hex")
    size = m.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        raise Invalid("manifest field 'size' is not an integer")
