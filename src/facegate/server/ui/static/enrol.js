// The resident's enrolment page (templates/enrol.html): the phone's camera, a live hint
// from the server about every second, three guided photos, then one submission. The page
// carries no sign-in; the link's token is the credential (operations/invites.py).
(() => {
  const root = document.getElementById("enrol");
  if (!root) return;
  const T = JSON.parse(document.getElementById("enrol-text").textContent);
  const base = "/api/v1/enrol/" + encodeURIComponent(root.dataset.token);
  const POSES = ["straight", "left", "right"];
  const video = document.getElementById("enrol-video");
  const hint = document.getElementById("enrol-hint");
  const take = document.getElementById("enrol-take");
  const send = document.getElementById("enrol-send");
  const result = document.getElementById("enrol-result");
  const shots = {};
  let step = 0, stream = null, checking = false, done = false;

  function say(el, text, cls) { el.textContent = text; el.className = cls || ""; }
  function pose() { return POSES[step]; }

  function showStep() {
    const s = document.getElementById("enrol-step");
    if (step >= POSES.length) {
      s.textContent = T.all_taken;
      take.disabled = true;
      send.disabled = false;
      return;
    }
    s.textContent = T.step.replace("{n}", step + 1).replace("{total}", POSES.length) + " " + T.pose[pose()];
    send.disabled = true;
  }

  // A frame of the preview as a JPEG, at most maxWidth wide (the hints need ~640 px).
  function grab(maxWidth, quality) {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return Promise.resolve(null);
    const scale = Math.min(1, maxWidth / w);
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(resolve => canvas.toBlob(resolve, "image/jpeg", quality));
  }

  function errorText(data, status) {
    const code = data && data.error;
    if (code && T.errors[code]) return T.errors[code];
    if (status === 429) return T.errors.too_many_attempts;
    return T.errors.other.replace("{why}", (data && data.message) || ("HTTP " + status));
  }

  async function post(url, form) {
    const resp = await fetch(url, {method: "POST", body: form, cache: "no-store"});
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    return {resp, data};
  }

  // Every ~1 s while a pose is still to take: would a photo taken now pass?
  async function tick() {
    if (done) return;
    if (!checking && step < POSES.length) {
      checking = true;
      try {
        const blob = await grab(640, 0.8);
        if (blob) {
          const form = new FormData();
          form.append("frame", blob, "frame.jpg");
          form.append("pose", pose());
          const {resp, data} = await post(base + "/check", form);
          if (resp.ok) {
            let text = T.hints[data.hint] || data.message;
            if (data.ok && data.pose_hint) text += " " + T.pose_hints[data.pose_hint];
            say(hint, text, data.ok ? "hint ok" : "hint bad");
            take.disabled = !data.ok;
          } else {
            say(hint, errorText(data, resp.status), "hint bad");
            take.disabled = true;
            if (resp.status === 404 || resp.status === 410) { stop(); return; }
          }
        }
      } catch (e) { /* a network hiccup: the next tick tries again */ }
      checking = false;
    }
    setTimeout(tick, 1000);
  }

  function stop() {
    done = true;
    if (stream) for (const t of stream.getTracks()) t.stop();
  }

  function showShot(p, blob) {
    const li = document.querySelector(`#enrol-shots li[data-pose="${p}"]`);
    const img = li.querySelector("img");
    if (img.src) URL.revokeObjectURL(img.src);
    if (blob) {
      img.src = URL.createObjectURL(blob);
      img.alt = T.taken.replace("{pose}", T.labels[p]);
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }
    li.querySelector(".retake").hidden = !blob;
  }

  take.addEventListener("click", async () => {
    if (step >= POSES.length) return;
    take.disabled = true;
    const blob = await grab(1280, 0.92);
    if (!blob) return;
    shots[pose()] = blob;
    showShot(pose(), blob);
    step = POSES.findIndex(p => !shots[p]);
    if (step < 0) step = POSES.length;
    say(hint, step < POSES.length ? T.hints.wait : "", "hint");
    showStep();
  });

  function retake(p) {
    delete shots[p];
    showShot(p, null);
    step = POSES.indexOf(p);
    say(result, "", "");
    showStep();
  }
  for (const li of document.querySelectorAll("#enrol-shots li")) {
    li.querySelector(".retake").addEventListener("click", () => retake(li.dataset.pose));
  }

  send.addEventListener("click", async () => {
    send.disabled = true;
    say(result, T.sending, "");
    const form = new FormData();
    for (const p of POSES) form.append(p, shots[p], p + ".jpg");
    let resp, data;
    try { ({resp, data} = await post(base, form)); }
    catch (e) { say(result, T.errors.network, "bad"); send.disabled = false; return; }
    if (resp.ok) {
      stop();
      say(result, data.status === "enrolled" ? T.enrolled : T.pending, "ok");
      for (const b of document.querySelectorAll("#enrol-shots .retake")) b.hidden = true;
      video.hidden = true;
      say(hint, "", "");
      return;
    }
    if (resp.status === 422 && data && data.message) {
      // the message starts with the pose of the photo that failed: take that one again
      const p = POSES.find(x => data.message.startsWith(x + ":")) || POSES[0];
      const why = T.hints[data.reason] || data.message;
      retake(p);
      say(result, T.retake.replace("{pose}", T.labels[p]) + " " + why, "bad");
      return;
    }
    say(result, errorText(data, resp.status), "bad");
    if (resp.status === 404 || resp.status === 410) stop();
    else send.disabled = false;
  });

  async function start() {
    showStep();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(hint, window.isSecureContext ? T.no_camera : T.insecure, "hint bad");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: {facingMode: "user", width: {ideal: 1280}, height: {ideal: 720}}, audio: false,
      });
    } catch (e) {
      say(hint, T.camera_denied, "hint bad");
      return;
    }
    video.srcObject = stream;
    try { await video.play(); } catch (e) { /* autoplay: muted + playsinline allow it */ }
    say(hint, T.hints.wait, "hint");
    tick();
  }
  start();
})();
