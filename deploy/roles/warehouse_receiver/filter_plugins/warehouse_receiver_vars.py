"""Filter of the warehouse_receiver role (it runs on the controller):
``warehouse_receiver_unknown_vars`` names each ``warehouse_receiver_*`` variable of a host
that meta/argument_specs.yml does not declare (a misspelt name), with the nearest declared
one. argument_specs checks only the options it declares; this catches the rest. Names with
a double underscore after the role's name are the role's own facts."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[1] / "meta" / "argument_specs.yml"
PREFIX = "warehouse_receiver_"


def unknown_vars(host_vars: Mapping[str, Any], host: str = "") -> list[str]:
    """One line per undeclared ``warehouse_receiver_*`` variable of *host_vars*."""
    spec = yaml.safe_load(SPEC.read_text())
    options = dict(spec["argument_specs"]["main"]["options"])
    out: list[str] = []
    for name in sorted(str(n) for n in host_vars):
        if not name.startswith(PREFIX) or name.startswith(PREFIX + "_") or name in options:
            continue
        if isinstance(host_vars[name], Mapping) and "changed" in host_vars[name]:
            continue  # a task's registered result
        near = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]}?)" if near else ""
        out.append(f"{name}: not a variable of the warehouse_receiver role{hint}")
    at = f"host {host}: " if host else ""
    return [at + line for line in out]


class FilterModule:
    """The role's filters."""

    def filters(self) -> dict[str, Any]:
        """Name -> function."""
        return {"warehouse_receiver_unknown_vars": unknown_vars}
