"""A tool run as root acts as systemd runs the service: before it touches any state it hands
the credentials that the config's unit names (``LoadCredential=``) over in a private
directory (``$CREDENTIALS_DIRECTORY``) and becomes the unit's user (``User=``, ``Group=``,
``SupplementaryGroups=``; without a unit, the owner of the data directory). So ``sudo edge
check-config`` checks what the daemon will find, and ``sudo edge receive ... enrol`` leaves
no root-owned file in the receiver's data directory. Run as any other user, nothing changes.
"""

from __future__ import annotations

import atexit
import grp
import os
import pwd
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from edge.cli.common import EXIT_USAGE
from edge.config.serviceunit import ServiceUnit, unit_for

if TYPE_CHECKING:
    from edge.config.root import EdgeConfig

C = TypeVar("C")

SHM = Path("/dev/shm")  # noqa: S108 (a private 0700 directory is made in it)
"""Where the handed-over credentials go (memory); the temp directory when it is not a
sticky, world-writable folder (the user the command becomes removes them at exit)."""


@dataclass
class Became:
    """What :func:`become_service` did."""

    user: str | None = None
    """The user this process became; None: it stayed who it was."""
    unit: ServiceUnit | None = None
    credentials: Path | None = None
    """The private directory the unit's credentials were handed over in, or None."""
    problems: list[str] = field(default_factory=list)
    """Credentials the unit names that could not be handed over (systemd would not start)."""

    @property
    def changed(self) -> bool:
        """Whether a config loaded before must be loaded again: its credential: paths now
        point into the handed-over directory."""
        return self.credentials is not None


def invoking_user() -> str:
    """Who ran the command: the sudo caller when root through sudo, else this process's user."""
    sudo_user = os.environ.get("SUDO_USER")
    if os.geteuid() == 0 and sudo_user:
        return sudo_user
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _owner(path: Path | None) -> tuple[str | None, int, int] | None:
    """(name or None, uid, gid) of *path* when it exists and is not root's."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    if st.st_uid == 0:
        return None
    try:
        name: str | None = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        name = None
    return name, st.st_uid, st.st_gid


def _identity(unit: ServiceUnit | None, data_dir: Path | None) -> tuple[str, int, int] | None:
    """(user, uid, gid) to become: the unit's User= (and Group=), else the data directory's
    owner; None to stay root. A User= with no account is a configuration fault (exit 2)."""
    if unit is not None and unit.user and unit.user != "root":
        try:
            pw = pwd.getpwnam(unit.user)
            gid = grp.getgrnam(unit.group).gr_gid if unit.group else pw.pw_gid
        except KeyError as e:
            print(
                f"{unit.path}: User={unit.user} Group={unit.group or ''}: no such account "
                f"({e.args[0]}): run the playbook that installs it",
                file=sys.stderr,
            )
            raise SystemExit(EXIT_USAGE) from e
        return unit.user, pw.pw_uid, gid
    owner = _owner(data_dir)
    if owner is None:
        return None
    name, uid, gid = owner
    return name or str(uid), uid, gid


def _groups(user: str, gid: int, unit: ServiceUnit | None) -> list[int]:
    """The user's groups, plus the unit's SupplementaryGroups= that exist."""
    try:
        groups = set(os.getgrouplist(user, gid))
    except (KeyError, OSError):  # no passwd entry: the primary group alone
        groups = {gid}
    for name in unit.supplementary_groups if unit else ():
        try:
            groups.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            continue
    return sorted(groups)


def _sticky(folder: Path) -> bool:
    """Whether *folder* is like /tmp: world-writable with the sticky bit."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) and mode & (stat.S_ISVTX | stat.S_IWOTH) == (
        stat.S_ISVTX | stat.S_IWOTH
    )


