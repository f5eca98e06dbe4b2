"""The evidence bundle of an alert's clip (``/evidence/SITE/NODE/ID``): the clip, its
signed manifest, the exact bytes the node signed, the raw signature, the public key that
signed it (from the node's key history: the key of the time, even if replaced since) with
its enrolment record, the event, and a README saying how to check it all with openssl or
Python alone."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from edge.core.logs import get_logger
from edge.evidence.canonical import canonical
from edge.receiver import provenance
from edge.receiver.store import reads
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.params import event_key

log = get_logger(__name__)

README = """Evidence bundle of clip {clip_id}
camera {camera} of node {site}/{node}; event {event_id}
signed by {key_summary}

Files
  clip.mp4                  the clip as the node recorded it (H.264 in MP4)
  manifest.json             the signed manifest as received: {{"manifest", "alg", "key_id",
                            "signature"}}
  manifest.signed.json      the exact bytes the node signed: the "manifest" object as
                            canonical JSON (keys sorted, no spaces, UTF-8)
  manifest.sig              the raw 64-byte Ed25519 signature (base64-decoded "signature")
  node-public-key.pem       the node's public key that signed this clip, as enrolled at
                            the receiver (key id {key_id})
  key-enrolment.json        that key's enrolment: valid from, valid until (set when the
                            key was replaced; what it signed before stays valid), enrolled
                            by whom and why, and the key that replaced it
  event.json                the event as the node sent it

1. The clip is the file the manifest describes (expected sha256 {sha256}, {size} bytes):

     sha256sum clip.mp4
     openssl dgst -sha256 clip.mp4

2. The key is the one the manifest and the enrolment name (key id {key_id}: the first 16
   hex digits of the sha256 of the raw 32-byte public key):

     openssl pkey -pubin -in node-public-key.pem -outform DER | tail -c 32 \\
         | openssl dgst -sha256 -r | cut -c1-16

3. The node signed the manifest (OpenSSL 3):

     openssl pkeyutl -verify -pubin -inkey node-public-key.pem -rawin \\
         -in manifest.signed.json -sigfile manifest.sig
     -> "Signature Verified Successfully"

4. Python (hashlib and json from the standard library; the signature check uses the
   "cryptography" package):

     import base64, hashlib, json
     env = json.load(open("manifest.json"))
     m = env["manifest"]
     signed = json.dumps(m, sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False).encode()
     assert signed == open("manifest.signed.json", "rb").read()
     assert hashlib.sha256(open("clip.mp4", "rb").read()).hexdigest() == m["sha256"]
     from cryptography.hazmat.primitives.serialization import load_pem_public_key
     key = load_pem_public_key(open("node-public-key.pem", "rb").read())
     key.verify(base64.b64decode(env["signature"]), signed)  # raises if forged
     print("clip and manifest verified")

The manifest's event_ids name the events the clip belongs to; mask_hash ({mask_hash}) is the
hash of the privacy mask the camera applied before anything was recorded.
"""


def bundle(d: Dashboard, site: str, node: str, event_id: str) -> Path:
    """Write the bundle of *site*/*node*'s *event_id*'s clip to a temporary file; its path."""
    event = reads.event(d.db, site, node, event_id)
    if event is None or not event.get("clip") or event["clip"]["state"] != "complete":
        raise HTTPException(404, "no complete clip for this alert")
    envelope = provenance.envelope(d.db, event["site"], event["node"], event["clip_id"])
    site, node = event["site"], event["node"]
    key = None if envelope is None else provenance.signer(d.db, site, node, envelope)
    clip = d.store.files.servable(event["clip"]["path"])
    if envelope is None or key is None or clip is None:
        raise HTTPException(404, "clip not available")
    m: dict[str, Any] = envelope["manifest"]
    fd, name = tempfile.mkstemp(prefix=".evidence-", suffix=".zip", dir=d.store.files.root)
    os.close(fd)
    try:
        with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(clip, "clip.mp4", compress_type=zipfile.ZIP_STORED)
            z.writestr("manifest.json", json.dumps(envelope, indent=2, sort_keys=True))
            z.writestr("manifest.signed.json", canonical(m))
            z.writestr("manifest.sig", base64.b64decode(envelope["signature"]))
            z.writestr("node-public-key.pem", key.public_pem)
            z.writestr("key-enrolment.json", json.dumps(key.record(), indent=2, sort_keys=True))
            z.writestr("event.json", json.dumps(event["payload"], indent=2, sort_keys=True))
            readme = README.format(
                **{k: m.get(k) for k in ("clip_id", "camera", "sha256", "size", "mask_hash")},
                site=event["site"], node=event["node"], event_id=event_id,
                key_id=key.key_id, key_summary=key.describe(),
            )  # fmt: skip
            z.writestr("README.txt", readme)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


async def evidence_zip(request: Request) -> Response:
    """GET /evidence/SITE/NODE/ID (a zip)."""
    s = session(request)
    d = dashboard(request)
    site, node, event_id = event_key(request)
    path = await blocking(bundle, d, site, node, event_id)
    log.info("web.evidence_downloaded", site=site, node=node, event_id=event_id, user=s.user)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"evidence-{node}-{event_id.replace('/', '_')}.zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


ROUTES = [Route("/evidence/{site}/{node}/{event_id:path}", evidence_zip, methods=["GET"])]
