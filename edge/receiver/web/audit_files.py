"""The bundles behind ``/audit/reports``: the nodes' sharing reports put under
``[transparency] reports_dir`` (each a directory with ``report.json``, at most two levels
down) and the receiver exports made from the page (``exports_dir``); each checked as a third
party would (:mod:`edge.report.reconcile_load`: signature, files, chain) with the keys this
receiver knows (the node's enrolled keys, its own audit keys; an export by
:func:`edge.receiver.access.verify.verify_export` too), and each node report reconciled
(:func:`edge.report.reconcile.reconcile`) with the newest export that covers its period and
node."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.core.errors import EvidenceError
from edge.core.logs import get_logger
from edge.evidence.keys import SigningKeyError, key_id
from edge.receiver.access.verify import verify_export
from edge.receiver.store import lookups
from edge.receiver.store.database import Database
from edge.report.reconcile import reconcile
from edge.report.reconcile_load import Loaded, load, read_keys

log = get_logger(__name__)

REPORT, EXPORT = "report.json", "export.json"
MAX_LISTED = 200
"""Bundles listed at most (newest first)."""
SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,120}$")
MAX_CHECKED = 256
"""Checked bundles remembered (a bundle is checked again only when a file of it changes)."""


@dataclass
class Bundle:
    """One bundle as the page shows it."""

    name: str
    """Its path under its root (``a/b``), the name its download link uses."""
    path: Path
    doc: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    loaded: Loaded | None = None
    reconciled: dict[str, object] | None = None
    """The reconciliation with :attr:`matched` (``as_dict()``), None when no export fits."""
    matched: str | None = None
    """The export it was reconciled with."""

    @property
    def period(self) -> tuple[float, float]:
        """(since, until) as the document says (0, 0 when it does not)."""
        p = self.doc.get("period") or {}
        try:
            return float(p.get("since") or 0), float(p.get("until") or 0)
        except (TypeError, ValueError):
            return 0.0, 0.0

    @property
    def verified(self) -> bool:
        """Signature, files and chain all check with a key this receiver knows."""
        return self.loaded is not None and not self.problems


_checked: dict[tuple[str, str, tuple[tuple[str, int, int], ...], tuple[str, ...]], Bundle] = {}
"""Bundles checked, by their files' stamps and the keys (oldest first)."""


def _found(root: Path, main: str, depth: int) -> Iterator[Path]:
    if not root.is_dir():
        return
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.is_symlink():
            if (child / main).is_file():
                yield child
            elif depth > 1:
                yield from _found(child, main, depth - 1)


def _newest_first(paths: list[Path], main: str) -> list[Path]:
    return sorted(paths, key=lambda p: (p / main).stat().st_mtime, reverse=True)[:MAX_LISTED]


def _keys(pems: list[str]) -> list[Ed25519PublicKey]:
    try:
        return read_keys(pems)
    except EvidenceError as e:
        log.warning("audit.key_unreadable", error=str(e))
        return []


def node_keys(db: Database, site: str, node: str) -> list[Ed25519PublicKey]:
    """Every key *site*/*node* was enrolled with (current and replaced)."""
    return _keys(lookups.node_public_keys(db, site, node))


def receiver_keys(db: Database) -> list[Ed25519PublicKey]:
    """This receiver's audit keys (every one it has signed with)."""
    return _keys(lookups.receiver_public_keys(db))


def _stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under *path* with its mtime and size: a change to any shows."""
    out = []
    for f in sorted(path.rglob("*")):
        st = f.lstat()
        out.append((f.relative_to(path).as_posix(), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _read(root: Path, path: Path, main: str, keys: list[Ed25519PublicKey]) -> Bundle:
    """*path* checked (from :data:`_checked` when none of its files changed since)."""
    name = path.relative_to(root).as_posix()
    try:
        key = (str(path), main, _stamp(path), tuple(key_id(k) for k in keys))
    except OSError as e:
        return Bundle(name, path, {}, problems=[str(e)])
    found = _checked.get(key)
    if found is None:
        found = _check(path, name, main, keys)
        if len(_checked) >= MAX_CHECKED:
            _checked.pop(next(iter(_checked)))
        _checked[key] = found
    return replace(found, name=name, problems=list(found.problems), notes=list(found.notes))


def _check(path: Path, name: str, main: str, keys: list[Ed25519PublicKey]) -> Bundle:
    try:
        loaded = load(path, main, keys)
    except (EvidenceError, SigningKeyError, OSError) as e:
        return Bundle(name, path, {}, problems=[str(e)])
    if not keys:
        loaded.problems.append("no key of its maker is known to this receiver")
    bundle = Bundle(name, path, loaded.doc, list(loaded.problems), list(loaded.notes), loaded)
    if main == EXPORT and keys:  # the receiver's own check too: each access is its record
        own = verify_export(path, keys).problems
        bundle.problems += [p for p in own if p not in bundle.problems]
    return bundle


def exports(db: Database, root: Path) -> list[Bundle]:
    """The receiver exports under *root*, newest first, each checked with this receiver's
    keys."""
    keys = receiver_keys(db)
    found = _newest_first(list(_found(root, EXPORT, 1)), EXPORT)
    return [_read(root, path, EXPORT, keys) for path in found]


def _covers(export: Bundle, site: str, node: str, period: tuple[float, float]) -> bool:
    f = export.doc.get("filters") or {}
    if f.get("user") or f.get("site") not in (None, site) or f.get("node") not in (None, node):
        return False
    since, until = export.period
    return since <= period[0] and until >= period[1]


def reports(db: Database, root: Path, made: list[Bundle]) -> list[Bundle]:
    """The node reports under *root*, newest first, each checked with its node's enrolled
    keys and reconciled with the newest of *made* that covers its node and period."""
    out = []
    for path in _newest_first(list(_found(root, REPORT, 2)), REPORT):
        try:
            doc = json.loads((path / REPORT).read_text())
            site, node = str(doc.get("site")), str(doc.get("node"))
        except (OSError, ValueError, AttributeError):
            site = node = ""
        bundle = _read(root, path, REPORT, node_keys(db, site, node) if site else [])
        match = next((e for e in made if e.loaded and _covers(e, site, node, bundle.period)), None)
        if bundle.loaded is not None and match is not None and match.loaded is not None:
            result = reconcile(bundle.doc, match.doc, report_chain=bundle.loaded.records,
                               export_chain=match.loaded.records, report_problems=bundle.problems,
                               export_problems=match.problems)  # fmt: skip
            bundle.reconciled, bundle.matched = result.as_dict(), match.name
        out.append(bundle)
    return out


def bundle_dir(root: Path, name: str, main: str) -> Path | None:
    """The bundle *name* (``a`` or ``a/b``, as listed) under *root*, if it is one."""
    parts = name.split("/")
    if not 1 <= len(parts) <= 2 or not all(
        SAFE_NAME.match(p) and p not in (".", "..") for p in parts
    ):
        return None
    path = root.joinpath(*parts)
    if path.is_symlink() or not (path / main).is_file():
        return None
    return path


def zipped(directory: Path) -> IO[bytes]:
    """*directory* as a zip (its files under the directory's name), rewound."""
    out: IO[bytes] = SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 (returned)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.is_symlink():
                z.write(path, f"{directory.name}/{path.relative_to(directory).as_posix()}")
    out.seek(0)
    return out