def hand_over(unit: ServiceUnit, uid: int, gid: int) -> tuple[Path, list[str]]:
    """Copy the unit's credentials (read as root) into a new private directory owned by
    *uid*:*gid* (0700, files 0400), removed when this process exits; with the sources that
    were missing or unreadable, one line each."""
    base = next((d for d in (SHM, Path(tempfile.gettempdir())) if _sticky(d)), None)
    folder = Path(tempfile.mkdtemp(prefix=f"edge-credentials.{unit.name}.", dir=base))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    problems: list[str] = []
    for name, source in unit.credentials.items():
        try:
            data = source.read_bytes()
        except OSError as e:
            problems.append(
                f"{source}: {e.strerror or e} (LoadCredential={name} of {unit.path}: systemd "
                "does not start the service without it)"
            )
            continue
        target = folder / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chown(target, uid, gid)
    os.chown(folder, uid, gid)
    return folder, problems


def drop_to(user: str, uid: int, gid: int, unit: ServiceUnit | None) -> None:
    """Become *user* for good: supplementary groups, group, then user (no way back)."""
    os.setgroups(_groups(user, gid, unit))
    os.setgid(gid)
    os.setuid(uid)
    os.environ.update(USER=user, LOGNAME=user)
    try:
        os.environ["HOME"] = pwd.getpwuid(uid).pw_dir
    except KeyError:
        os.environ.pop("HOME", None)


def become_service(config: Path, data_dir: Path | None, *, credentials: bool) -> Became:
    """Run as root: hand over the credentials of *config*'s unit (with *credentials*, unless
    $CREDENTIALS_DIRECTORY is set already) and become the service's user: the unit's, or
    without a unit the owner of *data_dir* (None: a unit's only). Not root, or neither a
    unit with a User= nor such a data directory: nothing."""
    if os.geteuid() != 0:
        return Became()
    unit = unit_for(config)
    who = _identity(unit, data_dir)
    if who is None:
        return Became(unit=unit)
    user, uid, gid = who
    done = Became(user=user, unit=unit)
    handing = credentials and unit is not None and unit.credentials
    if handing and unit is not None and not os.environ.get("CREDENTIALS_DIRECTORY"):
        done.credentials, done.problems = hand_over(unit, uid, gid)
        os.environ["CREDENTIALS_DIRECTORY"] = str(done.credentials)
    drop_to(user, uid, gid, unit)
    return done


def load_as_service(
    config: Path,
    load: Callable[[Path], C],
    data_dir: Callable[[C], Path],
    *,
    credentials: bool = False,
) -> C:
    """Load *config*, become its service's user (see :func:`become_service`) and load it
    again, as that user, when credentials were handed over."""
    cfg = load(config)
    if become_service(config, data_dir(cfg), credentials=credentials).changed:
        cfg = load(config)
    return cfg


def node_config(path: Path, *, credentials: bool = False) -> EdgeConfig:
    """The node config at *path* (exit 2 naming each fault), loaded as its service's user
    when run as root (see :func:`become_service`)."""
    from edge.cli.common import load_or_exit

    return load_as_service(path, load_or_exit, lambda c: c.data_dir, credentials=credentials)


def _program() -> str:
    """How this program was called (``edge``, or the venv's full path)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "edge"
    return "edge" if Path(argv0).name == "__main__.py" else argv0


def unreadable_credentials(
    config: Path, env: Mapping[str, str] | None, problems: list[str]
) -> list[str]:
    """*problems*, where a credential is a file of the config's unit this user may not read
    (no $CREDENTIALS_DIRECTORY: a check by hand, not as root): one line naming the file and
    saying to run the check with sudo, in place of the problems that name that file."""
    if os.geteuid() == 0 or (env if env is not None else os.environ).get("CREDENTIALS_DIRECTORY"):
        return problems
    unit = unit_for(config)
    if unit is None:
        return problems
    out = list(problems)
    for name, source in unit.credentials.items():
        if os.access(source, os.R_OK):
            continue
        if os.access(source.parent, os.X_OK) and not os.path.lexists(source):
            continue  # missing: the check itself says so
        out = [p for p in out if str(source) not in p]
        out.append(
            f"{source}: not readable by {invoking_user()} (systemd hands it to "
            f"{unit.name} as credential {name}): run the check with sudo (sudo {_program()} "
            f"check-config {config}): it checks as {unit.user or 'the service user'} with the "
            "credentials handed over as systemd does"
        )
    return out
