"""The evidence bundle's README.txt: in Bahasa Indonesia, then English, every time in the
receiver's display zone (WIB by default) with its label; then the checking steps, whose
commands are given once (they are the same in both languages) and run as printed."""

from __future__ import annotations

from typing import Any

from edge.core.displaytime import DisplayZone
from edge.receiver import keyring
from edge.receiver.web import i18n, words
from edge.receiver.web.evidence_case import Case, shown

HEAD = """Bundel bukti / Evidence bundle
Rekaman / clip {clip_id} · peristiwa / event {event_id}
Perangkat / node {site}/{node} · kamera / camera {camera}
Semua waktu dalam {label} ({zone}). All times are in {label} ({zone}).
"""

INDONESIAN = """
== Bahasa Indonesia ==

Peristiwa: {kind_id} ({kind}, {severity}, {state})
  waktu peristiwa {event_time}
  diterima        {received}
  kejadian        {incident} ({others} peristiwa lain, lihat incident/other-events.json)
Rekaman: mulai {clip_start}, {duration} detik; peristiwa pada detik ke-{offset} rekaman.
Ditandatangani oleh kunci {key_id} perangkat {site}/{node}: berlaku {key_from} s.d. {key_until_id}.
Pengakuan: {ack_id}
Catatan tindakan atas kejadian ini:
{notes_id}
Berkas
  clip.mp4                  rekaman seperti direkam perangkat (H.264 dalam MP4)
  manifest.json             manifest bertanda tangan seperti diterima
  manifest.signed.json      byte persis yang ditandatangani perangkat (JSON kanonik)
  manifest.sig              tanda tangan Ed25519 mentah 64 byte
  node-public-key.pem       kunci publik perangkat yang menandatangani rekaman ini
  key-enrolment.json        pendaftaran kunci itu (berlaku dari/sampai, oleh siapa, alasan)
  event.json                peristiwa seperti dikirim perangkat (dirapikan)
  event.received.json       peristiwa persis seperti diterima (sha256 {payload_sha256})
  event.signed-fields.json  yang dicakup tanda tangan pesan peristiwa: situs, perangkat, topik,
                            id dan sha256 isi pesan; diperiksa penerima sebelum disimpan
  event.sig                 tanda tangan Ed25519 mentah pesan peristiwa itu (langkah 5)
  snapshot.jpg              foto peristiwa (jika ada)
  incident/                 kejadian ini dan peristiwa-peristiwa lainnya
  workflow/                 pengakuan dan catatan petugas, catatan rantai audit yang
                            ditandatangani penerima untuk masing-masing, kepala rantai
                            yang ditandatangani, dan kunci publik penerima
Langkah pemeriksaan 1-5 ada di bawah; perintahnya sama untuk kedua bahasa.
"""

ENGLISH = """
== English ==

Event: {kind_en} ({kind}, {severity}, {state})
  event time      {event_time}
  received        {received}
  incident        {incident} ({others} other events, see incident/other-events.json)
Clip: starts {clip_start}, {duration} s; the event is at second {offset} of the clip.
Signed by key {key_id} of node {site}/{node}: valid {key_from} to {key_until_en}.
Acknowledgement: {ack_en}
The incident's workflow notes:
{notes_en}
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
  event.json                the event as the node sent it (pretty-printed)
  event.received.json       the event byte for byte as received (sha256 {payload_sha256})
  event.signed-fields.json  what the event message's signature covers: site, node, topic,
                            id and the sha256 of the message body; the receiver checked
                            it with the node's key before storing the event
  event.sig                 that message's raw Ed25519 signature (its MQTT "sig"
                            property); the key is node-public-key.pem, or
                            event-signer-public-key.pem when another key of the node
                            signed the event (step 5)
  snapshot.jpg              the event's snapshot (when it has one)
  incident/                 this incident and its other events
  workflow/                 the officers' acknowledgement and notes, each one's record in
                            the receiver's signed audit chain (audit-records.jsonl: the
                            record's "hash" is the sha256 of its other fields as canonical
                            JSON), the chain's signed head and the receiver's public keys
"""

