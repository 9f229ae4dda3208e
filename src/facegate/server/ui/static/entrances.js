// The Entrances page: the door adapter's own fields, "Test camera", "Test door", the
// strictness presets and the links into the Advanced section. Words come from the page
// (window.ENTRANCE_WORDS, in the reader's language); the CSP allows no inline handlers.
(function () {
  const W = window.ENTRANCE_WORDS || {};
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

  // only the chosen adapter's fields show; the others are disabled, so they are not sent
  function showDoorFields(form) {
    const kind = form.querySelector("select.door-kind");
    if (!kind) return;
    for (const box of form.querySelectorAll(".door-fields")) {
      const on = box.dataset.kind === kind.value;
      box.hidden = !on;
      for (const el of box.querySelectorAll("input, select, textarea")) el.disabled = !on;
    }
  }

  // picking a preset fills the custom numbers, so what it means is there to read
  const PRESETS = {
    strict: {fmr: "1e-06", confirm_fmr: "1e-06", min_votes: "2"},
    balanced: {fmr: "1e-05", confirm_fmr: "1e-05", min_votes: "2"},
    convenient: {fmr: "1e-05", confirm_fmr: "0.0001", min_votes: "2"},
  };
  function applyPreset(form, key) {
    const p = PRESETS[key];
    if (!p) return;
    for (const [name, value] of Object.entries(p)) {
      const el = form.querySelector(`[name="${name}"]`);
      if (el) el.value = value;
    }
    const confirm = form.querySelector('[name="confirm"]');
    if (confirm) confirm.checked = true;
    const by = form.querySelector('[name="confirm_by"]');
    if (by) by.value = "model";
  }

  async function testCamera(button) {
    const form = button.closest("form");
    const out = form.querySelector(".camera-result");
    const figure = form.querySelector("figure.camera-test");
    const id = button.dataset.id;
    const uri = form.querySelector('[name="uri"]').value.trim();
    const pace = form.querySelector('[name="pace"]').value;
    const url = id ? `/api/v1/entrances/${id}/test-camera` : "/api/v1/entrances/test-camera";
    out.textContent = W.testing; out.className = "muted";
    button.disabled = true;
    try {
      const r = await api("POST", url, uri ? {source: {uri, pace}} : {});
      const img = figure.querySelector("img");
      img.src = r.image; img.width = r.width; img.height = r.height;
      const lines = r.faces.map((f, i) => fill(f.big_enough ? W.face_ok : W.face_small,
        {i: i + 1, px: f.size_px, min: r.min_face_px}));
      figure.querySelector("figcaption").textContent =
        (r.taken_from === "runtime" ? W.from_runtime + " " : "") + lines.join(" ");
      figure.hidden = false;
      out.textContent = r.faces.length ? fill(W.faces, {n: r.faces.length}) : W.no_faces;
      out.className = r.faces.length ? "ok" : "bad";
    } catch (e) {
      figure.hidden = true;
      out.textContent = e.message; out.className = "bad";
    } finally {
      button.disabled = false;
    }
  }

  async function testDoor(button) {
    const out = button.closest("form").querySelector(".door-result");
    if (!window.confirm(W.confirm_door)) return;
    out.textContent = W.pulsing; out.className = "muted";
    button.disabled = true;
    try {
      const r = await api("POST", `/api/v1/entrances/${button.dataset.id}/test-door`);
      if (!r.queued) { out.textContent = W.already; out.className = "muted"; }
      else if (r.actuated === true) { out.textContent = W.pulsed; out.className = "ok"; }
      else if (r.actuated === false) { out.textContent = fill(W.failed, {error: r.error || "?"}); out.className = "bad"; }
      else { out.textContent = W.sent; out.className = "muted"; }
    } catch (e) {
      out.textContent = e.message; out.className = "bad";
    } finally {
      button.disabled = false;
    }
  }

  // a link to a setting inside a closed Advanced section opens it and moves there
  function openTarget(hash) {
    const target = hash && document.getElementById(hash.slice(1));
    if (!target) return;
    const details = target.closest("details");
    if (!details) return;  // a card: the browser has scrolled to it already
    details.open = true;
    target.scrollIntoView();
    const first = target.querySelector("select, input");
    if (first) first.focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("form.settings, #add-entrance")) {
      showDoorFields(form);
      form.querySelector("select.door-kind")?.addEventListener("change", () => showDoorFields(form));
      for (const radio of form.querySelectorAll('input[name="preset"]')) {
        radio.addEventListener("change", () => applyPreset(form, radio.value));
      }
    }
    for (const b of document.querySelectorAll("button.test-camera")) b.addEventListener("click", () => testCamera(b));
    for (const b of document.querySelectorAll("button.test-door")) b.addEventListener("click", () => testDoor(b));
    for (const a of document.querySelectorAll("a.open-advanced")) {
      a.addEventListener("click", (ev) => { ev.preventDefault(); history.replaceState(null, "", a.hash); openTarget(a.hash); });
    }
    openTarget(location.hash);
  });
})();
