"""Files of this machine a node config names, checked before the node starts: each file
camera is a readable video file (not missing, not a system file such as ``/etc/shadow``,
whose bytes would otherwise be cut into clips and shared), and nothing the node writes (data
directory, clips, outbox) lies in a system directory. Part of :func:`edge.config.preflight`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from edge.config.cameras import FileSourceConfig
from edge.config.root import EdgeConfig

SYSTEM_DIRS = tuple(
    Path(p)
    for p in (
        "/etc",
        "/boot",
        "/proc",
        "/sys",
        "/dev",
        "/root",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/lib32",
        "/usr/lib64",
        "/usr/libexec",
        "/usr/include",
        "/var/log",
        "/var/spool",
        "/var/mail",
        "/var/backups",
    )
)
"""Directories whose files belong to the operating system or its users: never a video to
replay, never a place for the node's state."""


def system_dir(path: Path) -> Path | None:
    """The system directory *path* (resolved: links followed) lies in, or None."""
    real = Path(os.path.realpath(path))
    for candidate in (path.absolute(), real):
        for d in SYSTEM_DIRS:
            if candidate == d or d in candidate.parents:
                return d
    return None


def local_file_problems(cfg: EdgeConfig) -> list[str]:
    """File cameras that cannot be replayed and state paths in system directories, one
    line each naming the key."""
    return _file_cameras(cfg) + _state_places(cfg)


def _file_cameras(cfg: EdgeConfig) -> list[str]:
    problems: list[str] = []
    for i, cam in enumerate(cfg.cameras):
        if cam.private:  # never opened
            continue
        roles = [("detect", cam.detect)]
        if cam.record is not None and cam.record is not cam.detect:
            roles.append(("record", cam.record))
        for role, src in roles:
            if isinstance(src, FileSourceConfig):
                bad = _video_file(Path(src.path), cfg.data_dir)
                if bad:
                    problems.append(f"cameras[{i}].{role}.path: {bad}")
    return problems


def _video_file(path: Path, data_dir: Path) -> str | None:
    """Why *path* cannot be a file camera's video, or None. A file of the node's own state
    (its signing key, audit log, outbox) is refused like a system file."""
    in_system = system_dir(path)
    if in_system is None and _inside(path, data_dir):
        in_system = data_dir
    if in_system is not None:
        return (
            f"{path} is a system file (in {in_system}), not a video: a file camera replays a "
            "video (mp4, avi, gif, raw .h264) kept outside system directories and the node's "
            "data directory"
        )
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return f"file not found: {path}"
    except OSError as e:
        return f"cannot check {path}: {e.strerror or e}"
    why = None
    if not stat.S_ISREG(st.st_mode):
        why = f"{path} is not a regular file (a file camera replays a video file)"
    elif not os.access(path, os.R_OK):
        why = f"{path} is not readable by this user: chown or chmod it"
    elif st.st_size == 0:
        why = f"{path} is empty: no video to replay"
    return why


def _inside(path: Path, directory: Path) -> bool:
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(directory))
    return real == top or top in real.parents


def _state_places(cfg: EdgeConfig) -> list[str]:
    places = [("node.data_dir", cfg.data_dir)]
    if cfg.clips.directory:
        places.append(("clips.directory", cfg.clips_dir))
    if cfg.outbox.path:
        places.append(("outbox.path", cfg.outbox_path))
    problems = []
    for key, path in places:
        in_system = system_dir(path)
        if in_system is not None:
            problems.append(
                f"{key}: {path} is in the system directory {in_system}: the node writes "
                "there; give a place of its own (the data directory, /var/lib/warehouse-edge)"
            )
    return problems
