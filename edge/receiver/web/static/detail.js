// The alert's page: the clip starts at the event's moment, marked on a timeline under the
// video (the offset is the event's time minus the clip's signed start, from the server);
// acknowledging posts with fetch (JSON) and swaps in the new acknowledgement section, so
// the clip keeps playing. window.edgeDetail is the page's test hook.
(function () {
  "use strict";
  const hook = (window.edgeDetail = { offset: null, seeked: false, acks: 0, errors: [] });
  const video = document.getElementById("clip");
  const timeline = document.getElementById("timeline");
  const marker = document.getElementById("event-marker");
  const playhead = document.getElementById("playhead");
  const offset = video && video.dataset.offset ? parseFloat(video.dataset.offset) : NaN;

  function length() {
    if (isFinite(video.duration) && video.duration > 0) return video.duration;
    const signed = parseFloat(video.dataset.duration);
    return signed > 0 ? signed : NaN;
  }

  function percent(seconds) {
    const len = length();
    return len > 0 ? Math.max(0, Math.min(100, (seconds / len) * 100)) : 0;
  }

  function place() {
    if (marker) marker.style.left = percent(offset) + "%";
  }

  function follow() {
    if (playhead) playhead.style.left = percent(video.currentTime) + "%";
  }

  function seekToEvent() {
    const len = length();
    video.currentTime = len > 0 ? Math.min(offset, len) : offset;
    hook.seeked = true;
  }

  if (video && isFinite(offset)) {
    hook.offset = offset;
    place();
    const ready = function () {
      place();
      seekToEvent();
      follow();
    };
    if (video.readyState >= 1) ready();
    else video.addEventListener("loadedmetadata", ready, { once: true });
    video.addEventListener("timeupdate", follow);
    video.addEventListener("seeked", follow);
    if (timeline) {
      timeline.addEventListener("click", function (e) {
        const box = timeline.getBoundingClientRect();
        const len = length();
        if (len > 0 && box.width > 0) video.currentTime = ((e.clientX - box.left) / box.width) * len;
      });
    }
    const button = document.getElementById("to-event");
    if (button) {
      button.addEventListener("click", function () {
        seekToEvent();
        video.play().catch(function () {});
      });
    }
  }

  document.addEventListener("submit", async function (e) {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("#ack-section form.ack")) return;
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const error = document.getElementById("ack-error");
    if (button) button.disabled = true;
    try {
      const r = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { accept: "application/json" },
        credentials: "same-origin",
      });
      if (!r.ok) throw new Error(r.status + ": " + (await r.text()).slice(0, 200));
      const data = await r.json();
      const holder = document.createElement("div");
      holder.innerHTML = data.html;
      const fresh = holder.querySelector("#ack-section");
      const section = document.getElementById("ack-section");
      if (fresh && section) section.replaceWith(fresh);
      hook.acks += 1;
      document.dispatchEvent(new CustomEvent("edge:acked", { detail: data }));
    } catch (err) {
      hook.errors.push(String(err));
      if (error) {
        error.textContent = (error.dataset.msg || "") + ": " + String(err.message || err);
        error.hidden = false;
      }
      if (button) button.disabled = false;
    }
  });
})();
