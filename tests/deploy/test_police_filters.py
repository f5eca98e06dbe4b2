"""The police_broker role's filters (deploy/roles/police_broker/filter_plugins), on CRLs
made by `edge pki`: the serials of several concatenated CRLs, and the refusal of a CRL that
is not its CA's or is about to expire (the broker would then refuse every client of it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from policehost import DEPLOY

from edge.cli.main import main


def plugin() -> ModuleType:
    """The role's filter plugin module."""
    path = DEPLOY / "roles/police_broker/filter_plugins/police_broker_pki.py"
    spec = importlib.util.spec_from_file_location("police_broker_pki", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ca(tmp: Path, name: str, *revoked: str) -> Path:
    """A CA without passphrase in tmp/NAME with one certificate per *revoked* CN, revoked."""
    d = tmp / name
    assert main(["pki", "init-ca", "--ca-dir", str(d), "--name", name, "--no-passphrase"]) == 0
    for cn in revoked:
        csr, crt = tmp / f"{cn}.csr", tmp / f"{cn}.crt"
        assert (
            main(["pki", "csr", "--key", str(tmp / cn / "k.pem"), "--csr", str(csr), "--cn", cn])
            == 0
        )
        assert main(["pki", "sign", "--ca-dir", str(d), "--csr", str(csr), "--out", str(crt)]) == 0
        assert main(["pki", "revoke", "--ca-dir", str(d), "--cert", str(crt)]) == 0
    return d


def test_serials_of_concatenated_crls_and_crl_problems(tmp_path: Path) -> None:
    """Two CAs' CRLs in one text give both revoked serials; a CRL checked against its own
    CA passes, against the other CA it is 'not signed by ca.crt', and one with 1 day left
    is refused when 2 are wanted, naming `edge pki crl`."""
    f = plugin()
    one, two = ca(tmp_path, "one", "node-x"), ca(tmp_path, "two", "node-y", "node-z")
    text = (one / "crl.pem").read_text() + "\n" + (two / "crl.pem").read_text()
    both = f.crl_serials(text)
    assert len(both) == 3 and set(f.crl_serials((one / "crl.pem").read_text())) < set(both)
    assert f.crl_serials("") == []
    crl1, ca1 = (one / "crl.pem").read_text(), (one / "ca.crt").read_text()
    ca2 = (two / "ca.crt").read_text()
    assert f.crl_problem(crl1, ca1, 1.0, "one") == ""
    assert "not signed by ca.crt" in f.crl_problem(crl1, ca2, 1.0, "one")
    assert main(["pki", "crl", "--ca-dir", str(one), "--days", "1"]) == 0
    short = f.crl_problem((one / "crl.pem").read_text(), ca1, 2.0, "one")
    assert short.startswith("one: crl.pem's next update is ") and "edge pki crl" in short
