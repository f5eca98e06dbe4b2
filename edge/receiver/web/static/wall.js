// Wall-monitor mode: a console left open all night never dies silently.
//
// - Keeps the session alive: while the page is open and its stream live (a page without a
//   stream: while it is visible) it renews the session (POST /api/session/renew, the CSRF
//   token in X-CSRF-Token) every `renew_s` the receiver gives (GET /api/session).
// - #notlive ("NOT LIVE", loud, with a title prefix) whenever the stream has been down for
//   more than DOWN_GRACE_MS, or the session is gone (then with a login link that returns
//   here); hidden again when the stream is live.
// - #session-warning `warn_s` before the session's end, with "stay logged in" (a renewal),
//   or, at the absolute cap, a login link.
// Listens to the `edge:live` / `edge:down` document events (static/app.js, static/fleet.js;
// detail.reason "session" means a 401), `edge:session` (detail: a stream `session` event),
// any /api/stream the page opens (its `session` events), and checks /api/session itself
// (every 30 s, and at once when the page goes down or comes back).
// Every word shown comes from the page (templates/_wall.html, through the catalogs).
//
// Test hooks: window.edgeWall = {
//   state: "live" | "down" | "gone",  the stream and session as this page sees them
//   hasStream: bool,                   the page has a live channel (the console's stream,
//                                      the fleet board's refresh); without one it renews
//                                      while visible and is never "down"
//   renewals: n,                       renewals the receiver accepted from this page
//   failures: n,                       renewals or checks that got no answer
//   checks: n,                         GET /api/session answered
//   warned: bool,                      #session-warning is showing
//   expires: UNIX s | null,            the session's end as last heard
//   leftS(): seconds,                  time left, on the receiver's clock
//   renew(): Promise<bool>,            renew now (what "stay logged in" does)
//   check(): Promise<void>,            ask /api/session now
// }
"use strict";

