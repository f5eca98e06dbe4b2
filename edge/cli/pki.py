"""``edge pki``: the site PKI for technicians. ``init-ca`` (once per site, on the
controller; the CA key encrypted with a passphrase), ``csr`` (on the node: its key never
leaves it), ``sign`` (on the controller), ``node-cert`` (sign, renew or replace a node's
certificate as needed: what deploy/pki.yml runs), ``revoke`` and ``crl`` (the list the
police broker checks; ``--renew-within`` for the daily timer). Exit 0 done (for ``crl
--renew-within``: renewed or still valid), 1 refused or failed (the reason on stderr),
2 usage. The CA directory defaults to ~/.local/share/warehouse-edge/pki/ca."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.cli.common import EXIT_FAILED, SubParsers
from edge.cli.pki_args import add_ca_dir, add_passphrase, ca_default_help


def register(sub: SubParsers) -> None:
    """Add `edge pki` and its actions."""
    p = sub.add_parser("pki", help="site CA, node keys and certificates, revocation")
    pki = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    # allow_abbrev=False: no "--passphrase SECRET" taken as --passphrase-file
    i = pki.add_parser(
        "init-ca",
        allow_abbrev=False,
        help="make the site CA (once; never replaces one)",
        description="Make DIR/ca.key (EC P-256, 0600, DIR 0700; encrypted with a passphrase "
        "unless --no-passphrase), the self-signed DIR/ca.crt and an empty DIR/crl.pem. "
        "Refuses when a CA is there.",
    )
    i.add_argument("--ca-dir", "--dir", dest="dir", type=Path, default=None, help=ca_default_help())
    i.add_argument("--name", required=True, help="CA name (its CN), e.g. 'ams-north site CA'")
    i.add_argument("--days", type=int, default=3650, help="validity (default 3650)")
    add_passphrase(i, new=True)
    i.set_defaults(handler=handle)
    c = pki.add_parser(
        "csr",
        allow_abbrev=False,
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
        allow_abbrev=False,
        help="sign a node's, receiver's or broker's request",
        description="Check the request's signature and its CN for the role (a node's CN is "
        "its node id; a receiver's starts with receiver-), issue the certificate (client "
        "auth; a broker: server auth and the --server names) and record it in DIR/index.",
    )
    add_ca_dir(s)
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
    add_passphrase(s)
    s.set_defaults(handler=handle)
    n = pki.add_parser(
        "node-cert",
        allow_abbrev=False,
        help="sign, renew or replace a node's certificate, only as needed",
        description="Keep --out a current certificate of node --cn for the key in --csr: "
        "sign when there is none; nothing while it is for that key with more than "
        "--renew-within days left; re-sign for the same key within them (renewal). A request "
        "for another key (a new card) is refused unless --replace: then the old certificate "
        "is revoked, the CRL re-issued and the new key signed. Prints one line: signed, "
        "valid, renewed or replaced, the serial and the end date.",
    )
    add_ca_dir(n)
    n.add_argument("--csr", type=Path, required=True, help="the node's request")
    n.add_argument("--out", type=Path, required=True, help="the node's certificate")
    n.add_argument("--cn", required=True, help="the node id the request must carry")
    n.add_argument("--days", type=int, default=825, help="validity (default 825)")
    n.add_argument(
        "--renew-within", type=int, default=60, help="re-sign at fewer days left (default 60)"
    )
    n.add_argument("--replace", action="store_true", help="a new key: revoke the old certificate")
    add_passphrase(n)
    n.set_defaults(handler=handle)
    r = pki.add_parser(
        "revoke",
        allow_abbrev=False,
        help="revoke a certificate and re-issue the CRL",
        description="Add the certificate to DIR/index as revoked and write DIR/crl.pem. "
        "Deploy crl.pem to the broker (deploy/broker.yml).",
    )
    add_ca_dir(r)
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--cert", type=Path, help="the certificate file")
    which.add_argument("--serial", help="its serial number (hex, as `sign` printed it)")
    r.add_argument("--crl-days", type=int, default=45, help="CRL next update (default 45)")
    add_passphrase(r)
    r.set_defaults(handler=handle)
    crl = pki.add_parser(
        "crl",
        allow_abbrev=False,
        help="re-issue the CRL (before its next update passes)",
        description="Write DIR/crl.pem anew. A broker with an expired CRL refuses every "
        "client. With --renew-within N only when fewer than N days are left or the CRL is "
        "missing, expired, unreadable or behind the index (the key is read only then); "
        "prints 'renewed until ...' or 'still valid until ...'; exit 0 either way, 1 when "
        "it could not renew.",
    )
    add_ca_dir(crl)
    crl.add_argument("--days", type=int, default=45, help="next update (default 45)")
    crl.add_argument("--renew-within", type=int, metavar="DAYS", help="renew only when needed")
    add_passphrase(crl)
    crl.set_defaults(handler=handle)


def _refused(e: Exception) -> int:
    print(f"pki: {e}", file=sys.stderr)
    return EXIT_FAILED


def handle(args: argparse.Namespace) -> int:
    """Carry out the ``edge pki`` action named on the command line."""
    from edge.cli import pki_run
    from edge.pki.ca import PkiError

    try:
        return pki_run.ACTIONS[args.what](args)
    except (PkiError, OSError) as e:
        return _refused(e)
