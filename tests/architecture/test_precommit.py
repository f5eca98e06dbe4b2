"""The commit hooks (.pre-commit-config.yaml) are local, use the venv's tools, and catch what
CI would: run by pre-commit itself on a scratch repository, offline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".pre-commit-config.yaml"
VENV_BIN = Path(sys.prefix) / "bin"

BAD = '''import os


def half(n: int) -> int:
    """Half of *n*, typed wrong on purpose."""
    return str(n // 2)
'''


def _run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "PRE_COMMIT_HOME": str(home / "pre-commit"),
        "HOME": str(home),
        # the hooks that run this repository's own checks have nothing to check in a scratch one
        "SKIP": "config-reference,readme-lists",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(
        args, cwd=cwd, env=env, check=False, capture_output=True, text=True, timeout=120
    )


def test_every_hook_is_local_and_uses_the_venv() -> None:
    """No hook repository is fetched: every repo is ``local``, every entry a venv tool."""
    text = CONFIG.read_text(encoding="utf-8")
    assert re.findall(r"- repo: (\S+)", text) == ["local"]
    entries = re.findall(r"entry: (.+)", text)
    assert entries and all(".venv/bin/" in e for e in entries), entries
    assert {"ruff", "ruff-format", "mypy"} <= set(re.findall(r"- id: (\S+)", text))


def _documented_install() -> str:
    """The one command of CONTRIBUTING.md's ``<!-- tested: pre-commit -->`` block."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- tested: pre-commit -->\n```sh\n(.*?)\n```", text, re.S)
    assert m, "CONTRIBUTING.md has no tested pre-commit block"
    return m[1]


@pytest.mark.slow
def test_installed_hooks_stop_a_commit_with_lint_and_type_errors(tmp_path: Path) -> None:
    """In a scratch repository, CONTRIBUTING.md's install command, run as written, makes
    ``git commit`` of a file with an unused import (ruff) and a wrong return type (mypy)
    fail, naming both hooks, offline."""
    repo = tmp_path / "repo"
    (repo / "edge").mkdir(parents=True)
    (repo / ".venv").symlink_to(Path(sys.prefix))
    (repo / ".pre-commit-config.yaml").write_text(CONFIG.read_text(encoding="utf-8"))
    (repo / "edge" / "bad.py").write_text(BAD)
    home = tmp_path / "home"
    assert _run(["git", "init", "-q"], repo, home).returncode == 0
    installed = _run(["bash", "-c", _documented_install()], repo, home)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert _run(["git", "add", "-A"], repo, home).returncode == 0
    done = _run(["git", "commit", "-q", "-m", "bad"], repo, home)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert re.search(r"ruff check\.+Failed", out) and "F401" in out, out
    assert re.search(r"mypy --strict \(changed files\)\.+Failed", out), out
    assert "Incompatible return value" in out, out
