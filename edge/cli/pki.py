"""``edge pki``: the site PKI for technicians. ``init-ca`` (once per site, on the
controller), ``csr`` (on the node: its key never leaves it), ``sign`` (on the controller),
``revoke`` and ``crl`` (the list the police broker checks). Exit 0 done, 1 refused or
failed (the reason on stderr), 2 usage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.cli.common import EXIT_FAILED, EXIT_OK, SubParsers


def register(sub: SubParsers) -> None:
    """Add `edge pki` and its actions."""
    p = sub.add_parser("pki", help="site CA, node keys and certificates, revocation")
    pki = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    i = pki.add_parser(
        "init-ca",
        help="make the site CA (once; never replaces one)",
        description="Make DIR/ca.key (EC P-256, 0600, DIR 0700), the self-signed DIR/ca.crt "
        "and an empty DIR/crl.pem. Refuses when a CA is there.",
    )
    i.add_argument("--dir", type=Path, required=True, help="CA directory")
    i.add_argument("--name", required=True, help="CA name (its CN), e.g. 'ams-north site CA'")
    i.add_argument("--days", type=int, default=3650, help="validity (default 3650)")
    i.set_defaults(handler=handle)
    c = pki.add_parser(
        "csr",
        help="on the node: make its TLS key and a signing request",
        description="Make a new EC P-256 private key (0600; its directory 0700 when made "
        "here) and a CSR with CN=NODE_ID. Refuses (exit 1) when the key is there.",
    )
    c.add_argument("--key", type=Path, required=True, help="private key to make")
    c.add_argument("--csr", type=Path, required=True, help="request to write")
    c.add_argument("--cn", required=True, help="the node id (receivers: receiver-NAME)")
    c.set_defaults(handler=handle)
    s = pki.add_parser(
        "sign",
        help="sign a node's, receiver's or broker's request",
        description="Check the request's signature and its CN for the role (a node's CN is "
        "its node id; a receiver's starts with receiver-), issue the certificate (client "
        "auth; a broker: server auth and the --server names) and record it in DIR/index.",
    )
    s.add_argument("--ca-dir", type=Path, required=True, help="CA directory")
    s.add_argument("--csr", type=Path, required=True, help="the request")
    s.add_argument("--out", type=Path, required=True, help="certificate to write")
    s.add_argument(
        "--role",
        choices=["node", "receiver", "broker"],
        default="node",
        help="node (default; CN = node id), receiver (CN receiver-NAME) or broker",
    )
    s.add_argument(
        "--server", action="append", default=[], help="broker host name or IP (repeatable)"
    )
    s.add_argument("--days", type=int, default=825, help="validity (default 825)")
    s.add_argument("--force", action="store_true", help="replace an existing --out")
    s.add_argument("--expect-cn", help="refuse unless the request's CN is this (the node id)")
    s.set_defaults(handler=handle)
    r = pki.add_parser(
        "revoke",
        help="revoke a certificate and re-issue the CRL",
        description="Add the certificate to DIR/index as revoked and write DIR/crl.pem. "
        "Copy crl.pem to the broker and reload it.",
    )
    r.add_argument("--ca-dir", type=Path, required=True, help="CA directory")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--cert", type=Path, help="the certificate file")
    which.add_argument("--serial", help="its serial number (hex, as `sign` printed it)")
    r.add_argument("--crl-days", type=int, default=30, help="CRL next update (default 30)")
    r.set_defaults(handler=handle)
    crl = pki.add_parser(
        "crl",
        help="re-issue the CRL (before its next update passes)",
        description="Write DIR/crl.pem anew. A broker with an expired CRL refuses every "
        "client: run this well within --days (e.g. weekly from cron).",
    )
    crl.add_argument("--ca-dir", type=Path, required=True, help="CA directory")
    crl.add_argument("--days", type=int, default=30, help="next update (default 30)")
    crl.set_defaults(handler=handle)


def _refused(e: Exception) -> int:
    print(f"pki: {e}", file=sys.stderr)
    return EXIT_FAILED


def handle_init_ca(args: argparse.Namespace) -> int:
    """Make the site CA and its first (empty) CRL."""
    from edge.pki.ca import PkiError, init_ca
    from edge.pki.revoke import issue_crl

    try:
        ca = init_ca(args.dir, args.name, args.days)
        issue_crl(ca)
    except (PkiError, OSError) as e:
        return _refused(e)
    print(f"pki: made the CA {args.name!r} in {args.dir}", file=sys.stderr)
    print(ca.cert_path)
    return EXIT_OK


def handle_csr(args: argparse.Namespace) -> int:
    """Make the key and the request; never replace a key."""
    from edge.pki.ca import PkiError
    from edge.pki.csr import make_csr

    try:
        make_csr(args.key, args.csr, args.cn)
    except (PkiError, OSError) as e:
        return _refused(e)
    print(f"pki: made {args.key} (0600) and {args.csr} for CN={args.cn}", file=sys.stderr)
    print(args.csr)
    return EXIT_OK


def handle_sign(args: argparse.Namespace) -> int:
    """Check and sign the request; print the serial."""
    from edge.pki.ca import PkiError, serial_hex
    from edge.pki.sign import sign_file

    try:
        cert = sign_file(
            args.ca_dir,
            args.csr,
            args.out,
            role=args.role,
            servers=args.server,
            days=args.days,
            force=args.force,
            expect_cn=args.expect_cn,
        )
    except (PkiError, OSError) as e:
        return _refused(e)
    serial = serial_hex(cert.serial_number)
    until = cert.not_valid_after_utc.date()
    print(f"pki: signed {args.out} ({args.role}, valid until {until})", file=sys.stderr)
    print(serial)
    return EXIT_OK


def handle_revoke(args: argparse.Namespace) -> int:
    """Revoke and write the CRL."""
    from edge.pki.ca import CRL, PkiError, serial_hex
    from edge.pki.revoke import revoke

    try:
        serial, new = revoke(
            args.ca_dir, cert_path=args.cert, serial=args.serial, crl_days=args.crl_days
        )
    except (PkiError, OSError) as e:
        return _refused(e)
    done = "revoked" if new else "was already revoked:"
    print(f"pki: {done} serial {serial_hex(serial)}; wrote {args.ca_dir / CRL}", file=sys.stderr)
    return EXIT_OK


def handle_crl(args: argparse.Namespace) -> int:
    """Re-issue the CRL."""
    from edge.pki.ca import CRL, PkiError, SiteCA
    from edge.pki.revoke import issue_crl

    try:
        crl = issue_crl(SiteCA.load(args.ca_dir), args.days)
    except (PkiError, OSError) as e:
        return _refused(e)
    print(
        f"pki: wrote {args.ca_dir / CRL}: {len(crl)} revoked, next update "
        f"{crl.next_update_utc.isoformat() if crl.next_update_utc else '-'}",
        file=sys.stderr,
    )
    return EXIT_OK


_ACTIONS = {
    "init-ca": handle_init_ca,
    "csr": handle_csr,
    "sign": handle_sign,
    "revoke": handle_revoke,
    "crl": handle_crl,
}


def handle(args: argparse.Namespace) -> int:
    """Carry out the ``edge pki`` action named on the command line."""
    return _ACTIONS[args.what](args)
