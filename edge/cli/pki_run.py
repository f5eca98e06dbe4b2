"""The `edge pki` actions (their options are in :mod:`edge.cli.pki`). Each raises
PkiError or OSError to refuse (exit 1, the reason on stderr)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from edge.cli.common import EXIT_OK
from edge.cli.pki_args import ca_dir, key_passphrase, new_key_passphrase
from edge.pki.ca import CRL, init_ca, serial_hex
from edge.pki.crl import renew_crl
from edge.pki.csr import make_csr
from edge.pki.nodecert import keep_certificate
from edge.pki.revoke import issue_crl, revoke
from edge.pki.sign import sign_file


def init_ca_action(args: argparse.Namespace) -> int:
    """Make the site CA (key encrypted unless --no-passphrase) and its first CRL."""
    directory = ca_dir(args)
    try:
        secret = new_key_passphrase(args)
    except argparse.ArgumentTypeError as e:
        print(f"pki: {e}", file=sys.stderr)
        return 2
    ca = init_ca(directory, args.name, args.days, secret)
    issue_crl(ca)
    how = "encrypted with its passphrase" if secret else "NOT encrypted (--no-passphrase)"
    print(f"pki: made the CA {args.name!r} in {directory}; its key is {how}", file=sys.stderr)
    print(ca.cert_path)
    return EXIT_OK


def csr_action(args: argparse.Namespace) -> int:
    """Make the key and the request; never replace a key."""
    make_csr(args.key, args.csr, args.cn)
    print(f"pki: made {args.key} (0600) and {args.csr} for CN={args.cn}", file=sys.stderr)
    print(args.csr)
    return EXIT_OK


def sign_action(args: argparse.Namespace) -> int:
    """Check and sign the request; print the serial."""
    directory = ca_dir(args)
    cert = sign_file(
        directory,
        args.csr,
        args.out,
        role=args.role,
        servers=args.server,
        days=args.days,
        force=args.force,
        expect_cn=args.expect_cn,
        passphrase=key_passphrase(args, directory)(),
    )
    until = cert.not_valid_after_utc.date()
    print(f"pki: signed {args.out} ({args.role}, valid until {until})", file=sys.stderr)
    print(serial_hex(cert.serial_number))
    return EXIT_OK


def node_cert_action(args: argparse.Namespace) -> int:
    """Sign, renew or replace the node's certificate as needed; one line on stdout."""
    directory = ca_dir(args)
    done = keep_certificate(
        directory,
        args.csr,
        args.out,
        cn=args.cn,
        days=args.days,
        renew_within=args.renew_within,
        replace=args.replace,
        passphrase=key_passphrase(args, directory),
    )
    line = f"{done.action} {args.cn} serial {serial_hex(done.serial)} "
    line += f"until {done.not_after.date().isoformat()}"
    if done.revoked is not None:
        line += f"; revoked {serial_hex(done.revoked)}, wrote {directory / CRL}: deploy it"
    print(line)
    return EXIT_OK


def revoke_action(args: argparse.Namespace) -> int:
    """Revoke and write the CRL."""
    directory = ca_dir(args)
    serial, new = revoke(
        directory,
        cert_path=args.cert,
        serial=args.serial,
        crl_days=args.crl_days,
        passphrase=key_passphrase(args, directory)(),
    )
    done = "revoked" if new else "was already revoked:"
    print(f"pki: {done} serial {serial_hex(serial)}; wrote {directory / CRL}", file=sys.stderr)
    return EXIT_OK


def crl_action(args: argparse.Namespace) -> int:
    """Re-issue the CRL (with --renew-within: only when needed; one line either way)."""
    from edge.pki.ca import SiteCA

    directory = ca_dir(args)
    secret = key_passphrase(args, directory)
    if args.renew_within is not None:
        done = renew_crl(
            directory, within_days=args.renew_within, days=args.days, passphrase=secret
        )
        until = done.next_update.isoformat(timespec="seconds")
        if done.renewed:
            print(f"pki: CRL renewed until {until} ({done.reason}): {directory / CRL}")
        else:
            print(f"pki: CRL still valid until {until} ({done.reason}): {directory / CRL}")
        return EXIT_OK
    crl = issue_crl(SiteCA.load(directory, secret()), args.days)
    nxt = crl.next_update_utc.isoformat() if crl.next_update_utc else "-"
    print(f"pki: wrote {directory / CRL}: {len(crl)} revoked, next update {nxt}", file=sys.stderr)
    return EXIT_OK


ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init-ca": init_ca_action,
    "csr": csr_action,
    "sign": sign_action,
    "node-cert": node_cert_action,
    "revoke": revoke_action,
    "crl": crl_action,
}
