"""Which messages to believe. Every event, heartbeat, manifest, chunk and snapshot must be
signed by the enrolled key of the node its topic names (``edge.evidence.signing``); the
manifest's own signature and the event's own fields must agree with the topic too. Anything
else is a :class:`Rejected` with a reason, for the quarantine.

The retained ``status`` (``online``/``offline``, partly the broker's last will) is the one
unsigned message: the broker publishes the will, so nobody could sign it. It is taken only
for an enrolled node and only moves the node's online flag; the broker's ACLs keep other
clients off a node's topics."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.core.errors import EvidenceError
from edge.evidence.manifest import verify_manifest
from edge.evidence.signing import KID, SIG, SignedFields, payload_sha256, verify_message
from edge.receiver import validate
from edge.receiver.keyring import Identity, Registry, utc
from edge.receiver.messages import Accepted, Part, Reason, Rejected, Verdict
from edge.receiver.validate import Invalid, safe_text

__all__ = ["Checker", "Identity", "Registry"]


_FIXED = {"events": Part.EVENT, "health": Part.HEALTH, "status": Part.STATUS}


class _Reject(Exception):
    """Raised inside :class:`Checker` to quarantine the message being checked."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _part_of(relative: str) -> tuple[Part, str, int]:
    """Part, reference and chunk number of a topic relative to ``PREFIX/SITE/NODE/``."""
    if relative in _FIXED:
        return _FIXED[relative], "", 0
    levels = relative.split("/")
    if len(levels) == 3 and levels[0] == "clips" and levels[1]:
        ref = validate.level(levels[1], validate.UUID, "clip id")
        if levels[2] == "manifest":
            return Part.MANIFEST, ref, 0
        if validate.CHUNK.fullmatch(levels[2]):
            return Part.CHUNK, ref, int(levels[2])
    if len(levels) == 2 and levels[0] == "snapshots" and levels[1]:
        return Part.SNAPSHOT, validate.level(levels[1], validate.UUID, "snapshot id"), 0
    raise _Reject(Reason.UNKNOWN_TOPIC, f"unknown message topic {safe_text(relative, 200)!r}")


@dataclass(frozen=True, slots=True)
class _Where:
    """What a topic says about a message."""

    site: str
    node: str
    relative: str


