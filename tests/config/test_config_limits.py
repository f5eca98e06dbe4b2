"""Values that validate but would take the node down: a resolution that allocates petabytes,
nesting that exhausts the parser's stack, a blank broker host. Each is a one-line config error
naming the file and the key."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from configmodels import config_models
from pydantic.fields import FieldInfo

from edge.cli.main import main
from edge.config.loader import ConfigError, load, loads

BASE = """
[node]
id = "wh-01"
site = "ams"
data_dir = "/tmp/edge-limits"
"""

CAMERA = """
[[cameras]]
name = "hall"
detect = { kind = "file", path = "video.mp4" }
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loads(text, source="node.toml")
    return info.value.problems


def test_huge_resolution_is_refused() -> None:
    """resolution = [100000000, 100000000] would size masks of petabytes: each side is
    bounded (16..8192) and named."""
    problems = _problems(BASE + CAMERA + "resolution = [100000000, 100000000]\n")
    assert problems == [
        "cameras[0].resolution[0]: must be <= 8192, got 100000000",
        "cameras[0].resolution[1]: must be <= 8192, got 100000000",
    ]
    assert _problems(BASE + CAMERA + "resolution = [640, 0]\n") == [
        "cameras[0].resolution[1]: must be >= 16, got 0"
    ]
    cfg = loads(BASE + CAMERA + "resolution = [8192, 16]\n")
    assert cfg.cameras[0].resolution == [8192, 16]


def test_outline_points_are_bounded() -> None:
    """A mask corner far outside any frame is refused by the model, not left to arithmetic."""
    mask = 'privacy_masks = [{ name = "m", points = [[0, 0], [1e12, 0], [0, 10]] }]\n'
    problems = _problems(BASE + CAMERA + "resolution = [640, 360]\n" + mask)
    assert problems == [
        "cameras[0].privacy_masks[0].points[1][0]: must be <= 8192, got 1000000000000.0"
    ]


def _numbers(tp: object, kinds: set[str]) -> Iterator[tuple[object, set[str]]]:
    """Each int or float inside annotation *tp* with the names of its constraints; list items
    carry their own (``list[Annotated[int, Field(ge=..)]]``), a field's apply to its value."""
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        inner = set(kinds)
        for m in meta:
            inner |= (
                {type(x).__name__ for x in m.metadata}
                if isinstance(m, FieldInfo)
                else {type(m).__name__}
            )
        yield from _numbers(base, inner)
    elif tp in (int, float):
        yield tp, kinds
    elif typing.get_origin(tp) in (list, dict, tuple, set):
        for arg in typing.get_args(tp):
            yield from _numbers(arg, set())
    else:  # a union: the field's constraints apply to each member
        for arg in typing.get_args(tp):
            yield from _numbers(arg, kinds)


def test_every_number_in_the_config_has_bounds_lists_included() -> None:
    """Every int and float of every section, list items included (resolution, mask and zone
    points), has a lower and an upper bound."""
    unbounded = []
    for model in config_models():
        for name, f in model.model_fields.items():
            field_kinds = {type(m).__name__ for m in f.metadata}
            for tp, kinds in _numbers(f.annotation, field_kinds):
                if not (kinds & {"Gt", "Ge"} and kinds & {"Lt", "Le"}):
                    unbounded.append(f"{model.__name__}.{name} ({tp})")
    assert not unbounded, unbounded


@pytest.mark.parametrize(
    "value",
    [
        "x = " + "[" * 100_000 + "]" * 100_000,
        "x = " + "{ a = " * 2_000 + "1" + " }" * 2_000,
        "x" + ".y" * 5_000 + " = 1",
        "x = " + "[" * 20 + "]" * 20,
    ],
    ids=["arrays-100000", "inline-tables-2000", "dotted-keys-5000", "arrays-20"],
)
def test_deep_nesting_is_one_config_error(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Arrays or tables nested deeper than a config needs: one line naming the file (no
    RecursionError), from load() and from check-config."""
    path = tmp_path / "node.toml"
    path.write_text(BASE + "\n[extra]\n" + value + "\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert len(info.value.problems) == 1
    assert "nested too deeply" in info.value.problems[0]
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"{path}: ") and "nested too deeply" in err[0]


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    """A file far larger than any node config is refused before it is parsed."""
    path = tmp_path / "node.toml"
    path.write_text(BASE + "# " + "x" * (2 * 1024**2) + "\n")
    with pytest.raises(ConfigError, match="file too large"):
        load(path)


@pytest.mark.parametrize("host", [" ", "", "\t", "broker police", "-broker", "a..b", "x" * 300])
def test_broker_host_must_be_a_host_name_or_address(host: str) -> None:
    """A blank or malformed host is refused, naming the key."""
    text = BASE + f'\n[[destinations]]\nname = "p"\nhost = "{host}"\nallow_insecure = true\n'
    problems = _problems(text)
    assert len(problems) == 1 and problems[0].startswith("destinations[0].host: ")


@pytest.mark.parametrize("host", ["localhost", "mqtt.police.example", "10.0.0.5", "::1", "a-b.c."])
def test_host_names_and_addresses_are_accepted(host: str) -> None:
    """Host names, IPv4 and IPv6 addresses pass."""
    text = BASE + f'\n[[destinations]]\nname = "p"\nhost = "{host}"\nallow_insecure = true\n'
    assert loads(text).destinations[0].host == host
