// The alarm console's behaviours: the live list (server-sent events, then every incident
// that changed fetched page by page with the page's filters), the alarm sound (WebAudio,
// repeating until acknowledged), browser notifications, the unacknowledged count in the
// title and the banner, bulk acknowledgement, and the theme toggle (every page).
// Words shown come from the page (#strings, rendered through the catalogs).
"use strict";
window.edgeTiming = window.edgeTiming || {};
window.edgeConsole = window.edgeConsole || { sounds: [], notifications: [], pulls: 0 };

const EDGE_LEVELS = { info: 0, warning: 1, alarm: 2, critical: 3 };
const EDGE_FOLLOW_PX = 150;   // scrolled further down than this: count new ones, do not insert
const EDGE_KEEP = 5000;       // incidents kept in the page (older ones: the "older" link)
const EDGE_NOTIFY_EACH = 3;   // notifications per pull, then one that sums up the rest
const EDGE_PAGE = 200;        // incidents per live page

function edgeSay(strings, name, values) {
  let text = strings[name] || name;
  for (const [k, v] of Object.entries(values || {})) { text = text.split("{" + k + "}").join(String(v)); }
  return text;
}

function edgeEmit(name, detail) {
  document.dispatchEvent(new CustomEvent(name, { detail: detail || {} }));
}

// --- theme: light, dark or the system's; remembered per browser (a cookie the server reads)
function edgeTheme() {
  const button = document.getElementById("theme-toggle");
  if (!button) { return; }
  button.addEventListener("click", () => {
    const root = document.documentElement;
    const dark = root.dataset.theme ? root.dataset.theme === "dark"
      : window.matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    root.dataset.theme = next;
    document.cookie = "edge_theme=" + next + "; path=/; max-age=31536000; samesite=strict";
    try { localStorage.setItem("edgeTheme", next); } catch (e) { /* private mode */ }
  });
}

// --- sound: tones made here (no audio files); alarm and critical distinct
class EdgeSiren {
  constructor() {
    this.ctx = null;
    this.level = null;
    this.timer = null;
  }

  enabled() { return localStorage.getItem("edgeSound") === "on"; }
  muted() { return localStorage.getItem("edgeMuted") === "1"; }

  // Called by the one click (and at load when it was given before: the context may stay
  // suspended until the next click or key, which then resumes it).
  open() {
    if (!this.ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      this.ctx = new Ctx();
    }
    if (this.ctx.state === "suspended") { this.ctx.resume().catch(() => {}); }
  }

  tone(at, freq, until, type, sweep) {
    const osc = this.ctx.createOscillator();
    const gain = this.ctx.createGain();
    osc.type = type;
    osc.frequency.setValueAtTime(freq, at);
    if (sweep) { osc.frequency.linearRampToValueAtTime(sweep, until); }
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
    gain.gain.setValueAtTime(0.3, until - 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, until);
    osc.connect(gain).connect(this.ctx.destination);
    osc.start(at);
    osc.stop(until + 0.01);
  }

  // One round: alarm = two tones down (880, 660 Hz); critical = three rising sweeps.
  round() {
    if (!this.ctx || this.muted()) { return; }
    const t = this.ctx.currentTime + 0.02;
    if (this.level === "critical") {
      for (let i = 0; i < 3; i++) { this.tone(t + i * 0.3, 700, t + i * 0.3 + 0.25, "sawtooth", 1400); }
    } else {
      this.tone(t, 880, t + 0.25, "square");
      this.tone(t + 0.3, 660, t + 0.55, "square");
    }
  }

  // Start (or raise) the repeating sound; true when a sound started.
  start(level) {
    if (!this.enabled() || this.muted()) { return false; }
    this.open();
    if (!this.ctx) { return false; }
    if (!this.level || EDGE_LEVELS[level] > EDGE_LEVELS[this.level]) { this.level = level; }
    clearInterval(this.timer);
    this.round();
    this.timer = setInterval(() => this.round(), this.level === "critical" ? 1200 : 2000);
    window.edgeConsole.sounds.push({ level: level, at: Date.now(), audible: this.ctx.state === "running" });
    return true;
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.level = null;
  }