class Checker:
    """Turns (topic, payload, user properties) into a :class:`Verdict`."""

    def __init__(self, registry: Registry, prefix: str, *, max_clip_bytes: int) -> None:
        self.registry = registry
        self.prefix = prefix.rstrip("/") + "/"
        self.max_clip_bytes = max_clip_bytes

    def check(self, topic: str, payload: bytes, props: Mapping[str, str]) -> Verdict:
        """The verdict on one message. It never raises: a breach of the wire schema
        (:mod:`edge.receiver.validate`) is ``malformed``, any other exception ``error``
        with the exception's class; the topic, node and id a rejection keeps are text any
        store takes."""
        digest = payload_sha256(payload)
        node = ""
        try:
            where = self._where(topic)
            node = where.node
            return self._accept(where, topic, payload, digest, props)
        except _Reject as r:
            reason, detail = r.reason, r.detail
        except Invalid as e:
            reason, detail = Reason.MALFORMED, str(e)
        except Exception as e:  # one message's bug must not stop the receiver
            reason, detail = Reason.ERROR, f"{type(e).__name__}: {e}"
        msg_id = safe_text(props.get("id", ""), 200)
        return Rejected(reason, safe_text(detail), safe_text(topic), payload, digest, node, msg_id)

    def _where(self, topic: str) -> _Where:
        shown = safe_text(topic, 200)
        if not topic.startswith(self.prefix):
            raise _Reject(Reason.UNKNOWN_TOPIC, f"topic {shown!r} is outside {self.prefix}#")
        rest = topic[len(self.prefix) :].split("/", 2)
        if len(rest) != 3 or not rest[0] or not rest[1]:
            raise _Reject(Reason.UNKNOWN_TOPIC, f"topic {shown!r} is not PREFIX/SITE/NODE/...")
        validate.level(rest[0], validate.NAME, "site level")
        validate.level(rest[1], validate.NAME, "node level")
        return _Where(*rest)

    def _accept(
        self, where: _Where, topic: str, payload: bytes, digest: str, props: Mapping[str, str]
    ) -> Accepted:
        site, node = where.site, where.node
        kind, ref, n = _part_of(where.relative)
        if kind is Part.STATUS:
            if not self.registry.enrolled(site, node):
                raise _Reject(Reason.UNKNOWN_NODE, f"status of unenrolled node {site}/{node}")
            data = validate.json_object(payload, "status")
            if data.get("state") not in ("online", "offline"):
                raise _Reject(Reason.MALFORMED, "status is not {'state': online|offline}")
            return Accepted(kind, site, node, f"status/{digest[:16]}", digest, payload, topic, data)
        validate.properties(props)
        msg_id = props.get("id", "")
        public = self._signer(where, msg_id, digest, props)
        if kind in (Part.CHUNK, Part.SNAPSHOT):
            return Accepted(kind, site, node, msg_id, digest, payload, topic, {}, ref, n)
        data = validate.json_object(payload, str(kind))
        if kind is Part.MANIFEST:
            self._check_manifest(data, where, ref, public)
        elif (data.get("site"), data.get("node")) != (site, node):
            raise _Reject(Reason.TOPIC_MISMATCH, f"{kind} names another node than its topic")
        elif kind is Part.EVENT:
            validate.event(data, msg_id)
        else:
            validate.health(data)
        return Accepted(kind, site, node, msg_id, digest, payload, topic, data, ref, n,
                        key_id=props.get(KID, ""), signature=props.get(SIG, ""))  # fmt: skip

    def _signer(
        self, where: _Where, msg_id: str, digest: str, props: Mapping[str, str]
    ) -> Ed25519PublicKey:
        """The enrolled key that signed this message for this topic, or a rejection."""
        site, node = where.site, where.node
        kid, sig = props.get(KID), props.get(SIG)
        if not msg_id or not kid or not sig:
            raise _Reject(Reason.UNSIGNED, "no id, kid or sig user property")
        owner = self.registry.by_kid(kid)
        if owner is None:
            if not self.registry.enrolled(site, node):
                raise _Reject(Reason.UNKNOWN_NODE, f"node {site}/{node} is not enrolled")
            raise _Reject(Reason.UNKNOWN_KEY, f"key {kid} is not {site}/{node}'s key")
        identity, public = owner
        if (identity.site, identity.node) != (site, node):
            raise _Reject(
                Reason.TOPIC_MISMATCH,
                f"signed by {identity.site}/{identity.node}'s key on {site}/{node}'s topic",
            )
        try:
            verify_message(SignedFields(site, node, where.relative, msg_id, digest), sig, public)
        except EvidenceError as e:
            raise _Reject(Reason.BAD_SIGNATURE, str(e)) from e
        received = time.time()  # checked as it arrives: the key valid when it was received
        if identity.valid_until is not None and not identity.valid_at(received):
            raise _Reject(
                Reason.EXPIRED_KEY,
                f"signed by key {kid} of {site}/{node}, replaced by {identity.replaced_by}"
                f" at {utc(identity.valid_until)}; received at {utc(received)}, after that",
            )
        return public

    def _check_manifest(
        self, data: dict[str, object], where: _Where, ref: str, public: Ed25519PublicKey
    ) -> None:
        """The manifest's own signature (the evidence) holds and it describes this clip."""
        if not isinstance(data.get("manifest"), dict):
            raise _Reject(Reason.MALFORMED, "the signed manifest is not an object")
        try:
            manifest = verify_manifest(data, public)
        except EvidenceError as e:
            raise _Reject(Reason.BAD_SIGNATURE, str(e)) from e
        names = (manifest.get("site"), manifest.get("node"), manifest.get("clip_id"))
        if names != (where.site, where.node, ref):
            raise _Reject(Reason.TOPIC_MISMATCH, "manifest names another node or clip")
        transfer, size = data.get("transfer"), manifest.get("size")
        if not isinstance(transfer, dict) or not isinstance(transfer.get("chunks"), int):
            raise _Reject(Reason.MALFORMED, "manifest has no transfer plan")
        validate.manifest(manifest)
        if not isinstance(size, int) or size < 0 or size > self.max_clip_bytes:
            raise _Reject(Reason.TOO_LARGE, f"clip size {size!r} over {self.max_clip_bytes}")
        if not 1 <= transfer["chunks"] <= 100_000:
            raise _Reject(Reason.MALFORMED, f"implausible chunk count {transfer['chunks']}")
