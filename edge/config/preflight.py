"""Preflight: what ``edge run`` will need from this machine, checked before it starts.

A config can be valid and still name a CA file that is missing or did not issue the node's
certificate, a private key anyone may read, a data directory the service cannot write, a file
camera that is not there, a GPIO pin factory this machine cannot load or a model that does not
load. Each such problem is one line naming the key (``destinations[0].tls.key: /etc/x/node.key
is readable by others (mode 644): chmod 600 it``), all of them at once. Nothing here touches
the network or writes anything; ``edge check-config`` and ``edge run`` both call
:func:`preflight`, so what one refuses the other refuses in the same words.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import ssl
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from edge.config.capacity_check import capacity_problems, capacity_warnings
from edge.config.detection import DetectorConfig
from edge.config.gpio import MOCK_WARNING, gpio_problems
from edge.config.localfiles import local_file_problems
from edge.config.root import EdgeConfig
from edge.config.transport import TlsConfig

ModelLoader = Callable[[DetectorConfig], object]
"""Loads the configured detector (``edge.analysis.detect.factory.build_detector``); raises
when the model cannot be used. Passed in by the command line: config sits below analysis."""


def preflight(cfg: EdgeConfig, *, load_model: ModelLoader | None = None) -> list[str]:
    """Every problem ``edge run`` would meet with *cfg* on this machine, one line each.

    With *load_model* the detector's model is loaded too (``edge check-config``); without it
    only its file is checked (``edge run`` loads it once, when it builds the node).
    """
    problems = _state_paths(cfg) + local_file_problems(cfg)
    if not cfg.destinations:
        problems.append(NO_DESTINATIONS)
    for i, dest in enumerate(cfg.destinations):
        if dest.tls is not None:
            problems += tls_problems(f"destinations[{i}].tls", dest.tls)
    problems += gpio_problems(cfg)
    problems += _model(cfg.detector, load_model)
    problems += capacity_problems(cfg)
    return [one_line(p) for p in problems]


NO_DESTINATIONS = (
    "destinations: none configured: no alarm, event or clip would reach anyone; add a "
    "[[destinations]] table (the police broker)"
)


def preflight_warnings(cfg: EdgeConfig) -> list[str]:
    """What ``edge run`` would start with but should not run like that in service, one line
    each (``edge check-config`` prints them and still passes; ``edge run`` logs them)."""
    return ([MOCK_WARNING] if cfg.gpio.factory == "mock" else []) + capacity_warnings(cfg)


def one_line(text: str) -> str:
    """*text* with every run of white space (newlines too) made one space."""
    return " ".join(text.split())


def private_key_mode(path: Path, mode: int) -> str | None:
    """Why a private key file of *mode* is not private, or None when only its owner may use
    it (the same rule the node applies to its signing key)."""
    perms = stat.S_IMODE(mode)
    if not perms & 0o077:
        return None
    who = "readable" if perms & 0o044 else "writable" if perms & 0o022 else "usable"
    return f"{path} is {who} by others (mode {perms:o}): chmod 600 it"


# -- directories and state files -------------------------------------------------------------


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        return f"uid {os.getuid()}"


def _stat(path: Path) -> os.stat_result | None:
    """*path*'s stat, None when it does not exist (a missing parent included)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _directory(where: str, path: Path) -> str | None:
    """Why the service cannot use (or create) directory *path*, or None."""
    try:
        st = _stat(path)
        if st is None:
            return _creatable(where, path)
        if not stat.S_ISDIR(st.st_mode):
            return f"{where}: {path} is not a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return f"{where}: {path} is not writable by {_user()}: chown or chmod it"
    except OSError as e:
        return f"{where}: cannot check {path}: {e.strerror or e}"
    return None


def _creatable(where: str, path: Path) -> str | None:
    """Why the missing directory *path* cannot be made (its nearest existing ancestor)."""
    parent = path.parent
    while parent != parent.parent and _stat(parent) is None:
        parent = parent.parent
    if not parent.is_dir():
        return f"{where}: cannot create {path}: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return (
            f"{where}: {path} does not exist and {_user()} cannot create it "
            f"({parent} is not writable): create it, writable by {_user()}"
        )
    return None


