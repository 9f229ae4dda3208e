// The manager's side of self-enrolment (templates/_enrolment.html): invite links and the
// photos waiting for approval, through the REST API with the sign-in cookie. On a
// resident's page the section is loaded into #enrolment (data-src) after the page.
function enrolText() {
  const el = document.getElementById("enrol-admin-text");
  return el ? JSON.parse(el.textContent) : {};
}
async function createInvite(rid) {
  const T = enrolText();
  try {
    const r = await api("POST", `/api/v1/residents/${rid}/invites`, {});
    const url = location.origin + r.path;
    document.getElementById("invite-label").textContent = T.created;
    document.getElementById("invite-url").value = url;
    document.getElementById("invite-link").hidden = false;
    document.getElementById("invite-url").select();
    show("invite-result", "", true);
  } catch (e) { show("invite-result", e.message, false); }
}
async function copyInvite() {
  const input = document.getElementById("invite-url");
  input.select();
  try { await navigator.clipboard.writeText(input.value); }
  catch (e) { document.execCommand("copy"); }  // no clipboard API over plain http
  show("invite-result", enrolText().copied, true);
}
async function revokeInvite(id) {
  try {
    await api("POST", `/api/v1/invites/${id}/revoke`);
    const li = document.getElementById("invite-" + id);
    if (li) li.replaceChildren(document.createTextNode(enrolText().revoked));
  } catch (e) { alert(e.message); }
}
function pendingResult(fig, text, ok) {
  const el = fig.querySelector(".pending-result");
  el.textContent = text;
  el.className = "pending-result " + (ok ? "ok" : "bad");
}
async function approvePending(id) {
  const fig = document.getElementById("pending-" + id);
  const box = fig.querySelector(".confirm-other input");
  try {
    await api("POST", `/api/v1/pending-photos/${id}/approve`, {confirm_other_resident: box.checked});
    pendingResult(fig, enrolText().approved, true);
    for (const b of fig.querySelectorAll("button")) b.disabled = true;
    // on a resident's page: once none waits, reload to show the enrolled photos
    const left = document.querySelectorAll("#enrolment figure.pending button.approve:not([disabled])");
    if (document.getElementById("enrolment") && !left.length) setTimeout(() => location.reload(), 1500);
  } catch (e) {
    if (e.message.includes("already belongs to")) {
      fig.querySelector(".confirm-other").hidden = false;
      pendingResult(fig, enrolText().other, false);
    } else pendingResult(fig, e.message, false);
  }
}
async function rejectPending(id) {
  const fig = document.getElementById("pending-" + id);
  try {
    await api("DELETE", `/api/v1/pending-photos/${id}`);
    fig.querySelector("img").remove();
    pendingResult(fig, enrolText().rejected, true);
    for (const b of fig.querySelectorAll("button")) b.disabled = true;
  } catch (e) { pendingResult(fig, e.message, false); }
}
document.addEventListener("DOMContentLoaded", async () => {
  const box = document.getElementById("enrolment");
  if (!box || !box.dataset.src) return;
  const resp = await fetch(box.dataset.src, {credentials: "same-origin", cache: "no-store"});
  if (resp.ok) box.innerHTML = await resp.text();  // rendered and escaped by the server
});
