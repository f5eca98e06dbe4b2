"""The configuration reference (docs/config.md), generated from the pydantic models.

Every key of ``node.toml`` with its path, type, default, bounds and description, read from the
models in this package, so the reference cannot drift from what ``edge check-config`` accepts.
A test regenerates it in memory and fails when the committed file differs.

Regenerate::

    .venv/bin/python -m edge.config.reference --write docs/config.md

Check (exit 1 and a one-line reason when stale)::

    .venv/bin/python -m edge.config.reference --check docs/config.md
"""

from __future__ import annotations

import argparse
import re
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from edge.config.root import EdgeConfig

REGENERATE = ".venv/bin/python -m edge.config.reference --write docs/config.md"
"""The command that rewrites the committed reference (CONTRIBUTING.md says the same)."""

_HEADER = f"""# Configuration reference

<!-- Generated from the pydantic models in edge/config/ by
     {REGENERATE}
     Do not edit by hand: tests/config/test_config_reference.py fails when this file is stale. -->

Every key of a node's `node.toml` (see `firmware_config/node.example.toml` and README,
"Configuration"), one table per TOML table, in the order of the models' fields. `[]` after a
name is an array of tables (`[[cameras]]`). A key without a default is required. Bounds are
inclusive unless written `>` or `<`. Unknown keys are errors; values are never coerced (`"5"`
is not a number). `edge check-config FILE` applies these rules and the ones across
sections (unique names, pins used once, rules naming existing sensors and cameras).
"""

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass
class Table:
    """One TOML table of the reference: where it sits, its model, and its rows."""

    path: str
    model: type[BaseModel]
    intro: str
    kind: str | None = None
    own_doc: bool = True
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)


def _is_model(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _strip(tp: object) -> tuple[object, list[object]]:
    """*tp* without ``Annotated`` and ``None``, and the metadata the wrappers carried."""
    meta: list[object] = []
    while typing.get_origin(tp) is typing.Annotated:
        args = typing.get_args(tp)
        tp, extra = args[0], list(args[1:])
        for m in extra:
            meta.extend(m.metadata if isinstance(m, FieldInfo) else [m])
    if _is_union(tp):
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) == 1:
            return _strip(rest[0])[0], meta + _strip(rest[0])[1]
    return tp, meta


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _optional(tp: object) -> bool:
    return _is_union(tp) and type(None) in typing.get_args(tp)


def _models(tp: object) -> list[type[BaseModel]]:
    """The models a field's value may be (one, or the variants of a union), none for scalars."""
    tp, _ = _strip(tp)
    if _is_union(tp):
        return [m for a in typing.get_args(tp) for m in _models(a)]
    if typing.get_origin(tp) is list:
        return _models(typing.get_args(tp)[0])
    return [tp] if _is_model(tp) else []  # type: ignore[list-item]


def _kind(model: type[BaseModel]) -> str | None:
    """The ``kind`` literal that selects *model* among a union's variants, if it has one."""
    info = model.model_fields.get("kind")
    if info is None or typing.get_origin(info.annotation) is not typing.Literal:
        return None
    return str(typing.get_args(info.annotation)[0])


def type_name(tp: object) -> str:
    """A reader's name for the annotation *tp* (``list of integer``, ``one of "a", "b"``)."""
    optional = _optional(tp)
    tp, _ = _strip(tp)
    if _is_union(tp):
        names = dict.fromkeys(type_name(a) for a in typing.get_args(tp) if a is not type(None))
        name = " or ".join(names)
    elif typing.get_origin(tp) is typing.Literal:
        name = "one of " + ", ".join(_value(v) for v in typing.get_args(tp))
    elif typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        inner = type_name(item)
        name = "list of tables" if inner == "table" else f"list of {inner}"
    elif _is_model(tp):
        name = "table"
    else:
        name = _SCALARS.get(tp, getattr(tp, "__name__", str(tp)))  # type: ignore[call-overload]
    if optional and name != "table":
        return f"{name} (optional)"
    return "table (optional)" if optional else name


