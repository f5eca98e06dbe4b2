"""Where the dashboard's pages live. An event is addressed by its site, node and id (ids
are unique per node only), each percent-encoded as one path segment; the id comes last and
its route takes a path (``{event_id:path}``), so an id holding ``/`` opens whether a link
encodes it (``%2F``) or not. Actions are a prefix (``/ack/...``, ``/evidence/...``), never a
suffix an id could end with."""

from __future__ import annotations

from urllib.parse import quote

DETAIL, ACK, EVIDENCE = "alerts", "ack", "evidence"


def _segment(text: object) -> str:
    return quote(str(text), safe="")


def event_url(site: object, node: object, event_id: object, action: str = DETAIL) -> str:
    """The path of one event's page (*action* ``alerts``), its acknowledgement (``ack``) or
    its evidence bundle (``evidence``)."""
    return f"/{action}/{_segment(site)}/{_segment(node)}/{_segment(event_id)}"


def media_url(kind: str, site: object, node: object, sha256: object) -> str:
    """The path of a node's stored clip (*kind* ``clip``) or snapshot (``snapshot``)."""
    ext = "mp4" if kind == "clip" else "jpg"
    return f"/media/{kind}/{_segment(site)}/{_segment(node)}/{_segment(sha256)}.{ext}"


TEMPLATE_GLOBALS = {"event_url": event_url, "media_url": media_url}
"""What the templates call to make links."""
