"""``export.html``: the receiver's access export for people, one page in Bahasa Indonesia
first, then English; every time in the display zone (WIB by default). It says what the
JSON says (accesses, what is held, deletions, holds) and how to check the bundle offline."""

from __future__ import annotations

from html import escape
from typing import Any

from edge.core.displaytime import DisplayZone

ACTION_WORDS = {
    "view_detail": ("melihat detail peringatan", "viewed the alert's detail"),
    "view_incident": ("melihat halaman insiden", "viewed the incident's page"),
    "view_snapshot": ("melihat snapshot", "viewed the snapshot"),
    "play_clip": ("memutar klip", "played the clip"),
    "download_evidence": ("mengunduh bukti", "downloaded the evidence"),
}
STYLE = ("body{font-family:sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;"
         "margin:.5em 0 1.5em}td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;"
         "font-size:90%}code{font-size:90%}.en{color:#555}")  # fmt: skip


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _table(head: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<p>{_e(empty)}</p>"
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _ranges(a: dict[str, Any], lang: int) -> str:
    spans = a.get("ranges") or []
    if not spans:
        return ""
    total = sum(int(b) - int(s) for s, b in spans)
    shown = ", ".join(f"{s}-{int(b) - 1}" for s, b in spans[:4]) + (
        " ..." if len(spans) > 4 else ""
    )
    words = [f"{len(spans)} rentang, {total} byte", f"{len(spans)} ranges, {total} bytes"][lang]
    return _e(f"{words} ({shown})")


def _accesses(doc: dict[str, Any], zone: DisplayZone, lang: int) -> str:
    rows = []
    for a in doc.get("accesses") or []:
        action = "view_incident" if a.get("type") == "incident" else str(a.get("action"))
        words = ACTION_WORDS.get(action, (action, action))
        where = f"{a.get('site')}/{a.get('node')}" if a.get("node") else a.get("site")
        rows.append([_e(zone.when(a.get("time"))), _e(a.get("user")), _e(a.get("role")),
                     _e(words[lang]), _e(f"{a.get('type')} {a.get('id')}"), _e(where),
                     _ranges(a, lang), _e(a.get("audit_seq"))])  # fmt: skip
    head = [
        ["Waktu", "Pengguna", "Peran", "Tindakan", "Item", "Lokasi/node", "Rentang", "Seq"],
        ["Time", "User", "Role", "Action", "Item", "Site/node", "Ranges", "Seq"],
    ][lang]
    return _table(head, rows, ["Tidak ada akses.", "No access."][lang])


def _held(doc: dict[str, Any], zone: DisplayZone, lang: int) -> str:
    rows = []
    for h in doc.get("held") or []:
        gone = h.get("deleted")
        state = ("" if not gone else
                 [f"dihapus (retensi) {zone.when(gone.get('time'))}",
                  f"deleted (retention) {zone.when(gone.get('time'))}"][lang])  # fmt: skip
        rows.append([_e(h.get("type")), f"<code>{_e(h.get('id'))}</code>",
                     _e(f"{h.get('site')}/{h.get('node')}"), _e(h.get("camera")), _e(h.get("kind")),
                     _e(zone.when(h.get("received"))),
                     f"<code>{_e((h.get('sha256') or '')[:16])}</code>", _e(state)])  # fmt: skip
    head = [
        ["Jenis", "Id", "Lokasi/node", "Kamera", "Kejadian", "Diterima", "sha256", "Status"],
        ["Type", "Id", "Site/node", "Camera", "Kind", "Received", "sha256", "State"],
    ][lang]
    return _table(head, rows, ["Tidak ada.", "None."][lang])


def _others(doc: dict[str, Any], zone: DisplayZone, lang: int) -> str:
    dels = [[_e(zone.when(d.get("time"))), _e(f"{d.get('type')} {d.get('id')}"),
             _e(f"{d.get('site')}/{d.get('node')}"), _e(d.get("reason")), _e(d.get("audit_seq"))]
            for d in doc.get("deletions") or []]  # fmt: skip
    holds = [[_e(zone.when(h.get("time"))), _e(h.get("user")), _e(h.get("action")),
              _e(f"{h.get('site')}/{h.get('incident')}"), _e(h.get("reason")),
              _e(h.get("audit_seq"))] for h in doc.get("holds") or []]  # fmt: skip
    t = [("Penghapusan (retensi)", "Penahanan insiden", "Waktu", "Item", "Lokasi/node",
          "Alasan", "Pengguna", "Tindakan", "Insiden", "Tidak ada."),
         ("Deletions (retention)", "Incident holds", "Time", "Item", "Site/node", "Reason",
          "User", "Action", "Incident", "None.")][lang]  # fmt: skip
    return (
        f"<h3>{t[0]}</h3>"
        + _table([t[2], t[3], t[4], t[5], "Seq"], dels, t[9])
        + f"<h3>{t[1]}</h3>"
        + _table([t[2], t[6], t[7], t[8], t[5], "Seq"], holds, t[9])
    )


def _summary(doc: dict[str, Any], zone: DisplayZone, lang: int) -> str:
    p, f, c = doc.get("period") or {}, doc.get("filters") or {}, doc.get("chain") or {}
    shown = ", ".join(f"{k}={v}" for k, v in f.items() if v) or ["semua", "all"][lang]
    lines = [
        (f"Penerima <b>{_e(doc.get('receiver'))}</b>, kunci audit <code>{_e(doc.get('key_id'))}"
         f"</code>", f"Receiver <b>{_e(doc.get('receiver'))}</b>, audit key <code>"
         f"{_e(doc.get('key_id'))}</code>"),
        (f"Periode: {_e(zone.when(p.get('since')))} s.d. {_e(zone.when(p.get('until')))}",
         f"Period: {_e(zone.when(p.get('since')))} to {_e(zone.when(p.get('until')))}"),
        (f"Saringan: {_e(shown)}; dibuat {_e(zone.when(doc.get('generated')))}",
         f"Filters: {_e(shown)}; generated {_e(zone.when(doc.get('generated')))}"),
        (f"Rantai audit: catatan seq {_e(c.get('first_seq'))} s.d. {_e(c.get('last_seq'))} "
         "(chain.jsonl, diakhiri checkpoint bertanda tangan)",
         f"Audit chain: records seq {_e(c.get('first_seq'))} to {_e(c.get('last_seq'))} "
         "(chain.jsonl, ending at a signed checkpoint)"),
    ]  # fmt: skip
    return "<ul>" + "".join(f"<li>{pair[lang]}</li>" for pair in lines) + "</ul>"


CHECK = (
    ("Cara memeriksa: dengan kunci publik penerima (<code>edge receive -c receiver.toml audit "
     "key &gt; receiver.pub</code>), jalankan <code>edge receive -c receiver.toml access verify "
     "DIREKTORI --public-key receiver.pub</code>, atau tanpa konfigurasi penerima <code>edge "
     "report reconcile LAPORAN DIREKTORI --receiver-key receiver.pub</code>. Berkas yang diubah, "
     "ditambah atau dihapus, dan catatan akses yang dihapus atau diubah di chain.jsonl, akan "
     "disebutkan."),
    ("How to check: with the receiver's public key (<code>edge receive -c receiver.toml audit "
     "key &gt; receiver.pub</code>), run <code>edge receive -c receiver.toml access verify "
     "DIRECTORY --public-key receiver.pub</code>, or without a receiver config <code>edge report "
     "reconcile REPORT DIRECTORY --receiver-key receiver.pub</code>. A file changed, added or "
     "removed, and an access record removed or edited in chain.jsonl, are each named."),
)  # fmt: skip


def render(doc: dict[str, object], zone: DisplayZone) -> str:
    """The page of the export *doc*."""
    parts = []
    for lang, (title, acc, held) in enumerate((
        ("Ekspor akses polisi", "Akses ke materi yang dibagikan", "Materi yang disimpan penerima"),
        ("Police access export", "Accesses to shared material", "Material the receiver holds"),
    )):  # fmt: skip
        cls = ' class="en"' if lang else ""
        parts.append(f'<section lang="{["id", "en"][lang]}"{cls}><h1>{title}</h1>'
                     f"{_summary(doc, zone, lang)}<p>{CHECK[lang]}</p><h2>{acc}</h2>"
                     f"{_accesses(doc, zone, lang)}<h2>{held}</h2>{_held(doc, zone, lang)}"
                     f"{_others(doc, zone, lang)}</section>")  # fmt: skip
    return (f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>Ekspor akses '
            f"/ Access export</title><style>{STYLE}</style></head><body>{'<hr>'.join(parts)}"
            "</body></html>\n")  # fmt: skip
