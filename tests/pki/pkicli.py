"""`edge pki` run in-process, and the files it leaves, for the PKI tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.cli.main import main
from edge.demo.pki import CertPair, DemoCA


def edge_pki(*argv: str | Path) -> int:
    """Exit status of ``edge pki ARGV...``."""
    return main(["pki", *(str(a) for a in argv)])


def node_csr(tmp: Path, cn: str) -> tuple[Path, Path]:
    """(key, csr) made by ``edge pki csr`` under *tmp*/*cn*/."""
    key, csr = tmp / cn / "tls" / "node.key", tmp / cn / "node.csr"
    assert edge_pki("csr", "--key", key, "--csr", csr, "--cn", cn) == 0
    return key, csr


def raw_csr(path: Path, cn: str) -> Path:
    """A CSR with any *cn* (what `edge pki csr` would refuse), written to *path*."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return path


def load_cert(path: Path) -> x509.Certificate:
    """The PEM certificate at *path*."""
    return x509.load_pem_x509_certificate(path.read_bytes())


class PkiCA(DemoCA):
    """What :class:`~edge.demo.broker.LocalBroker` needs of a CA (``ca_path``, ``issue``),
    backed by an ``edge pki`` CA directory: every certificate, the broker's too, is made by
    ``edge pki csr`` and ``edge pki sign``."""

    def __init__(self, directory: Path, name: str = "fleet test CA") -> None:
        """Make the CA with ``edge pki init-ca`` (no DemoCA key is made)."""
        self.dir = directory
        assert edge_pki("init-ca", "--dir", directory, "--name", name, "--no-passphrase") == 0
        self.ca_path = directory / "ca.crt"
        self.issued = directory.parent / f"{directory.name}-issued"

    def issue(
        self,
        cn: str,
        *,
        server: bool = False,
        valid_days: float = 30,
        not_before: dt.datetime | None = None,
    ) -> CertPair:
        """A node certificate for *cn*, or with ``server=True`` a broker certificate for
        localhost (``--role broker --server localhost``)."""
        key, csr = node_csr(self.issued, cn)
        cert = self.issued / cn / "node.crt"
        role = ["--role", "broker", "--server", "localhost"] if server else ["--role", "node"]
        days = ["--days", str(max(1, round(valid_days)))]
        signed = edge_pki("sign", "--ca-dir", self.dir, "--csr", csr, "--out", cert, *role, *days)
        assert signed == 0
        return CertPair(cert, key)
