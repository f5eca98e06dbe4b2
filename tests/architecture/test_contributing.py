"""CONTRIBUTING.md's make targets are the Makefile's: each one it names exists, coverage runs
the subset it documents, and CI runs coverage after the suite."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
MAKEFILE = ROOT / "Makefile"


def _targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE.read_text(encoding="utf-8"), re.M))


def test_every_documented_make_target_exists() -> None:
    """Each `make NAME` in CONTRIBUTING.md is a target of the Makefile."""
    named = set(re.findall(r"`make ([a-z][a-z-]*)", CONTRIBUTING.read_text(encoding="utf-8")))
    assert {"unit", "faults", "coverage", "test"} <= named
    assert named <= _targets(), sorted(named - _targets())


def test_coverage_runs_the_documented_subset_with_branches() -> None:
    """`make coverage` (dry run) is pytest with branch coverage over exactly the test folders
    CONTRIBUTING.md lists, slow tests left out; CI's entry point runs it after the suite."""
    documented = re.search(r"subset \(`([^`]+)`, slow tests excluded\)", CONTRIBUTING.read_text())
    assert documented, "CONTRIBUTING.md does not list the coverage subset"
    dry = subprocess.run(
        ["make", "-n", "-o", ".venv/.test-installed", "coverage"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    (line,) = [x for x in dry.stdout.splitlines() if "pytest" in x]
    argv = shlex.split(line)
    assert argv[argv.index("-m") + 1] == "not slow"
    folders = [a for a in argv if a.startswith("tests/")]
    assert folders == documented[1].split()
    measured = [a.removeprefix("--cov=") for a in argv if a.startswith("--cov=")]
    assert measured and all(f"`{m}`" in CONTRIBUTING.read_text() for m in measured), measured
    assert all((ROOT / f).is_dir() for f in folders + measured)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r"\[tool\.coverage\.run\]\n(?:#.*\n)*branch = true", pyproject)
    assert "make test coverage" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
