// Small helpers: every change goes through the REST API with the sign-in cookie.
async function api(method, url, body) {
  const opts = {method, credentials: "same-origin", headers: {}};
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(url, opts);
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (!resp.ok) {
    let msg = data && (data.message || (data.detail && JSON.stringify(data.detail)));
    throw new Error(msg || ("HTTP " + resp.status));
  }
  return data;
}
function show(id, text, ok) {
  const el = document.getElementById(id);
  el.textContent = text;
  el.className = ok ? "ok" : "bad";
}
function formJSON(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (v !== "") out[k] = v;
  for (const cb of form.querySelectorAll("input[type=checkbox]")) out[cb.name] = cb.checked;
  return out;
}
function ids(text) {
  text = (text || "").trim();
  return text ? text.split(",").map(s => parseInt(s.trim(), 10)) : null;
}

// The dashboard (a page with #cards): every camera picture refreshed about every 2 s, and
// the cards, alerts and last events polled as JSON every 5 s - the page is never reloaded.
function refreshFrame(img) {
  const card = img.closest(".entrance-card");
  const none = card.querySelector(".no-frame");
  img.onload = () => { img.hidden = false; none.hidden = true; setTimeout(() => refreshFrame(img), 2000); };
  img.onerror = () => { img.hidden = true; none.hidden = false; setTimeout(() => refreshFrame(img), 5000); };
  img.src = img.dataset.src + "?t=" + Date.now();
}
function setText(root, selector, text) {
  const el = root.querySelector(selector);
  if (el) el.textContent = text;
}
function updateCard(c) {
  const el = document.querySelector(`.entrance-card[data-id="${c.id}"]`);
  if (!el) return false;
  el.className = "card entrance-card level-" + c.level;
  const words = el.querySelector(".words");
  words.textContent = c.words;
  words.className = "words " + c.level;
  setText(el, ".detail", c.detail);
  setText(el, ".opens", c.opens);
  setText(el, ".denials", c.denials);
  setText(el, ".unknowns", c.unknowns);
  if (c.last) {
    setText(el, ".last-text", c.last.text);
    setText(el, ".last-time", c.last.time);
    const dev = el.querySelector(".last-device");  // an edge device's event names it
    if (dev) dev.textContent = c.last.device ? `${dev.dataset.label}: ${c.last.device}` : "";
    const link = el.querySelector(".last-link");
    if (c.last.snapshot_url) {
      link.href = c.last.snapshot_url;
      link.querySelector("img").src = c.last.snapshot_url;
      link.hidden = false;
    } else link.hidden = true;
  }
  return true;
}
async function pollDashboard(cards) {
  try {
    const resp = await fetch(cards.dataset.poll, {credentials: "same-origin", cache: "no-store"});
    if (resp.status === 401) { location.href = "/login"; return; }
    if (resp.ok) {
      const d = await resp.json();
      const alerts = document.getElementById("alerts");
      alerts.replaceChildren(...d.alerts.map(a => {
        const p = document.createElement("p");
        p.className = "alert"; p.setAttribute("role", "alert"); p.textContent = a;
        return p;
      }));
      // an entrance added or removed elsewhere: the page's own cards are out of date
      if (d.cards.length !== cards.querySelectorAll(".entrance-card").length ||
          !d.cards.every(updateCard)) { location.reload(); return; }
      // the server renders (and escapes) the rows, as on the page itself
      document.getElementById("last-events").innerHTML = d.events_html;
    }
  } catch (e) { /* the server restarting: try again at the next tick */ }
  setTimeout(() => pollDashboard(cards), 5000);
}
document.addEventListener("DOMContentLoaded", () => {
  const cards = document.getElementById("cards");
  if (!cards) return;
  for (const img of cards.querySelectorAll("img.frame")) refreshFrame(img);
  setTimeout(() => pollDashboard(cards), 5000);
});
// Buttons name the page function they call (data-call, data-arg) instead of an inline
// onclick: the Content-Security-Policy allows no inline event handlers (web_security.py).
document.addEventListener("click", (ev) => {
  const el = ev.target.closest("[data-call]");
  if (!el) return;
  const fn = window[el.dataset.call];
  if (typeof fn === "function") { ev.preventDefault(); fn(el.dataset.arg); }
});
