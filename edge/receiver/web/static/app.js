// The dashboard's few behaviours: the live alert list (server-sent events, then the new
// rows fetched with the page's filters).
"use strict";
window.edgeTiming = window.edgeTiming || {};

function edgeRows(html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = html.trim();
  return Array.from(tpl.content.querySelectorAll("tr"));
}

function edgeLive(table) {
  const tbody = table.tBodies[0];
  const badge = document.getElementById("live");
  let newest = parseInt(table.dataset.newest || "0", 10);
  const query = table.dataset.query || "";
  let busy = false;
  let again = false;

  async function pull() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const url = "/alerts/rows?after_seq=" + newest + (query ? "&" + query : "");
        const r = await fetch(url, { credentials: "same-origin" });
        if (r.status === 401 || r.redirected) { window.location.href = "/login"; return; }
        if (!r.ok) { break; }
        const rows = edgeRows(await r.text());
        const now = Date.now() / 1000;
        const empty = tbody.querySelector("tr.empty");
        if (rows.length && empty) { empty.remove(); }
        for (let i = rows.length - 1; i >= 0; i--) {
          const row = rows[i];
          row.dataset.shownAt = String(now);
          row.classList.add("new");
          tbody.insertBefore(row, tbody.firstChild);
          newest = Math.max(newest, parseInt(row.dataset.seq, 10));
        }
      } while (again);
    } finally {
      busy = false;
    }
  }

  const source = new EventSource("/api/stream?after=" + newest);
  source.addEventListener("open", () => { badge.classList.remove("off"); badge.textContent = "live"; pull(); });
  source.addEventListener("alerts", (e) => { if (parseInt(e.data, 10) > newest) { pull(); } });
  source.addEventListener("error", () => { badge.classList.add("off"); badge.textContent = "reconnecting"; });
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("alerts");
  if (table) {
    window.edgeTiming.listRendered = performance.now();
    if (table.dataset.live === "on") { edgeLive(table); }
    else { document.getElementById("live").classList.add("off"); document.getElementById("live").textContent = "paused (older page)"; }
  }
});
