"""The sharing report for people: one HTML page, every heading and column in Bahasa
Indonesia first and English after it, every time in WIB. It is made from ``report.json``'s
content alone (nothing else is shown), and needs no network: the overlays are beside it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from edge.core.displaytime import DisplayZone
from edge.core.jsonshape import as_float
from edge.report.shapes import ReportCamera, ReportItem, ScopeChange, SharingReport

WIB = DisplayZone()

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
h1,h2{border-bottom:1px solid #ccc;padding-bottom:.2rem}
.en{color:#666;font-weight:normal;font-style:italic}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
code{font-size:.85em;word-break:break-all}
figure{display:inline-block;margin:.5rem}
img{max-width:32rem;border:1px solid #999}
"""


def _bi(id_text: str, en_text: str) -> str:
    """Bahasa Indonesia, then English."""
    return f'{escape(id_text)} <span class="en" lang="en">/ {escape(en_text)}</span>'


def _table(head: Sequence[tuple[str, str]], rows: Iterable[Sequence[object]]) -> str:
    cells = "".join(f"<th>{_bi(i, e)}</th>" for i, e in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _none(id_text: str, en_text: str) -> str:
    return f"<p>{_bi(id_text, en_text)}</p>"


def _v(value: object) -> str:
    """A value as shown: None as a dash, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return escape(", ".join(str(v) for v in value)) or "—"
    return escape(str(value))


def _header(r: SharingReport) -> str:
    period = r["period"]
    dest = r["destination"] or "semua tujuan / every destination"
    rows = [
        (_bi("Lokasi", "Site"), _v(r["site"])),
        (_bi("Node", "Node"), _v(r["node"])),
        (_bi("Periode", "Period"),
         f"{WIB.when(period['since'])} &ndash; {WIB.when(period['until'])}"),
        (_bi("Tujuan", "Destination"), _v(dest)),
        (_bi("Dibuat", "Generated"), WIB.when(r["generated"])),
        (_bi("Kunci penanda tangan", "Signing key"), f"<code>{_v(r['key_id'])}</code>"),
    ]  # fmt: skip
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _counts(r: SharingReport) -> str:
    rows = [
        (_v(dest), _v(cam), _v(kind), str(n))
        for dest, cams in sorted(r["counts"].items())
        for cam, kinds in sorted(cams.items())
        for kind, n in sorted(kinds.items())
    ]
    if not rows:
        return _none("Tidak ada kejadian yang dikirim dalam periode ini.",
                     "No event was delivered in this period.")  # fmt: skip
    head = [("Tujuan", "Destination"), ("Kamera", "Camera"), ("Jenis", "Kind"),
            ("Jumlah", "Count")]  # fmt: skip
    return _table(head, rows)


def _files(r: SharingReport) -> str:
    shown = [i for i in r["delivered"] if i["type"] != "event"]
    if not shown:
        return _none("Tidak ada klip atau snapshot yang dikirim dalam periode ini.",
                     "No clip or snapshot was delivered in this period.")  # fmt: skip
    rows = [
        (_v(i["type"]), f"<code>{_v(i['id'])}</code>", _v(i["camera"]), _v(i["kind"]),
         WIB.when(i["time"]), _v(i["destination"]), f"<code>{_v(i['sha256'])}</code>",
         str(i["audit_seq"]))
        for i in shown
    ]  # fmt: skip
    head = [("Jenis", "Type"), ("ID", "ID"), ("Kamera", "Camera"), ("Kejadian", "Event kind"),
            ("Waktu kirim", "Delivered"), ("Tujuan", "Destination"), ("SHA-256", "SHA-256"),
            ("Catatan audit", "Audit record")]  # fmt: skip
    return _table(head, rows)


def _source(item: ReportItem) -> str:
    """An event's camera, or its sensor's name."""
    if item["camera"] is None and item.get("sensor"):
        return f"{_bi('sensor', 'sensor')} {escape(str(item['sensor']))}"
    return _v(item["camera"])


def _events(r: SharingReport) -> str:
    shown = [i for i in r["delivered"] if i["type"] == "event"]
    if not shown:
        return ""
    rows = [
        (f"<code>{_v(i['id'])}</code>", _source(i), _v(i["kind"]), WIB.when(i["time"]),
         _v(i["destination"]), f"<code>{_v(i['sha256'])}</code>", str(i["audit_seq"]))
        for i in shown
    ]  # fmt: skip
    head = [("ID", "ID"), ("Kamera", "Camera"), ("Jenis", "Kind"), ("Waktu kirim", "Delivered"),
            ("Tujuan", "Destination"), ("SHA-256", "SHA-256"),
            ("Catatan audit", "Audit record")]  # fmt: skip
    return _table(head, rows)


def _scope(r: SharingReport) -> str:
    rows = [(_v(d), _v(s["cameras"]), _v(s["kinds"])) for d, s in sorted(r["scope"].items())]
    if not rows:
        return _none("Tidak ada tujuan.", "No destination.")
    return _table([("Tujuan", "Destination"), ("Kamera", "Cameras"), ("Jenis", "Kinds")], rows)


def _cameras(r: SharingReport) -> str:
    out = []
    for name, cam in sorted(r["cameras"].items()):
        if cam["private"]:
            state = _bi("PRIBADI: tidak pernah dibuka, tidak berbagi apa pun",
                        "PRIVATE: never opened, shares nothing")  # fmt: skip
        else:
            masks = ", ".join(str(m["name"]) for m in cam["masks"])
            state = _bi("Area tersembunyi: ", "Hidden areas: ") + (escape(masks) or "—")
        img = ""
        drawn = cam.get("overlay")
        if drawn:
            img = f'<img src="{escape(drawn)}" alt="{escape(name)}">'
        out.append(
            f"<figure><figcaption><b>{escape(name)}</b><br>{state}<br>"
            f"{_bi('Hash masker', 'Mask hash')}: <code>{_v(cam['masks_sha256'])}</code>"
            f"{_earlier(cam)}"
            f"</figcaption>{img}</figure>"
        )
    return "".join(out) or _none("Tidak ada kamera.", "No camera.")


def _earlier(cam: ReportCamera) -> str:
    """The other mask hashes the camera had in the period, if any."""
    others = [h for h in cam.get("masks_in_period") or [] if h != cam["masks_sha256"]]
    if not others:
        return ""
    said = _bi("Juga berlaku dalam periode", "Also in force in the period")
    return f"<br>{said}: " + ", ".join(f"<code>{escape(h)}</code>" for h in others)


def _change(c: ScopeChange) -> str:
    old, new = c.get("old") or {}, c.get("new") or {}
    parts = [
        f"{escape(k)}: {_v(old.get(k))} → {_v(new.get(k))}"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]
    if not c.get("old"):
        parts.insert(0, _bi("ditambahkan", "added"))
    if not c.get("new"):
        parts.insert(0, _bi("dihapus", "removed"))
    return "<br>".join(parts)


def _history(r: SharingReport) -> str:
    if not r["scope_history"]:
        return _none("Tidak ada perubahan konfigurasi dalam periode ini.",
                     "No configuration change in this period.")  # fmt: skip
    rows = [
        (WIB.when(c["time"]), _v(c.get("camera") or c.get("destination")),
         _bi("kamera", "camera") if "camera" in c else _bi("tujuan", "destination"),
         _change(c), str(c["audit_seq"]))
        for c in r["scope_history"]
    ]  # fmt: skip
    head = [("Waktu", "Time"), ("Nama", "Name"), ("Apa", "What"), ("Perubahan", "Change"),
            ("Catatan audit", "Audit record")]  # fmt: skip
    return _table(head, rows)


def _retention(r: SharingReport) -> str:
    ret = r["retention"]
    rows = [
        (_bi("Kuota klip dan snapshot", "Clip and snapshot quota"),
         f"{ret['max_bytes'] / 1024**3:.2f} GiB"),
        (_bi("Umur maksimum setelah terkirim", "Maximum age once delivered"),
         f"{ret['max_age_days']:g} hari / days"),
        (_bi("Ruang kosong yang dijaga", "Free space kept"),
         f"{ret['keep_free_bytes'] / 1024**2:.0f} MiB"),
    ]  # fmt: skip
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


_NOTICE = {
    "key_init": ("kunci penanda tangan dibuat", "signing key made"),
    "key_change": ("kunci penanda tangan diganti", "signing key changed"),
    "chain_break": ("log audit ditemukan terpotong atau hilang",
                    "audit log found cut or missing"),
    "log_set_aside": ("log audit rusak disisihkan; catatan sebelumnya ada di berkas itu, "
                      "tidak dalam laporan ini",
                      "damaged audit log set aside; the records before are in that file, "
                      "not in this report"),
    "torn_tail": ("baris terakhir yang terpotong dipindahkan", "torn last line moved aside"),
}  # fmt: skip


def _notices(notices: list[dict[str, object]]) -> str:
    """What happened to the chain itself in the period."""
    if not notices:
        return ""
    rows = []
    for n in notices:
        id_text, en_text = _NOTICE.get(str(n["action"]), (str(n["action"]), str(n["action"])))
        detail = n.get("kept_as") or n.get("new_key_id") or n.get("key_id")
        rows.append(
            (
                WIB.when(as_float(n["time"], "notice time")),
                _bi(id_text, en_text),
                _v(detail),
                str(n["audit_seq"]),
            )
        )
    head = [("Waktu", "Time"), ("Peristiwa rantai", "Chain event"), ("Rincian", "Detail"),
            ("Catatan audit", "Audit record")]  # fmt: skip
    return _table(head, rows)


def _chain(r: SharingReport) -> str:
    c = r["chain"]
    if c["first_seq"] is None:
        return _none("Tidak ada catatan audit dalam periode ini.",
                     "No audit record in this period.")  # fmt: skip
    signed = c.get("signed_to_seq")
    return _notices(c.get("notices") or []) + (
        f"<p>{_bi('Catatan audit', 'Audit records')} {c['first_seq']}&ndash;{c['last_seq']} "
        f"({escape(c['records'])}); "
        f"{_bi('ditandatangani hingga catatan', 'signed up to record')} {_v(signed)}.</p>"
        "<p>" + _bi("Periksa laporan ini:", "Check this report:") + "</p>"
        "<pre>edge report verify DIR --public-key node-public-key.pem "
        "[--audit-log audit.log]</pre>"
    )


def render_page(r: SharingReport) -> str:
    """The whole page for the report content *r*."""
    sections = [
        ("Ringkasan", "Summary", _header(r)),
        ("Kejadian terkirim per tujuan, kamera dan jenis",
         "Events delivered per destination, camera and kind", _counts(r)),
        ("Klip dan snapshot terkirim", "Clips and snapshots delivered", _files(r)),
        ("Cakupan berbagi pada akhir periode", "Sharing scope at the end of the period",
         _scope(r)),
        ("Kamera dan area tersembunyi", "Cameras and hidden areas", _cameras(r)),
        ("Perubahan konfigurasi", "Configuration changes", _history(r)),
        ("Retensi di node", "Retention on the node", _retention(r)),
        ("Rantai audit", "Audit chain", _chain(r)),
        ("Kejadian terkirim", "Events delivered", _events(r)),
    ]  # fmt: skip
    body = "".join(f"<h2>{_bi(i, e)}</h2>{html}" for i, e, html in sections if html)
    title = _bi("Laporan berbagi data", "Sharing report")
    return (
        '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">'
        f"<title>Laporan berbagi data / Sharing report: {escape(str(r['site']))}/"
        f"{escape(str(r['node']))}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>\n"
    )