def _value(v: object) -> str:
    """*v* as TOML would write it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, BaseModel):
        return "table"
    if isinstance(v, float) and v.is_integer():
        return f"{v:.1f}"
    return str(v)


def _plural(n: int, counted: str) -> str:
    return counted.removesuffix("s") if n == 1 else counted


def _bound_text(meta: Sequence[object], counted: str) -> list[str]:
    parts: list[str] = []
    for m in meta:
        if isinstance(m, at.Gt):
            parts.append(f"> {_value(m.gt)}")
        elif isinstance(m, at.Ge):
            parts.append(f">= {_value(m.ge)}")
        elif isinstance(m, at.Lt):
            parts.append(f"< {_value(m.lt)}")
        elif isinstance(m, at.Le):
            parts.append(f"<= {_value(m.le)}")
        elif isinstance(m, at.MinLen):
            parts.append(f"at least {m.min_length} {_plural(m.min_length, counted)}")
        elif isinstance(m, at.MaxLen):
            parts.append(f"at most {m.max_length} {_plural(m.max_length, counted)}")
        elif (pattern := getattr(m, "pattern", None)) is not None:
            parts.append(f"matches `{pattern}`")
    return parts


def bounds(info: FieldInfo) -> str:
    """The limits pydantic enforces on a field (and on each item of a list field)."""
    tp, meta = _strip(info.annotation)
    counted = "items" if typing.get_origin(tp) is list else "characters"
    parts = _bound_text([*info.metadata, *meta], counted)
    while typing.get_origin(tp) is list:
        tp, inner = _strip(typing.get_args(tp)[0])
        if inner_parts := _bound_text(inner, "items"):
            parts.append("each " + ", ".join(inner_parts))
    return ", ".join(parts)


def default(info: FieldInfo, given: object = PydanticUndefined) -> str:
    """The default of a field as TOML would write it; *given* is a value an enclosing
    table's default supplies instead (``outbox.alarm``'s own ``ttl_s``)."""
    if given is not PydanticUndefined:
        value = given
    elif info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "see the table"
    return f"`{_value(value)}`"


def _cell(text: str) -> str:
    """*text* safe inside a Markdown table cell: one line, pipes escaped."""
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()


def tables() -> list[Table]:
    """Every table of the config, from ``EdgeConfig`` down, depth first in field order."""
    out: list[Table] = []
    seen: dict[tuple[type[BaseModel], str], str] = {}

    def walk(path: str, model: type[BaseModel], intro: str, given: BaseModel | None) -> None:
        table = Table(path, model, intro, _kind(model))
        out.append(table)
        nested: list[tuple[str, type[BaseModel], str, BaseModel | None]] = []
        for name, info in model.model_fields.items():
            key = f"{path}.{name}" if path else name
            override = getattr(given, name) if given is not None else PydanticUndefined
            variants = _models(info.annotation)
            kind = type_name(info.annotation)
            tp, _ = _strip(info.annotation)
            sub = f"{key}[]" if typing.get_origin(tp) is list and variants else key
            if len(variants) > 1:
                kind = f"{kind}; one of the `{sub}` tables below, chosen by `kind`"
            table.rows.append(
                (
                    f"`{key}`",
                    _cell(kind),
                    _cell(default(info, override)),
                    _cell(bounds(info)),
                    _cell(info.description or ""),
                )
            )
            for variant in variants:
                inst = override if isinstance(override, variant) else None
                if inst is None and info.default_factory is not None and sub == key:
                    made = info.default_factory()  # type: ignore[call-arg]
                    inst = made if isinstance(made, variant) else None
                nested.append((sub, variant, info.description or "", inst))
        told: set[str] = set()
        for where, variant, description, inst in nested:
            group = [(v, i) for w, v, _, i in nested if w == where]
            firsts = {seen.get((v, repr(i))) for v, i in group}
            if len(firsts) == 1 and None not in firsts:
                # every table here is one already described: say so once, in one line
                if where not in told:
                    told.add(where)
                    text = f"{description} The same keys and rules as `{firsts.pop()}`."
                    out.append(Table(where, variant, text, None, own_doc=False))
                continue
            mark = (variant, repr(inst))
            if mark in seen:
                text = f"As `{seen[mark]}`: the same keys and rules."
                out.append(Table(where, variant, text, _kind(variant)))
                continue
            seen[mark] = where
            walk(where, variant, description, inst)

    walk("", EdgeConfig, "", None)
    return out


def render() -> str:
    """docs/config.md's text, generated from the models as they are now."""
    lines = [_HEADER]
    for t in tables():
        if not t.path:
            lines.append("## Top level\n")
        elif t.kind is not None:
            lines.append(f'## `{t.path}` with `kind = "{t.kind}"`\n')
        else:
            lines.append(f"## `{t.path}`\n")
        doc = (t.model.__doc__ or "").strip().split("\n\n")[0] if t.own_doc else ""
        intro = " ".join(p for p in (_cell(t.intro), _cell(doc)) if p)
        if intro:
            lines.append(intro + "\n")
        if t.rows:
            lines.append("| key | type | default | bounds | description |")
            lines.append("|---|---|---|---|---|")
            lines.extend("| " + " | ".join(r) + " |" for r in t.rows)
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m edge.config.reference``: print the reference, write it, or check a file."""
    parser = argparse.ArgumentParser(
        prog="python -m edge.config.reference", description=__doc__.split("\n\n")[0]
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", metavar="FILE", type=Path, help="write the reference to FILE")
    mode.add_argument("--check", metavar="FILE", type=Path, help="exit 1 when FILE is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write} ({len(text.splitlines())} lines)")
        return 0
    if args.check is not None:
        try:
            current = args.check.read_text(encoding="utf-8")
        except OSError as e:
            print(f"{args.check}: cannot read ({e.strerror}); run: {REGENERATE}", file=sys.stderr)
            return 1
        if current != text:
            print(f"{args.check} is stale: run: {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{args.check} is current")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