def _state_file(where: str, path: Path, what: str, *, write: bool = True) -> str | None:
    """Why the service cannot read (and with *write*, write) the file *path* if it exists."""
    try:
        st = _stat(path)
    except OSError as e:
        return f"{where}: cannot check {path}: {e.strerror or e}"
    if st is None:
        return None
    if stat.S_ISDIR(st.st_mode):
        return f"{where}: {path} is a directory, not {what}"
    if not stat.S_ISREG(st.st_mode):
        return f"{where}: {path} is not a regular file ({what})"
    if not os.access(path, os.R_OK | (os.W_OK if write else 0)):
        how = "writable" if write else "readable"
        return f"{where}: {path} is not {how} by {_user()}: chown or chmod it"
    return None


def _state_paths(cfg: EdgeConfig) -> list[str]:
    """The data directory, clips directory, outbox, key and audit log paths are usable (what
    the key holds is the evidence layer's to judge). Paths inside a data directory that is
    itself unusable are not reported again."""
    data = "node.data_dir"
    bad_data = _directory(data, cfg.data_dir)
    checks: list[str | None] = [bad_data]
    if not bad_data:
        checks += [
            _state_file(data, cfg.key_path, "the node's signing key", write=False),
            _state_file(data, cfg.audit_path, "the audit log"),
        ]
    if cfg.clips.directory or not bad_data:
        checks.append(_directory("clips.directory" if cfg.clips.directory else data, cfg.clips_dir))
    if cfg.outbox.path or not bad_data:
        where = "outbox.path" if cfg.outbox.path else data
        checks.append(
            _directory(where, cfg.outbox_path.parent)
            or _state_file(where, cfg.outbox_path, "an SQLite file")
        )
    return [p for p in checks if p]


# -- TLS ---------------------------------------------------------------------------------------


def _read(where: str, path: str) -> tuple[bytes | None, str | None]:
    """The bytes of the regular file *path*, or why not."""
    p = Path(path)
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            return None, f"{where}: {p} is not a file"
        return p.read_bytes(), None
    except (FileNotFoundError, NotADirectoryError):
        return None, f"{where}: file not found: {p}"
    except OSError as e:
        return None, f"{where}: cannot read {p}: {e.strerror or e}"


def tls_problems(where: str, tls: TlsConfig) -> list[str]:
    """The CA, certificate and key of one destination load as ``edge run`` loads them; the key
    is private, unencrypted and belongs to the certificate."""
    problems: list[str] = []
    ca, bad = _read(f"{where}.ca", tls.ca)
    if bad:
        problems.append(bad)
    elif ca is not None:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=tls.ca)
        except (ssl.SSLError, OSError) as e:
            problems.append(f"{where}.ca: {tls.ca} is not a CA certificate in PEM: {e}")
    if tls.cert is None or tls.key is None:
        return problems
    cert_pem, bad_cert = _read(f"{where}.cert", tls.cert)
    key_pem, bad_key = _read(f"{where}.key", tls.key)
    problems += [p for p in (bad_cert, bad_key) if p]
    cert = _certificate(f"{where}.cert", tls.cert, cert_pem, problems)
    key = _private_key(f"{where}.key", tls.key, key_pem, problems)
    if cert is None or key is None:
        return problems
    if _public(cert.public_key()) != _public(key.public_key()):
        problems.append(
            f"{where}.key: {tls.key} does not belong to the certificate {tls.cert} "
            "(another key pair): give the key the certificate was issued for"
        )
        return problems
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(tls.cert, tls.key)
    except (ssl.SSLError, OSError) as e:
        problems.append(f"{where}.cert: cannot load {tls.cert} with key {tls.key}: {e}")
        return problems
    if ca is not None and not problems:
        problems += chain_problems(where, tls, ca, cert_pem or b"")
    return problems