  ringing() { return this.timer !== null; }
}

// --- the console
class EdgeConsole {
  constructor(root) {
    this.root = root;
    this.table = document.getElementById("alerts");
    this.strings = JSON.parse((document.getElementById("strings") || {}).textContent || "{}");
    this.newest = parseInt(root.dataset.newest || "0", 10);
    this.query = root.dataset.query || "";
    this.live = root.dataset.live === "on";
    this.baseTitle = root.dataset.title || document.title;
    this.badge = document.getElementById("live");
    this.newCount = document.getElementById("new-count");
    this.banner = document.getElementById("unacked-banner");
    this.siren = new EdgeSiren();
    this.ringing = new Set();   // incidents that sounded here and are not acknowledged
    this.busy = false;
    this.again = false;
    this.pending = 0;
    this.alarmSeq = parseInt(root.dataset.alarmSeq || "0", 10);  // alarms after it are asked for (any filter)
    this.announced = new Map();    // incident -> last_seq announced (each alarm once)
    this.byKey = new Map();
    for (const tb of this.table.querySelectorAll("tbody.incident")) { this.byKey.set(tb.dataset.key, tb); }
    this.unacked(parseInt(root.dataset.unacked || "0", 10), 0);
  }

  url(path, extra) {
    const q = [extra, this.query].filter((s) => s).join("&");
    return path + (q ? "?" + q : "");
  }

