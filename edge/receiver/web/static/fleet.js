// The fleet board's periodic refresh.
"use strict";

function edgeBoard(board) {
  const every = parseInt(board.dataset.refresh || "2000", 10);
  async function refresh() {
    try {
      const r = await fetch("/fleet/board", { credentials: "same-origin" });
      if (r.status === 401 || r.redirected) { window.location.href = "/login"; return; }
      if (r.ok) {
        board.innerHTML = await r.text();
        board.dataset.updated = String(Date.now() / 1000);
      }
    } finally {
      window.setTimeout(refresh, every);
    }
  }
  window.setTimeout(refresh, every);
}

document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("board");
  if (board) { edgeBoard(board); }
});
