"""The systemd unit that runs a config: found by the ``--config`` of its ``ExecStart=``, read
for what the tools need to act as the unit does (``User=``, ``Group=``,
``SupplementaryGroups=`` and ``LoadCredential=``). Outside systemd, ``credential:NAME`` in a
config then means the file the unit hands over as NAME; a command run as root hands those
files over and becomes the unit's user (:mod:`edge.cli.asservice`)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

UNIT_DIRS: tuple[Path, ...] = (
    Path("/etc/systemd/system"),
    Path("/usr/local/lib/systemd/system"),
    Path("/usr/lib/systemd/system"),
    Path("/lib/systemd/system"),
)
"""Where units are looked for, first match wins (systemd's own order for system units)."""
MAX_UNIT_BYTES = 256 * 1024


@dataclass(frozen=True)
class ServiceUnit:
    """What a service unit says about the process it starts."""

    path: Path
    user: str | None = None
    group: str | None = None
    supplementary_groups: tuple[str, ...] = ()
    credentials: dict[str, Path] = field(default_factory=dict)
    """``LoadCredential=NAME:PATH`` (absolute paths only), in the unit's order."""
    skipped: tuple[str, ...] = ()
    """``LoadCredential=`` lines not understood here (a credstore lookup, a relative path)."""

    @property
    def name(self) -> str:
        """The unit's file name (``warehouse-edge.service``)."""
        return self.path.name


def _logical_lines(text: str) -> list[str]:
    """The unit's lines with backslash continuations joined and comments dropped."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def parse(path: Path, text: str) -> tuple[ServiceUnit, list[list[str]]]:
    """The unit at *path* (its *text*) and the argv of each of its ``ExecStart=`` lines."""
    section = ""
    user = group = None
    groups: list[str] = []
    creds: dict[str, Path] = {}
    skipped: list[str] = []
    execs: list[list[str]] = []
    for line in _logical_lines(text):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if section != "Service" or not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "ExecStart" and value:
            try:
                argv = shlex.split(value.lstrip("@-:+!"))
            except ValueError:
                continue
            execs.append(argv)
        elif key == "User":
            user = value or None
        elif key == "Group":
            group = value or None
        elif key == "SupplementaryGroups":
            groups = groups + value.split() if value else []
        elif key == "LoadCredential":
            if not value:
                creds, skipped = {}, []
                continue
            name, _, source = value.partition(":")
            if source.startswith("/") and name and "/" not in name:
                creds[name] = Path(source)
            else:
                skipped.append(value)
    unit = ServiceUnit(path, user, group, tuple(groups), creds, tuple(skipped))
    return unit, execs


def _config_of(argv: Sequence[str]) -> str | None:
    """The ``--config``/``-c`` value of an ``edge`` command line, or None."""
    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def _same(a: str | os.PathLike[str], b: Path) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except (OSError, ValueError):
        return False


def unit_for(
    config: str | os.PathLike[str], dirs: Sequence[Path] | None = None
) -> ServiceUnit | None:
    """The service unit whose ``ExecStart=`` runs ``edge ... --config CONFIG`` (the same file,
    links resolved), from *dirs* (default :data:`UNIT_DIRS`); None when no unit does. A unit
    file that cannot be read is passed over."""
    seen: set[str] = set()
    folders = UNIT_DIRS if dirs is None else dirs
    for folder in folders:
        try:
            files = sorted(folder.glob("*.service"))
        except OSError:
            continue
        for path in files:
            if path.name in seen:
                continue  # an earlier folder's unit of this name overrides it
            seen.add(path.name)
            try:
                if path.stat().st_size > MAX_UNIT_BYTES:
                    continue
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            unit, execs = parse(path, text)
            for argv in execs:
                named = _config_of(argv)
                if named and _same(named, Path(config)):
                    return _with_drop_ins(unit, text, folders)
    return None


def _with_drop_ins(unit: ServiceUnit, text: str, folders: Sequence[Path]) -> ServiceUnit:
    """*unit* with its drop-ins (``NAME.d/*.conf`` of every unit folder, in file-name order,
    the first folder's file winning a name) applied after the unit's own *text*."""
    confs: dict[str, Path] = {}
    for folder in folders:
        try:
            for conf in (folder / f"{unit.name}.d").glob("*.conf"):
                confs.setdefault(conf.name, conf)
        except OSError:
            continue
    if not confs:
        return unit
    parts = [text]
    for name in sorted(confs):
        try:
            parts.append(confs[name].read_text(encoding="utf-8")[:MAX_UNIT_BYTES])
        except (OSError, UnicodeDecodeError):
            continue
    return parse(unit.path, "\n".join(parts))[0]
