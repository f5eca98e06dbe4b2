"""docs/config.md is generated from the config models and cannot go stale unnoticed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from configmodels import config_models

from edge.config import reference

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "config.md"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"


def _documented_commands() -> list[str]:
    """The commands of CONTRIBUTING.md's ``<!-- tested: config-reference -->`` block."""
    m = re.search(
        r"<!-- tested: config-reference -->\n```sh\n(.*?)```", CONTRIBUTING.read_text(), re.S
    )
    assert m, "CONTRIBUTING.md has no tested config-reference block"
    return [line for line in m.group(1).splitlines() if line.strip()]


def _run_in(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    """*command* run by bash in *folder*, whose ``.venv`` is this interpreter's venv."""
    venv = folder / ".venv"
    if not venv.exists():
        venv.symlink_to(Path(sys.prefix))
    return subprocess.run(
        ["bash", "-c", command], check=False, cwd=folder, capture_output=True, text=True, timeout=60
    )


def test_committed_reference_is_current() -> None:
    """docs/config.md is exactly what the models generate now; when it is not, the failure
    names the command that regenerates it."""
    assert DOC.read_text(encoding="utf-8") == reference.render(), (
        f"docs/config.md is stale: run {reference.REGENERATE}"
    )


def test_every_field_of_every_model_is_documented() -> None:
    """Each field of each config model has a row with its key, and each row a description."""
    text = reference.render()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    keys = [row.split("`")[1] for row in rows]
    for model in config_models():
        for name in model.model_fields:
            assert any(k == name or k.endswith(f".{name}") for k in keys), (model, name)
    for row in rows:
        assert row.rstrip(" |").split(" | ")[-1].strip(), f"no description: {row}"


def test_reference_shows_type_default_and_bounds() -> None:
    """A row carries the key path, type, default and bounds as pydantic enforces them."""
    text = reference.render()
    assert "| `cameras[].fps` | number | `5.0` | > 0, <= 60 |" in text
    assert "| `node.id` | string | required | matches `^[a-z0-9][a-z0-9_-]{0,62}$` |" in text
    assert "| `outbox.alarm.ttl_s` | number | `0.0` |" in text  # the enclosing default's value
    assert '## `cameras[].detect` with `kind = "rtsp"`' in text


def test_documented_commands_write_then_check(tmp_path: Path) -> None:
    """CONTRIBUTING.md's regenerate and check commands, run exactly as written (in a
    scratch folder), write the committed text and then find it current."""
    commands = _documented_commands()
    assert any("--write" in c for c in commands) and any("--check" in c for c in commands)
    for command in commands:
        done = _run_in(tmp_path, command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    written = (tmp_path / "docs" / "config.md").read_text(encoding="utf-8")
    assert written == reference.render()


def test_check_names_the_stale_file_and_the_cure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check on a hand-edited reference exits 1 naming the file and the regenerate command;
    on a missing file it says it cannot read it."""
    stale = tmp_path / "config.md"
    stale.write_text(reference.render().replace("`5.0`", "`6.0`", 1), encoding="utf-8")
    assert reference.main(["--check", str(stale)]) == 1
    err = capsys.readouterr().err
    assert f"{stale} is stale" in err and reference.REGENERATE in err
    assert reference.main(["--check", str(tmp_path / "absent.md")]) == 1
    assert "absent.md: cannot read" in capsys.readouterr().err
