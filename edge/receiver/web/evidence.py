"""The evidence bundle of an alert's clip (``/evidence/SITE/NODE/ID``): the clip, its
signed manifest, the exact bytes the node signed, the raw signature, the public key that
signed it (from the node's key history: the key of the time, even if replaced since) with
its enrolment record, the event (pretty, and byte for byte as received with what its
message signature covered), its snapshot, the incident's other events, the officers'
acknowledgement and workflow notes with their records from the receiver's signed audit
chain (:mod:`edge.receiver.web.evidence_case`), and a README in Bahasa Indonesia and
English, times in the display zone, saying how to check it all with openssl or Python
alone (:mod:`edge.receiver.web.evidence_readme`)."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import zipfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from edge.core.logs import get_logger
from edge.evidence.canonical import canonical
from edge.receiver import provenance
from edge.receiver.store import reads
from edge.receiver.web import accesslog, evidence_case, evidence_readme
from edge.receiver.web.context import Dashboard, blocking, dashboard, session
from edge.receiver.web.media import clip_timing
from edge.receiver.web.params import event_key

log = get_logger(__name__)


def bundle(d: Dashboard, site: str, node: str, event_id: str) -> Path:
    """Write the bundle of *site*/*node*'s *event_id*'s clip to a temporary file; its path."""
    event = reads.event(d.db, site, node, event_id)
    if event is not None and event.get("clip") and event["clip"].get("deleted"):  # retention
        when = d.cfg.console.zone.when(event["clip"]["deleted"])
        raise HTTPException(410, f"deleted by retention on {when}")
    if event is None or not event.get("clip") or event["clip"]["state"] != "complete":
        raise HTTPException(404, "no complete clip for this alert")
    envelope = provenance.envelope(d.db, event["site"], event["node"], event["clip_id"])
    site, node = event["site"], event["node"]
    key = None if envelope is None else provenance.signer(d.db, site, node, envelope)
    clip = d.store.files.servable(event["clip"]["path"])
    if envelope is None or key is None or clip is None:
        raise HTTPException(404, "clip not available")
    m: dict[str, object] = envelope["manifest"]
    zone = d.cfg.console.zone
    shot = event.get("snapshot") or {}
    snapshot = None if shot.get("deleted") else d.store.files.servable(shot.get("path"))
    case = evidence_case.gather(d.db, event, snapshot, zone, key.key_id)
    timing = clip_timing(m, event["payload"].get("time"))
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
            for arcname, path in case.files:
                z.write(path, arcname, compress_type=zipfile.ZIP_STORED)
            for arcname, data in case.texts.items():
                z.writestr(arcname, data)
            readme = evidence_readme.readme(event=event, manifest=m, timing=timing, key=key,
                                            case=case, zone=zone)  # fmt: skip
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
    await accesslog.evidence(request, site, node, event_id, path)
    log.info("web.evidence_downloaded", site=site, node=node, event_id=event_id, user=s.user)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"evidence-{node}-{event_id.replace('/', '_')}.zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


ROUTES = [Route("/evidence/{site}/{node}/{event_id:path}", evidence_zip, methods=["GET"])]