  // Fetch; a lost session or a failed answer is "down" (the wall mode shows NOT LIVE).
  async get(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { accept: "text/html, application/json" } });
    if (r.status === 401 || r.redirected || (r.url && r.url.indexOf("/login") !== -1)) {
      edgeEmit("edge:down", { reason: "session", status: r.status });
      return null;
    }
    if (!r.ok) { edgeEmit("edge:down", { reason: "http", status: r.status }); return null; }
    return r;
  }

  following() { return window.scrollY <= EDGE_FOLLOW_PX; }

  // Everything after the newest seen, page by page, until the answer says nothing remains.
  async pull() {
    if (this.busy) { this.again = true; return; }
    if (!this.following()) { await this.count(); return; }
    this.busy = true;
    const heard = [];
    try {
      do {
        this.again = false;
        let more = true;
        while (more) {
          window.edgeConsole.pulls += 1;
          const r = await this.get(this.url("/alerts/rows", "limit=" + EDGE_PAGE + "&after_seq=" + this.newest));
          if (!r) { return; }
          more = r.headers.get("x-edge-more") === "1";
          const top = parseInt(r.headers.get("x-edge-newest") || "0", 10);
          this.insert(await r.text(), heard);
          if (top > this.newest) { this.newest = top; }
          else { more = false; }
        }
      } while (this.again);
      this.pending = 0;
      this.showPending();
    } catch (e) {
      edgeEmit("edge:down", { reason: "fetch", error: String(e) });
    } finally {
      this.busy = false;
      this.announce(heard);
      this.state();
    }
  }

  // Not following (scrolled down): say how many changed, and load them on one click.
  async count() {
    const s = await this.state("after_seq=" + this.newest);
    if (!s) { return; }
    this.pending = s.pending || 0;
    this.showPending();
  }

  showPending() {
    if (!this.newCount) { return; }
    this.newCount.hidden = this.pending <= 0;
    this.newCount.textContent = edgeSay(this.strings, "new_count", { n: this.pending });
  }

  async showAll() {
    window.scrollTo(0, 0);
    this.pending = 0;
    await this.pull();
  }

  insert(html, heard) {
    const tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    const now = String(Date.now() / 1000);
    const page = Array.from(tpl.content.querySelectorAll("tbody.incident"));
    if (!page.length) { return; }
    for (const tb of page) {
      const old = this.byKey.get(tb.dataset.key);
      if (this.attention(tb, old)) {
        heard.push({ key: tb.dataset.key, level: tb.dataset.level, title: tb.dataset.title, seq: this.began(tb) });
      }
      if (old) {  // an update replaces it; a tick the officer gave stays
        const was = old.querySelector("input.pick");
        const pick = tb.querySelector("input.pick");
        if (was && pick && was.checked && !pick.disabled) { pick.checked = true; }
        old.remove();
      }
      tb.dataset.shownAt = now;
      tb.classList.add("fresh");
      this.byKey.set(tb.dataset.key, tb);
    }
    const empty = this.table.querySelector("tbody.empty");
    if (empty) { empty.hidden = true; }
    const top = this.table.querySelector("tbody.incident");
    const oldest = Math.min(...page.map((tb) => parseInt(tb.dataset.lastSeq, 10)));
    if (!top || parseInt(top.dataset.lastSeq, 10) < oldest) {
      // the usual case: the whole page (newest first) is newer than anything shown
      const frag = document.createDocumentFragment();
      for (const tb of page) { frag.appendChild(tb); }
      this.table.insertBefore(frag, top || empty);
    } else {
      for (const tb of page) { this.place(tb); }
    }
    this.trim();
    this.pickChanged();
  }

  // Newest last_seq first.
  place(tb) {
    const seq = parseInt(tb.dataset.lastSeq, 10);
    let before = null;
    for (const other of this.table.querySelectorAll("tbody.incident")) {
      if (parseInt(other.dataset.lastSeq, 10) < seq) { before = other; break; }
    }
    if (before) { this.table.insertBefore(tb, before); }
    else {
      const empty = this.table.querySelector("tbody.empty");
      this.table.insertBefore(tb, empty);
    }
  }

  trim() {
    const all = this.table.querySelectorAll("tbody.incident");
    if (all.length <= EDGE_KEEP) { return; }
    for (let i = EDGE_KEEP; i < all.length; i++) { this.byKey.delete(all[i].dataset.key); all[i].remove(); }
    const last = all[EDGE_KEEP - 1];
    const params = new URLSearchParams(this.query);
    params.set("before_seq", last.dataset.lastSeq);
    let older = document.getElementById("older");
    if (!older) {
      older = document.createElement("a");
      older.id = "older";
      older.textContent = edgeSay(this.strings, "older");
      document.querySelector(".pages").appendChild(older);
    }
    older.href = "/alerts?" + params.toString();
  }

  // A new (or newly raised, or reopened) alarm or critical that nobody acknowledged.
  attention(tb, old) {
    const level = tb.dataset.level;
    if (tb.dataset.status !== "new" || EDGE_LEVELS[level] < EDGE_LEVELS.alarm) { return false; }
    if (!old || old.dataset.status !== "new" || EDGE_LEVELS[old.dataset.level] < EDGE_LEVELS[level]) { return true; }
    const seen = parseInt(old.dataset.lastSeq, 10);
    return Array.from(tb.querySelectorAll("tr.occ")).some((tr) =>
      parseInt(tr.dataset.seq, 10) > seen && EDGE_LEVELS[tr.dataset.severity] >= EDGE_LEVELS.alarm);
  }

  // Where the incident's latest alarm or critical occurrence began (its first seq).
  began(tb) {
    let seq = 0;
    for (const tr of tb.querySelectorAll("tr.occ")) {
      if (EDGE_LEVELS[tr.dataset.severity] >= EDGE_LEVELS.alarm) { seq = Math.max(seq, parseInt(tr.dataset.firstSeq, 10)); }
    }
    return seq;
  }

  // Sound once for what was heard together (the loudest level), a notification for each of
  // the first few and one for the rest; an alarm already announced (at that seq) is not again.
  announce(heard, extra) {
    const fresh = heard.filter((a) => !(this.announced.get(a.key) >= a.seq));
    const rest = fresh.length - EDGE_NOTIFY_EACH + (extra || 0);
    if (!fresh.length) { return; }
    let level = "alarm";
    for (const a of fresh) {
      this.announced.set(a.key, a.seq);
      this.ringing.add(a.key);
      if (a.level === "critical") { level = "critical"; }
    }
    if (level === "critical" || !this.ringLevel) { this.ringLevel = level; }
    this.siren.start(level);
    fresh.slice(0, EDGE_NOTIFY_EACH).forEach((a) => {
      this.notify(edgeSay(this.strings, a.level), a.title || a.key, a.level, a.key);
    });
    if (rest > 0) {
      this.notify(edgeSay(this.strings, level), edgeSay(this.strings, "more_alarms", { n: rest }), level, "more");
    }
  }

  notify(title, body, level, tag) {
    let shown = false;
    try {
      if ("Notification" in window && Notification.permission === "granted") {
        const n = new Notification(title, { body: body, tag: "edge-" + tag, requireInteraction: level === "critical" });
        n.onclick = () => { window.focus(); n.close(); };
        shown = true;
      }
    } catch (e) { shown = false; }
    window.edgeConsole.notifications.push({ title: title, body: body, level: level, at: Date.now(), shown: shown });
  }

  // The standing count: title "(N) ...", the banner; no unacknowledged alarm: quiet.
  unacked(total, critical) {
    total = total || 0;
    document.title = (total > 0 ? "(" + total + ") " : "") + this.baseTitle;
    if (this.banner) {
      this.banner.hidden = total <= 0;
      this.banner.classList.toggle("critical", critical > 0);
      const n = this.banner.querySelector(".n");
      if (n) { n.textContent = String(total); }
    }
    if (total <= 0) { this.ringing.clear(); }
    if (!this.ringing.size) { this.siren.stop(); this.ringLevel = null; }
  }

  // The counts, and the alarms that began since the last look whatever the page shows
  // (scrolled down, filtered): each sounds and notifies once.
  async state(extra) {
    try {
      const r = await this.get(this.url("/api/console/state", [extra, "alarms_after=" + this.alarmSeq].filter((x) => x).join("&")));
      if (!r) { return null; }
      const s = await r.json();
      this.unacked(s.unacked_total, (s.unacked || {}).critical || 0);
      if (s.alarms) {
        this.announce(s.alarms, Math.max(0, (s.alarm_count || 0) - s.alarms.length));
        this.alarmSeq = Math.max(this.alarmSeq, s.newest || 0);
      }
      return s;
    } catch (e) { return null; /* the next pull tries again */ }
  }

  picked() {
    return Array.from(this.table.querySelectorAll("input.pick:checked")).map((i) => i.value);
  }

  async acknowledge(keys) {
    const out = document.getElementById("ack-result");
    if (!keys.length) { return; }
    const body = new URLSearchParams();
    body.set("csrf", this.root.dataset.csrf || "");
    for (const k of keys) { body.append("items", k); }
    let answer = null;
    try {
      const r = await fetch(this.root.dataset.ackUrl, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { accept: "application/json", "x-csrf-token": this.root.dataset.csrf || "" },
      });
      if (r.status === 401) { edgeEmit("edge:down", { reason: "session", status: 401 }); }
      answer = (r.headers.get("content-type") || "").indexOf("json") !== -1 ? await r.json() : { error: await r.text() };
      if (!r.ok) { throw new Error(answer.error || answer.detail || String(r.status)); }
    } catch (e) {
      if (out) { out.textContent = edgeSay(this.strings, "ack_failed", { why: e.message }); }
      return;
    }
    // acknowledged now, or already by someone else: either way not new any more
    const done = new Set([...(answer.acknowledged || []), ...(answer.already || [])]);
    for (const k of done) {
      const tb = this.byKey.get(k);
      if (!tb) { continue; }
      tb.dataset.status = "acknowledged";
      tb.classList.remove("st-new");
      tb.classList.add("st-acknowledged");
      const st = tb.querySelector("tr.head .st");
      if (st) { st.textContent = edgeSay(this.strings, "acknowledged"); }
      const who = (answer.acknowledged || []).indexOf(k) !== -1 ? this.root.dataset.user : "";
      if (who && st && !tb.querySelector("tr.head .who")) {
        const span = document.createElement("span");
        span.className = "who";
        span.textContent = " · " + who;
        st.after(span);
      }
      const pick = tb.querySelector("input.pick");
      if (pick) { pick.checked = false; pick.disabled = true; }
      const btn = tb.querySelector("button.ack-one");
      if (btn) { btn.remove(); }
      this.ringing.delete(k);
    }
    if (out) { out.textContent = edgeSay(this.strings, "acked_n", { n: (answer.acknowledged || []).length }); }
    this.pickChanged();
    if (!this.ringing.size) { this.siren.stop(); this.ringLevel = null; }
    await this.state();
  }

  pickChanged() {
    const button = document.getElementById("ack-selected");
    if (button) { button.disabled = this.picked().length === 0; }
  }

  soundControls() {
    const enable = document.getElementById("enable-sound");
    const mute = document.getElementById("mute");
    const showMute = () => {
      const muted = this.siren.muted();
      mute.setAttribute("aria-pressed", muted ? "true" : "false");
      mute.textContent = edgeSay(this.strings, muted ? "unmute" : "mute");
    };
    if (enable) {
      enable.hidden = this.siren.enabled();
      enable.addEventListener("click", () => {
        localStorage.setItem("edgeSound", "on");
        this.siren.open();
        if ("Notification" in window && Notification.permission === "default") {
          Notification.requestPermission().catch(() => {});
        }
        enable.hidden = true;
      });
    }
    if (this.siren.enabled()) {
      this.siren.open();
      const wake = () => { this.siren.open(); };
      document.addEventListener("pointerdown", wake, { once: true });
      document.addEventListener("keydown", wake, { once: true });
    }
    if (mute) {
      showMute();
      mute.addEventListener("click", () => {
        localStorage.setItem("edgeMuted", this.siren.muted() ? "0" : "1");
        showMute();
        if (this.siren.muted()) { this.siren.stop(); }
        else if (this.ringing.size) { this.siren.start(this.ringLevel || "alarm"); }  // still unacknowledged
      });
    }
  }

  wire() {
    this.soundControls();
    for (const id of ["filter-unacked", "filter-all"]) {  // a toggle applies at once
      const box = document.getElementById(id);
      if (box) { box.addEventListener("change", () => box.form.submit()); }
    }
    const box = document.getElementById("filter-box");  // a phone: the list first
    if (box && !this.query && window.matchMedia("(max-width: 600px)").matches) { box.open = false; }
    this.table.addEventListener("change", (e) => {
      if (e.target.id === "pick-all") {
        for (const p of this.table.querySelectorAll("input.pick:not(:disabled)")) { p.checked = e.target.checked; }
      }
      this.pickChanged();
    });
    this.table.addEventListener("click", (e) => {
      const b = e.target.closest("button.ack-one");
      if (b) { this.acknowledge([b.value]); }
    });
    const bulk = document.getElementById("ack-selected");
    if (bulk) { bulk.addEventListener("click", () => this.acknowledge(this.picked())); }
    if (this.newCount) { this.newCount.addEventListener("click", () => this.showAll()); }
    window.addEventListener("scroll", () => { if (this.pending > 0 && this.following()) { this.showAll(); } }, { passive: true });
    setInterval(() => this.state(), 15000);
  }

  stream() {
    if (!this.live) {
      this.badge.classList.add("off");
      this.badge.textContent = edgeSay(this.strings, "paused");
      return;
    }
    const source = new EventSource("/api/stream?after=" + this.newest);
    source.addEventListener("open", () => {
      this.badge.classList.remove("off");
      this.badge.textContent = edgeSay(this.strings, "live");
      edgeEmit("edge:live", {});
      this.pull();
    });
    source.addEventListener("alerts", (e) => { if (parseInt(e.data, 10) > this.newest) { this.pull(); } });
    source.addEventListener("error", () => {
      this.badge.classList.add("off");
      this.badge.textContent = edgeSay(this.strings, "reconnecting");
      edgeEmit("edge:down", { reason: "stream" });
      if (source.readyState === EventSource.CLOSED) {  // refused (a lost session): try again later
        setTimeout(() => this.stream(), 5000);
      }
    });
  }
}

// #notlive and #session-warning: static/wall.js (NOT LIVE after ~3 s down, or the session gone)

document.addEventListener("DOMContentLoaded", () => {
  edgeTheme();
  const root = document.getElementById("console");
  if (root) {
    const c = new EdgeConsole(root);
    window.edgeConsoleApp = c;
    window.edgeTiming.listRendered = performance.now();
    c.wire();
    c.stream();
  }
});
