"""Filters of the police_broker role (they run on the controller):

- ``police_broker_crl_serials``: the revoked serials (hex) of every CRL in a PEM text (one
  CRL or several concatenated, as the broker's crlfile holds them);
- ``police_broker_crl_problem``: why a site's ``crl.pem`` must not reach the broker (not
  signed by that site's ``ca.crt``, past or near its next update), or "" when it may;
- ``police_broker_unknown_vars`` / ``warehouse_receiver_unknown_vars``: the role variables
  of a host that meta/argument_specs.yml does not declare (a misspelt name), each with the
  nearest declared one. argument_specs checks only the options it declares; these catch
  the rest. Names with a double underscore after the role's name are the role's own facts.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509

ROLES = Path(__file__).resolve().parents[2]
_PEM_CRL = re.compile(
    r"-----BEGIN X509 CRL-----\s.*?-----END X509 CRL-----", re.DOTALL
)


def crl_serials(pem: str) -> list[str]:
    """Revoked serials, lower-case hex without leading zeros, of every CRL in *pem*."""
    serials: set[str] = set()
    for block in _PEM_CRL.findall(pem or ""):
        crl = x509.load_pem_x509_crl(block.encode())
        serials.update(format(r.serial_number, "x") for r in crl)
    return sorted(serials)


def crl_problem(crl_pem: str, ca_pem: str, min_days: float = 1.0, where: str = "") -> str:
    """Why *crl_pem* must not be deployed with *ca_pem* (its site's CA), or "" when fine:
    unreadable, not signed by that CA, or fewer than *min_days* before its next update (a
    broker with an expired CRL refuses every client of that CA)."""
    at = f"{where}: " if where else ""
    try:
        crl = x509.load_pem_x509_crl(crl_pem.encode())
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
    except ValueError as e:
        return f"{at}not a PEM CRL and CA certificate ({e})"
    public = ca.public_key()
    try:
        signed = crl.is_signature_valid(public)  # type: ignore[arg-type]
    except TypeError:
        signed = False
    if not signed or crl.issuer != ca.subject:
        return f"{at}crl.pem is not signed by ca.crt of this directory"
    nxt = crl.next_update_utc
    left = (nxt - dt.datetime.now(dt.UTC)).total_seconds() / 86400 if nxt else 0.0
    if nxt is None or left < min_days:
        when = nxt.isoformat() if nxt else "never"
        return (
            f"{at}crl.pem's next update is {when} ({left:.1f} days left, at least "
            f"{min_days:g} wanted): re-issue it (edge pki crl) before deploying"
        )
    return ""


def spec_options(role: str) -> dict[str, Any]:
    """The options of *role*'s main entry point in its meta/argument_specs.yml."""
    spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    return dict(spec["argument_specs"]["main"]["options"])


def unknown_vars(host_vars: Mapping[str, Any], role: str, host: str = "") -> list[str]:
    """One line per ``ROLE_*`` variable of *host_vars* that *role*'s spec does not declare,
    naming the nearest declared one."""
    options = spec_options(role)
    prefix = f"{role}_"
    out: list[str] = []
    for name in sorted(str(n) for n in host_vars):
        if not name.startswith(prefix) or name.startswith(prefix + "_") or name in options:
            continue
        near = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]}?)" if near else ""
        out.append(f"{name}: not a variable of the {role} role{hint}")
    at = f"host {host}: " if host else ""
    return [at + line for line in out]


class FilterModule:
    """The role's filters."""

    def filters(self) -> dict[str, Any]:
        """Name -> function."""
        return {
            "police_broker_crl_serials": crl_serials,
            "police_broker_crl_problem": crl_problem,
            "police_broker_unknown_vars": lambda hv, host="": unknown_vars(
                hv, "police_broker", host
            ),
        }