def chain_problems(where: str, tls: TlsConfig, ca_pem: bytes, cert_pem: bytes) -> list[str]:
    """The client certificate chains to the configured CA: it (or an intermediate after it in
    its file) names a certificate of the CA file as its issuer, and that certificate's key
    signed it. A CA unrelated to the certificate is refused: the broker, trusting that
    site CA, would refuse this node at every connect."""
    try:
        anchors = x509.load_pem_x509_certificates(ca_pem)
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as e:
        return [f"{where}.ca: {tls.ca} cannot be read with the certificate: {e}"]
    current, rest = chain[0], chain[1:]
    for _ in range(len(rest) + 1):
        if any(_issued_by(current, a) for a in anchors):
            return []
        parent = next((c for c in rest if _issued_by(current, c)), None)
        if parent is None:
            break
        current = parent
    issuer = chain[0].issuer.rfc4514_string() or "an empty name"
    held = "; ".join(a.subject.rfc4514_string() for a in anchors)
    return [
        f"{where}.cert: {tls.cert} was not issued by the CA in {tls.ca} (the certificate's "
        f"issuer is {issuer}; the CA file holds {held}): give the site CA that signed this "
        "node's certificate, or a certificate that CA signed"
    ]


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """*parent*'s subject is *child*'s issuer and *parent*'s key signed *child*."""
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _public(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _certificate(
    where: str, path: str, pem: bytes | None, problems: list[str]
) -> x509.Certificate | None:
    if pem is None:
        return None
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        held = " (it holds a private key)" if b"PRIVATE KEY-----" in pem else ""
        problems.append(f"{where}: {path} is not a PEM certificate{held}")
        return None


def _private_key(
    where: str, path: str, pem: bytes | None, problems: list[str]
) -> PrivateKeyTypes | None:
    """The key in *pem*, when it is one; a key (even an unusable one) must be private."""
    if pem is None:
        return None
    key: PrivateKeyTypes | None = None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:  # encrypted: the node would wait for a passphrase nobody types
        problems.append(
            f"{where}: {path} is encrypted: the node needs an unencrypted key (kept private by "
            "mode 600 and LoadCredential=)"
        )
    except ValueError:
        held = " (it holds a certificate)" if b"CERTIFICATE-----" in pem else ""
        problems.append(f"{where}: {path} is not a PEM private key{held}")
        return None
    except Exception as e:  # cryptography's UnsupportedAlgorithm and others
        problems.append(f"{where}: {path} is not a usable private key: {e}")
    try:
        not_private = private_key_mode(Path(path), Path(path).stat().st_mode)
    except OSError as e:
        not_private = f"cannot check {path}: {e.strerror or e}"
    if not_private:
        problems.append(f"{where}: {not_private}")
    return key


# -- the detector's model ----------------------------------------------------------------------


def _model(det: DetectorConfig, load_model: ModelLoader | None) -> list[str]:
    if det.backend == "none" or det.model is None:
        return []
    bad = _model_file(Path(det.model), folder_ok=det.backend == "ultralytics")
    if bad:
        return [f"detector.model: {bad}"]
    wrong = model_hash_problem(det)
    if wrong:
        return [wrong]
    if load_model is None:
        return []
    try:
        load_model(det)
    except Exception as e:  # onnxruntime and ultralytics raise their own kinds
        return [f"detector.model: {e}"]
    return []


def model_hash_problem(det: DetectorConfig) -> str | None:
    """Why the model file is not the one ``detector.model_sha256`` names, or None (no hash
    set, or the file's SHA-256 matches). Names the key, the expected and the actual hash."""
    if det.model_sha256 is None or det.model is None:
        return None
    path = Path(det.model)
    digest = hashlib.sha256()
    try:
        if path.is_dir():
            return f"detector.model_sha256: {path} is a folder; a hash checks one model file"
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as e:
        return f"detector.model_sha256: cannot read {path}: {e.strerror or e}"
    actual = digest.hexdigest()
    if actual == det.model_sha256:
        return None
    return (
        f"detector.model_sha256: {path} has sha256 {actual}, expected {det.model_sha256}: "
        "install the right model or correct the hash"
    )


def _model_file(path: Path, *, folder_ok: bool) -> str | None:
    """Why *path* cannot be a model (an NCNN export, for ultralytics, is a folder), or None."""
    try:
        st = _stat(path)
    except OSError as e:
        return f"cannot check {path}: {e.strerror or e}"
    if st is None:
        return f"model not found: {path}"
    if not (stat.S_ISREG(st.st_mode) or (folder_ok and stat.S_ISDIR(st.st_mode))):
        return f"{path} is not a model file"
    if not os.access(path, os.R_OK):
        return f"{path} is not readable by {_user()}: chown or chmod it"
    return None
