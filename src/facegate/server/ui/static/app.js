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