STEPS = """
== Langkah / Steps ==

1. Rekaman adalah berkas yang dijelaskan manifest / The clip is the file the manifest
   describes (expected sha256 {sha256}, {size} bytes):

     sha256sum clip.mp4
     openssl dgst -sha256 clip.mp4

2. Kuncinya yang disebut manifest dan pendaftarannya / The key is the one the
   manifest and the enrolment name (key id {key_id}: the first 16 hex digits of the
   sha256 of the raw 32-byte public key):

     openssl pkey -pubin -in node-public-key.pem -outform DER | tail -c 32 \\
         | openssl dgst -sha256 -r | cut -c1-16

3. Perangkat menandatangani manifest / The node signed the manifest (OpenSSL 3):

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
{event_step}
The manifest's event_ids name the events the clip belongs to; mask_hash ({mask_hash}) is the
hash of the privacy mask the camera applied before anything was recorded. / event_ids di
manifest menyebut peristiwa milik rekaman ini; mask_hash adalah hash masker privasi kamera.
"""

EVENT_STEP = """
5. Perangkat menandatangani peristiwa ini / The node signed this event: its signature
   covers event.signed-fields.json, whose "sha256" is that of event.received.json
   ({payload_sha256}):

     sha256sum event.received.json
     openssl pkeyutl -verify -pubin -inkey {event_key_file} -rawin \\
         -in event.signed-fields.json -sigfile event.sig
     -> "Signature Verified Successfully"
"""

NO_EVENT_SIGNATURE = """
5. Tanda tangan pesan peristiwa ini diperiksa penerima saat diterima tetapi tidak disimpan
   (disimpan sebelum penerima menyimpannya). / The receiver checked this event's message
   signature on receipt but did not keep it (stored before the receiver kept them).
"""

_NONE = {"id": "belum diakui", "en": "not acknowledged"}
_NO_NOTES = {"id": "  (belum ada)", "en": "  (none yet)"}
_ACK = {"id": "oleh {who}, {when}", "en": "by {who}, {when}"}


def _in(lang: str, kind: str) -> str:
    with i18n.use(lang):
        return words.kindname(kind)


def _notes(lang: str, notes: list[dict[str, object]]) -> str:
    if not notes:
        return _NO_NOTES[lang]
    return "\n".join(
        f"  {n.get('time_shown', '')}  {n['username']}  {n['action']}"
        + (f": {n['text']}" if n.get("text") else "")
        for n in notes
    )


def _ack(lang: str, ack: dict[str, object] | None) -> str:
    if not ack:
        return _NONE[lang]
    line = _ACK[lang].format(who=ack["username"], when=ack.get("time_shown", ""))
    return line + (f": {ack['note']}" if ack.get("note") else "")


def readme(
    *,
    event: dict[str, Any],
    manifest: dict[str, object],
    timing: dict[str, object] | None,
    key: keyring.Identity,
    case: Case,
    zone: DisplayZone,
) -> str:
    """The README of the bundle of *event* (its clip's *manifest* signed by *key*)."""
    f = case.facts
    values = {
        "clip_id": manifest.get("clip_id"), "camera": manifest.get("camera"),
        "sha256": manifest.get("sha256"), "size": manifest.get("size"),
        "mask_hash": manifest.get("mask_hash"), "site": event["site"], "node": event["node"],
        "event_id": event["id"], "kind": event["kind"], "severity": event["severity"],
        "state": event["state"], "label": zone.label, "zone": zone.name,
        "kind_id": _in("id", event["kind"]), "kind_en": _in("en", event["kind"]),
        "event_time": shown(zone, event["payload"].get("time")),
        "received": shown(zone, event["received"]), "incident": case.incident,
        "others": len(f["others"]), "payload_sha256": f["payload_sha256"],
        "clip_start": shown(zone, manifest.get("start")),
        "duration": "?" if not timing or timing["duration"] is None else timing["duration"],
        "offset": "?" if not timing else timing["offset"], "key_id": key.key_id,
        "key_from": shown(zone, key.valid_from),
        "key_until_id": shown(zone, key.valid_until) if key.valid_until else "sekarang",
        "key_until_en": shown(zone, key.valid_until) if key.valid_until else "now",
        "ack_id": _ack("id", f["ack"]), "ack_en": _ack("en", f["ack"]),
        "notes_id": _notes("id", f["notes"]), "notes_en": _notes("en", f["notes"]),
    }  # fmt: skip
    step = EVENT_STEP if f.get("event_key_file") else NO_EVENT_SIGNATURE
    values["event_step"] = step.format(**values, event_key_file=f.get("event_key_file"))
    return "".join(part.format(**values) for part in (HEAD, INDONESIAN, ENGLISH, STEPS))