(function () {
  const DOWN_GRACE_MS = 3000;
  const TICK_MS = 500;
  const CHECK_MS = 30000;
  const RETRY_MS = 15000;

  const wall = {
    state: "live", renewals: 0, failures: 0, checks: 0, warned: false, expires: null,
    maxExpires: null, renewS: 300, warnS: 300, skewMs: 0, downSince: null, hasStream: false,
    lastRenew: 0, nextCheck: 0, busy: false, csrf: "", endChecked: false,
  };
  window.edgeWall = wall;

  function els() {
    const banner = document.getElementById("notlive");
    const warning = document.getElementById("session-warning");
    return { banner: banner, warning: warning };
  }

  function now() { return Date.now() + wall.skewMs; }
  wall.leftS = () => (wall.expires === null ? Infinity : (wall.expires * 1000 - now()) / 1000);

  function learn(info) {
    if (info.expires !== wall.expires) { wall.endChecked = false; }
    wall.expires = info.expires;
    wall.maxExpires = info.max_expires === undefined ? wall.maxExpires : info.max_expires;
    if (info.renew_s) { wall.renewS = info.renew_s; }
    if (info.warn_s) { wall.warnS = info.warn_s; }
    if (info.now) { wall.skewMs = info.now * 1000 - Date.now(); }
    if (info.csrf) { wall.csrf = info.csrf; }
  }

  function gone() {
    if (wall.state !== "gone") { wall.state = "gone"; wall.goneAt = Date.now(); }
    render();
  }

  function live() {
    wall.state = "live";
    wall.downSince = null;
    render();
  }

  function down() {
    if (wall.state === "gone") { return; }
    if (wall.state !== "down") { wall.state = "down"; wall.downSince = Date.now(); }
    wall.nextCheck = Math.min(wall.nextCheck, Date.now() + 1000);  // down because logged out?
  }

  async function call(method, url) {
    const csrf = wall.csrf || (els().warning || { dataset: {} }).dataset.csrf || "";
    const r = await fetch(url, {
      method: method, credentials: "same-origin", cache: "no-store",
      headers: method === "POST" ? { "X-CSRF-Token": csrf } : {},
    });
    if (r.status === 401) { gone(); return null; }
    if (r.status === 403) { wall.nextCheck = 0; throw new Error("stale token"); }  // a new login elsewhere
    if (!r.ok) { throw new Error("HTTP " + r.status); }
    return r.json();
  }

  wall.check = async function () {
    wall.nextCheck = Date.now() + CHECK_MS;
    try {
      const info = await call("GET", "/api/session");
      if (info) {
        wall.checks += 1;
        learn(info);
        if (wall.state === "gone") { wall.state = wall.hasStream ? "down" : "live"; wall.downSince = Date.now(); }
      }
    } catch (e) {
      wall.failures += 1;
      wall.nextCheck = Date.now() + RETRY_MS;
    }
    render();
  };

  wall.renew = async function () {
    if (wall.busy) { return false; }
    wall.busy = true;
    wall.lastRenew = Date.now();
    try {
      const info = await call("POST", "/api/session/renew");
      if (!info) { return false; }
      wall.renewals += 1;
      learn(info);
      return true;
    } catch (e) {
      wall.failures += 1;
      wall.lastRenew = Date.now() - wall.renewS * 1000 + RETRY_MS;  // try again soon
      return false;
    } finally {
      wall.busy = false;
      render();
    }
  };

  function loginHref() {
    return "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  function countdown(s) {
    s = Math.max(0, Math.floor(s));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function render() {
    const { banner, warning } = els();
    const isGone = wall.state === "gone";
    const notLive = isGone || (wall.state === "down" && Date.now() - wall.downSince > DOWN_GRACE_MS);
    if (banner) {
      banner.hidden = !notLive;
      banner.classList.toggle("gone", isGone);
      for (const el of banner.querySelectorAll(".why.down")) { el.hidden = isGone; }
      for (const el of banner.querySelectorAll(".why.gone, .wall-login")) { el.hidden = !isGone; }
      for (const a of banner.querySelectorAll("a.wall-login")) { a.href = loginHref(); }
      const prefix = (banner.dataset.title || "") + " · ";
      let title = document.title;
      while (banner.dataset.title && title.startsWith(prefix)) { title = title.slice(prefix.length); }
      document.title = (notLive && banner.dataset.title ? prefix : "") + title;
    }
    const left = wall.leftS();
    wall.warned = !isGone && left <= wall.warnS;
    if (warning) {
      warning.hidden = !wall.warned;
      const capped = wall.maxExpires !== null && wall.expires >= wall.maxExpires - 1;
      for (const el of warning.querySelectorAll(".left")) { el.textContent = countdown(left); }
      for (const el of warning.querySelectorAll(".renew")) { el.hidden = capped; }
      for (const el of warning.querySelectorAll(".capped")) { el.hidden = !capped; }
      for (const a of warning.querySelectorAll("a.wall-login")) { a.href = loginHref(); }
    }
  }

  function tick() {
    const t = Date.now();
    if (wall.state !== "gone") {
      const open = wall.hasStream ? wall.state === "live" : document.visibilityState === "visible";
      if (open && t - wall.lastRenew >= wall.renewS * 1000) { wall.renew(); }
      if (wall.expires !== null && wall.leftS() <= 0 && !wall.endChecked) {  // once per end
        wall.endChecked = true;
        wall.nextCheck = t;
      }
    }
    if (t >= wall.nextCheck) { wall.check(); }
    render();
  }

  function onSession(data) {
    if (data.state === "gone") { gone(); return; }
    if (typeof data.expires === "number" && data.expires !== wall.expires) {
      wall.expires = data.expires;
      wall.endChecked = false;
    }
    if (typeof data.left_s === "number") { wall.skewMs = data.expires * 1000 - data.left_s * 1000 - Date.now(); }
    render();
  }

  // Hear the session events of whatever stream the page opens (app.js owns the stream).
  if (window.EventSource && !window.EventSource.edgeWatched) {
    const Native = window.EventSource;
    class Watched extends Native {
      constructor(url, init) {
        super(url, init);
        if (String(url).indexOf("/api/stream") >= 0) {
          wall.hasStream = true;
          this.addEventListener("session", (e) => { try { onSession(JSON.parse(e.data)); } catch (err) { /* not ours */ } });
          this.addEventListener("open", live);
          this.addEventListener("error", down);
        }
      }
    }
    Watched.edgeWatched = true;
    window.EventSource = Watched;
  }

  document.addEventListener("edge:live", () => {
    wall.hasStream = true;
    const was = wall.state;
    live();
    if (was !== "live") { wall.check(); }  // back: is the session still the one we had?
  });
  document.addEventListener("edge:down", (e) => {
    wall.hasStream = true;
    down();
    if (e.detail && e.detail.reason === "session") { wall.check(); }
  });
  document.addEventListener("edge:session", (e) => onSession(e.detail || {}));

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("console");
    if (root && root.dataset.live === "on" && wall.state === "live" && !wall.downSince) {
      wall.hasStream = true;  // until the stream opens, it is down (NOT LIVE after the grace)
      wall.state = "down";
      wall.downSince = Date.now();
    }
    const { warning } = els();
    if (warning) {
      for (const b of warning.querySelectorAll("button.renew")) { b.addEventListener("click", () => wall.renew()); }
    }
    wall.check();
    setInterval(tick, TICK_MS);
  });
})();
