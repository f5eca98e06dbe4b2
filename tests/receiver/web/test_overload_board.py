"""An overloaded node on the fleet board, as an officer reads it: its overload reasons in
the officer's language (Bahasa Indonesia first), each camera's recent drop share and, for
a camera that falls behind, its analysed fps against the configured (both in the warning
colour); other reasons as the node sent them. On both engines."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from dash import Fleet, add_user, client_for, csrf_of, login, web_config

from edge.bench.fleet import SimNode
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.overload import camera_load, reason_rows

WEB = Path(__file__).resolve().parents[3] / "edge" / "receiver" / "web"
REASONS = [
    "overloaded: 20% of frames dropped on 32 cameras",
    "overloaded: analysis 14 s behind on 1 camera",
    "camera_fault:dock",
]
CAMERAS = {
    "hall": {"frames": 900, "dropped": 240, "dropped_share": 0.2013, "fps": 4.0,
             "fps_configured": 5.0, "window_s": 60.0},
    "yard": {"frames": 1500, "dropped": 0, "dropped_share": 0.0, "fps": 5.0,
             "fps_configured": 5.0, "window_s": 60.0},
    "old": {"frames": 10, "dropped": 1},  # a node from before: no recent figures
}  # fmt: skip


def _why(page: str, node: str) -> tuple[str, str]:
    """(cameras cell, why cell) of *node*'s row, as text."""
    row = re.search(rf'data-node="{node}".*?</tr>', page, re.S)
    assert row, page[:500]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row[0], re.S)
    text = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in cells]
    return " ".join(text[4].split()), " ".join(text[-1].split())


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_board_says_an_overload_in_the_officers_language(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    """In Bahasa Indonesia: ``kelebihan beban: 20% frame terbuang di 32 kamera`` and the
    lag reason; ``hall: 900 / 240 (20,1%) · 4 dari 5 fps`` (slow, marked), ``yard`` and a
    camera without recent figures as before; ``camera_fault:dock`` as sent. In English the
    same in English."""
    url = (
        f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}"
        if engine == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = ReceiverStore(url, tmp_path / "rx")
    try:
        fleet = Fleet(store, node=SimNode("kudus", "gudang-01"))
        beat = fleet.node.heartbeat(status="degraded", reasons=REASONS, cameras=CAMERAS)
        fleet.commit([beat])
        add_user(store, "budi", "officer")
        with client_for(web_config(tmp_path / "rx"), store) as c:
            assert login(c, "budi").status_code == 303
            page = c.get("/fleet").text
            cams, why = _why(page, "gudang-01")
            assert why == (  # the alert camera_fault raised (Node degraded), then the reasons
                "Perangkat terganggu, kelebihan beban: 20% frame terbuang di 32 kamera, "
                "kelebihan beban: analisis tertinggal 14 detik di 1 kamera, camera_fault:dock"
            )
            assert "hall: 900 / 240 (20,1%) · 4 dari 5 fps" in cams
            assert cams.endswith("old: 10 / 1 yard: 1500 / 0")  # sorted; as before
            assert re.search(r'class="cam slow" data-share="20.1"', page)
            css = (WEB / "static" / "fleet.css").read_text()
            assert ".board .cam.slow, .board .overload { color: var(--warn); }" in css
            c.post("/lang", data={"lang": "en", "csrf": csrf_of(page), "next": "/fleet"})
            cams, why = _why(c.get("/fleet").text, "gudang-01")
            assert why == "Node degraded, " + ", ".join(REASONS)
            assert "hall: 900 / 240 (20.1%) · 4 of 5 fps" in cams
    finally:
        store.close()


def test_odd_figures_are_left_out_not_fatal() -> None:
    """A camera entry with figures of the wrong type shows none of them; a reason that only
    looks like an overload is shown as sent."""
    assert camera_load({"dropped_share": "x", "fps": True, "fps_configured": None}) == {
        "share": None, "fps": None, "fps_configured": None, "window_s": None, "slow": False,
    }  # fmt: skip
    rows = reason_rows(["overloaded: lots", "overloaded: 5% of frames dropped on 2 cameras"])
    assert [r["kind"] for r in rows] == [None, "drops"]
    assert rows[1]["value"] == 5.0 and rows[1]["cameras"] == 2
