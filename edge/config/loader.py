"""Read a TOML file into an :class:`EdgeConfig`, with errors that name the place."""

from __future__ import annotations

import difflib
import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from edge.config.root import EdgeConfig
from edge.config.serviceunit import ServiceUnit, unit_for
from edge.core.errors import ConfigurationError
from edge.core.redact import redact, redact_url

M = TypeVar("M", bound=BaseModel)

CREDENTIAL_PREFIX = "credential:"
MAX_BYTES = 1024**2
"""A node config is a few kilobytes; anything beyond this is not one."""
MAX_DEPTH = 16
"""Arrays and tables nested deeper than this are refused (a real config needs 7 levels)."""


class ConfigError(ConfigurationError):
    """A config file that cannot be used; ``problems`` holds one line per fault."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


def load(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> EdgeConfig:
    """Load and validate the node config at *path* (see :func:`load_as`)."""
    return load_as(EdgeConfig, path, env)


def load_as(
    model: type[M], path: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> M:
    """Load and validate the config at *path* as *model* (the node's or the receiver's).

    ``credential:NAME`` values are resolved against ``$CREDENTIALS_DIRECTORY`` from *env*
    (default: the process environment). Without it (a tool run by hand, not by systemd), to
    the file the systemd unit that runs this config hands over as NAME
    (``LoadCredential=NAME:PATH``, :mod:`edge.config.serviceunit`).
    """
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ConfigError(str(p), [f"file too large (over {MAX_BYTES} bytes)"])
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(str(p), [f"cannot read: {e.strerror or e}"]) from e
    except UnicodeDecodeError as e:
        raise ConfigError(str(p), [f"not UTF-8 text (byte {e.start})"]) from e
    return loads_as(model, text, source=str(p), env=env, unit=lambda: unit_for(p))


def loads(text: str, source: str = "<config>", env: Mapping[str, str] | None = None) -> EdgeConfig:
    """Validate node config TOML *text*; *source* names it in errors."""
    return loads_as(EdgeConfig, text, source, env)


def loads_as(
    model: type[M],
    text: str,
    source: str = "<config>",
    env: Mapping[str, str] | None = None,
    *,
    unit: Callable[[], ServiceUnit | None] | None = None,
) -> M:
    """Validate TOML *text* as *model*; *source* names it in errors. Without
    ``$CREDENTIALS_DIRECTORY``, ``credential:NAME`` is the file that the unit *unit* returns
    loads as NAME (looked up only when needed)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, [f"TOML syntax error: {e}"]) from e
    except RecursionError as e:  # tomllib recurses once per nested array or inline table
        raise ConfigError(source, [f"arrays or tables nested too deeply: {_TOO_DEEP}"]) from e
    too_deep = _too_deep(raw)
    if too_deep is not None:
        raise ConfigError(source, [f"{format_loc(too_deep)}: nested too deeply: {_TOO_DEEP}"])
    problems: list[str] = []
    lookup = _Credentials(os.environ if env is None else env, unit)
    resolved = _resolve_credentials(raw, (), lookup, problems)
    if problems:
        raise ConfigError(source, problems)
    try:
        return model.model_validate(resolved)
    except ValidationError as e:
        raise ConfigError(source, [_describe(err, model) for err in e.errors()]) from e


_TOO_DEEP = f"a node config needs at most {MAX_DEPTH} levels of arrays and tables"


def _too_deep(raw: object) -> list[str | int] | None:
    """Where *raw* nests deeper than MAX_DEPTH, or None; iterative, so any depth is safe."""
    stack: list[tuple[object, list[str | int]]] = [(raw, [])]
    while stack:
        value, loc = stack.pop()
        if len(loc) > MAX_DEPTH:
            return loc
        if isinstance(value, dict):
            stack.extend((v, [*loc, str(k)]) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, [*loc, i]) for i, v in enumerate(value))
    return None


class _Credentials:
    """Where ``credential:NAME`` points: $CREDENTIALS_DIRECTORY/NAME, or without it the
    source the config's unit names (looked up once, at the first credential)."""

    def __init__(
        self, env: Mapping[str, str], unit: Callable[[], ServiceUnit | None] | None
    ) -> None:
        self.directory = env.get("CREDENTIALS_DIRECTORY")
        self._find = unit
        self._unit: ServiceUnit | None = None
        self._looked = False

    def unit(self) -> ServiceUnit | None:
        if not self._looked and self._find is not None:
            self._unit, self._looked = self._find(), True
        return self._unit

    def path(self, name: str, value: str, where: str) -> tuple[str | None, str]:
        """(the path, "") or (None, why there is none)."""
        if self.directory:
            return str(Path(self.directory) / name), ""
        unit = self.unit()
        if unit is not None and name in unit.credentials:
            return str(unit.credentials[name]), ""
        if unit is not None:
            return None, (
                f"{where}: {value!r}: {unit.path} has no LoadCredential={name}:PATH and "
                "$CREDENTIALS_DIRECTORY is not set"
            )
        return None, (
            f"{where}: {value!r} needs $CREDENTIALS_DIRECTORY "
            "(set by systemd's LoadCredential=); it is not set"
        )


