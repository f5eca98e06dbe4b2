"""docs/pki.md's command blocks, read as the tests run them: each ``<!-- tested: NAME -->``
marker is followed by a ```sh block whose lines are commands, each optionally followed by
``# -> [exit N: ]TEXT`` (the exit status, 0 unless given, and text its output holds; ``...``
stands for anything). Each command runs on its own in bash, after the ``export`` lines
written before it (as in the technician's one shell)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "pki.md"


@dataclass
class Step:
    """One documented command and what it must do."""

    command: str
    status: int = 0
    expected: str = ""


def block(name: str) -> list[Step]:
    """The steps of the block marked ``<!-- tested: NAME``."""
    m = re.search(
        rf"<!-- tested: {re.escape(name)}\b[^>]*-->\n```sh\n(.*?)```", DOC.read_text(), re.S
    )
    assert m, f"docs/pki.md has no tested block {name!r}"
    steps: list[Step] = []
    for line in m.group(1).splitlines():
        if line.startswith("# -> "):
            expected = line.removeprefix("# -> ")
            if e := re.match(r"exit (\d+): ", expected):
                steps[-1].status, expected = int(e[1]), expected[e.end() :]
            steps[-1].expected = expected
        elif line.strip():
            steps.append(Step(line))
    return steps


def shows(output: str, expected: str) -> bool:
    """Whether *output* holds the parts of *expected* (split at ``...``) in order."""
    at = 0
    for part in (p.strip() for p in expected.split("...")):
        found = output.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


Runner = Callable[[str], subprocess.CompletedProcess[str]]


@dataclass
class Shell:
    """The technician's shell: the exports so far, prepended to each command."""

    exports: list[str] = field(default_factory=list)

    def run(self, name: str, runner: Runner) -> list[subprocess.CompletedProcess[str]]:
        """Run block *name* with *runner* (given the full bash script of one command);
        each step must exit and print as documented."""
        done = []
        for step in block(name):
            script = "\n".join([*self.exports, step.command])
            result = runner(script)
            out = result.stdout + result.stderr
            assert result.returncode == step.status, (step.command, result.returncode, out)
            assert shows(out, step.expected), (step.command, step.expected, out)
            if step.command.startswith("export "):
                self.exports.append(step.command)
            done.append(result)
        return done
