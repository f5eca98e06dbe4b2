// The fleet board: its periodic refresh, and sort and filter choices that survive it (they
// travel as query parameters to /fleet/board and stay in the page's address).
"use strict";

function edgeBoard(board, form) {
  const every = parseInt(board.dataset.refresh || "2000", 10);
  let timer = null;
  let typing = null;

  function query() {
    const params = new URLSearchParams();
    if (form) {
      for (const [name, value] of new FormData(form)) {
        if (String(value).trim() !== "") { params.set(name, String(value).trim()); }
      }
    }
    return params.toString();
  }

  async function refresh() {
    window.clearTimeout(timer);
    const q = query();
    try {
      const r = await fetch("/fleet/board" + (q ? "?" + q : ""), { credentials: "same-origin" });
      if (r.status === 401 || r.redirected) {  // wall.js says NOT LIVE, with a login link back here
        document.dispatchEvent(new CustomEvent("edge:down", { detail: { reason: "session", status: 401 } }));
        return;
      }
      document.dispatchEvent(new CustomEvent(r.ok ? "edge:live" : "edge:down", { detail: { reason: "board" } }));
      if (r.ok && q === query()) {
        board.innerHTML = await r.text();
        board.dataset.updated = String(Date.now() / 1000);
        board.dataset.query = q;
      }
    } catch (e) {
      board.dataset.error = String(e);
      document.dispatchEvent(new CustomEvent("edge:down", { detail: { reason: "board" } }));
    } finally {
      timer = window.setTimeout(refresh, every);
    }
  }

  function changed() {
    const q = query();
    window.history.replaceState(null, "", "/fleet" + (q ? "?" + q : ""));
    refresh();
  }

  if (form) {
    form.addEventListener("submit", (e) => { e.preventDefault(); changed(); });
    form.addEventListener("change", changed);
    form.addEventListener("input", (e) => {
      if (e.target && e.target.name === "q") {
        window.clearTimeout(typing);
        typing = window.setTimeout(changed, 250);
      }
    });
  }
  timer = window.setTimeout(refresh, every);
}

document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("board");
  if (board) { edgeBoard(board, document.getElementById("board-filters")); }
});