def _resolve_credentials(
    value: object, loc: tuple[str | int, ...], creds: _Credentials, problems: list[str]
) -> object:
    if isinstance(value, dict):
        return {k: _resolve_credentials(v, (*loc, k), creds, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_credentials(v, (*loc, i), creds, problems) for i, v in enumerate(value)]
    if isinstance(value, str) and value.startswith(CREDENTIAL_PREFIX):
        name = value[len(CREDENTIAL_PREFIX) :]
        where = format_loc(loc)
        if not name or "/" in name or name in {".", ".."}:
            problems.append(f"{where}: bad credential name {name!r}, got {value!r}")
            return value
        path, problem = creds.path(name, value, where)
        if path is None:
            problems.append(problem)
            return value
        return path
    return value


def format_loc(loc: Sequence[str | int]) -> str:
    """``('cameras', 1, 'fps')`` -> ``cameras[1].fps``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _model_at(
    loc: Sequence[str | int], root: type[BaseModel] = EdgeConfig
) -> tuple[list[str | int], type[BaseModel] | None]:
    """Walk the config types along *loc*.

    Returns the loc with discriminator tags removed and the model that holds the last key.
    """
    clean: list[str | int] = []
    current: object = root
    parent: type[BaseModel] | None = None
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            parent = current
            field = current.model_fields.get(str(part))
            clean.append(part)
            current = field.annotation if field else None
            continue
        origin = typing.get_origin(current)
        if origin is list and isinstance(part, int):
            clean.append(part)
            current = typing.get_args(current)[0]
            continue
        if origin is dict:  # a table of tables keyed by name ([sites."ID"])
            clean.append(part)
            current = typing.get_args(current)[1]
            continue
        members = _union_members(current)
        tagged = [m for m in members if _tag_of(m) == part]
        if tagged:  # a discriminator tag: not a key in the file
            current = tagged[0]
            continue
        clean.append(part)
        current = None
    return clean, parent


def _unwrap(tp: object) -> object:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    members = [m for m in _union_members(tp) if m is not type(None)]
    if len(members) == 1:
        return members[0]
    return tp


def _union_members(tp: object) -> list[object]:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [_unwrap(a) for a in typing.get_args(tp)]
    return []


def _tag_of(model: object) -> str | None:
    if isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get("kind")
        if field is not None:
            args = typing.get_args(field.annotation)
            if args:
                return str(args[0])
    return None


_MESSAGES: dict[str, str] = {
    "missing": "required key is missing",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "list_type": "must be an array",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "model_attributes_type": "must be a table",
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "string_pattern_mismatch": "does not match the expected form {pattern}",
    "literal_error": "must be one of {expected}",
    "union_tag_invalid": "kind must be one of {expected_tags}",
    "union_tag_not_found": "needs a 'kind' key (one of the source types)",
}


def _describe(err: ErrorDetails, root: type[BaseModel] = EdgeConfig) -> str:
    loc, parent = _model_at(err["loc"], root)
    where = format_loc(loc)
    etype = err["type"]
    ctx = err.get("ctx") or {}
    if etype == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        allowed = sorted(parent.model_fields) if parent else []
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{where}: unknown key{suggestion} (allowed here: {', '.join(allowed)})"
    if etype == "value_error":
        msg = redact(str(ctx.get("error", err["msg"])))
        head = msg.split(":", 1)[0].replace("[", ".").split(".")[0]
        # cross-section checks name their own place
        if head in root.model_fields:
            return msg
        # a model's check naming a key of its own: cameras[0] + zones[0].points[1]
        _, holder = _model_at([*err["loc"], head], root)
        if loc and head and holder is not None and head in holder.model_fields:
            return f"{where}.{msg}"
        return f"{where}: {msg}"
    template = _MESSAGES.get(etype)
    shown = {k: _number(v) for k, v in ctx.items()}
    msg = template.format(**shown) if template else str(err["msg"])
    if etype == "missing":
        return f"{where}: {msg}"
    return f"{where}: {msg}, got {_show(err.get('input'))}"


def _number(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str):  # a camera URL's password never reaches a terminal or a log
        value = redact_url(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
