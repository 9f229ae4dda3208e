"""Screenshots of every page of the web UI at 1280 and 390 px (a desk and a phone) into
docs/screenshots/, from a server filled the way a manager would fill it: a resident
imported with a photo, one who enrolled themselves with a link (one of their photos still
waiting for approval), one with a fresh link (the phone page, on Chromium's fake camera),
an entrance watching a visitor walk up (an open event), a rule.

    .venv/bin/python bench/scripts/ui_screenshots.py

Only public-domain faces shipped by PyPI wheels appear (Grace Hopper from matplotlib, Eileen
Collins from scikit-image): nothing of the shared evaluation data goes into the repository.
Needs chromium (Debian's /usr/bin/chromium) and Playwright. PNGs are reduced to 256 colours.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import uvicorn
from PIL import Image

from facegate.config import FaceGateConfig
from facegate.demo import astronaut_bgr, grace_hopper_path
from facegate.server.app import create_app

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "screenshot-admin-1"
ZONE = "Europe/Moscow"
SIZES = {"1280": (1280, 800), "390": (390, 844)}


def _frames(face: np.ndarray, n: int = 40, size: tuple[int, int] = (640, 360)) -> list:
    """A visitor walking up to the camera: the photo grows from 45 % to 90 % of the height."""
    w, h = size
    out = []
    for k in range(n):
        ph = int(h * (0.45 + 0.45 * k / (n - 1)))
        pw = min(int(face.shape[1] * ph / face.shape[0]), w)
        img = cv2.resize(face, (pw, ph), interpolation=cv2.INTER_AREA)
        canvas = np.full((h, w, 3), (70, 90, 110), np.uint8)
        x0 = max(0, min(w - pw, int((w - pw) / 2 + 30 * np.sin(k / 6))))
        canvas[h - ph : h, x0 : x0 + pw] = img
        out.append(canvas)
    return out


def _jpeg(img: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def _serve(tmp: Path) -> tuple[str, uvicorn.Server]:
    cfg = FaceGateConfig.model_validate(
        {
            "runtime": {"liveness": {"checks": []}},
            "server": {
                "data_dir": str(tmp / "data"),
                "admin_password": PASSWORD,
                "timezone": ZONE,
            },
        }
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(cfg), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    server.thread = thread  # type: ignore[attr-defined]  # joined at the end
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _seed(url: str, frames: list[np.ndarray], video: Path) -> dict[str, object]:
    """Residents, a pending self-enrolment, a rule and the entrance on the walk-up video."""
    c = httpx.Client(base_url=url, timeout=120)
    tok = c.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    c.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
    c.post(
        "/api/v1/residents/import",
        files={
            "csv": ("people.csv", b"name,apartment,photo\nEileen Collins,12,collins.jpg\n"),
            "photos": ("photos.zip", _zip({"collins.jpg": _jpeg(astronaut_bgr())})),
        },
    ).raise_for_status()
    grace = c.post("/api/v1/residents", json={"name": "Grace Hopper", "apartment": "7"}).json()
    link = c.post(f"/api/v1/residents/{grace['id']}/invites", json={}).json()
    shots = {p: _jpeg(frames[k]) for p, k in (("straight", 39), ("left", 30), ("right", 35))}
    httpx.post(
        f"{url}/api/v1/enrol/{link['token']}",
        files={p: (f"{p}.jpg", b, "image/jpeg") for p, b in shots.items()},
        timeout=120,
    ).raise_for_status()
    for p in c.get(f"/api/v1/pending-photos?resident_id={grace['id']}").json()[:2]:
        c.post(f"/api/v1/pending-photos/{p['id']}/approve", json={}).raise_for_status()
    ann = c.post("/api/v1/residents", json={"name": "Ann Lee", "apartment": "14"}).json()
    ann_link = c.post(f"/api/v1/residents/{ann['id']}/invites", json={}).json()
    main = c.get("/api/v1/entrances").json()[0]
    c.patch(
        f"/api/v1/entrances/{main['id']}", json={"source": {"uri": str(video)}}
    ).raise_for_status()
    end = time.monotonic() + 120
    while time.monotonic() < end:
        events = c.get("/api/v1/events?decision=open").json()["items"]
        if events:
            break
        time.sleep(1)
    # after the open: a rule decides who may open from then on
    c.post("/api/v1/rules", json={"name": "Residents, every day"})
    return {"grace": grace["id"], "link": ann_link["path"]}


def _zip(files: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _save(png: bytes, path: Path) -> None:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = ap.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        print("needs chromium: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        frames = _frames(cv2.imread(str(grace_hopper_path())))
        video = tmp / "entrance.avi"
        w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, frames[0].shape[1::-1])
        for k in range(1200):  # two minutes of walking up, looped
            w.write(frames[k % len(frames)])
        w.release()
        y4m = tmp / "phone.y4m"
        with y4m.open("wb") as f:
            h, wd = frames[0].shape[:2]
            f.write(f"YUV4MPEG2 W{wd} H{h} F15:1 Ip A1:1 C420jpeg\n".encode())
            for fr in frames:
                f.write(b"FRAME\n" + cv2.cvtColor(fr, cv2.COLOR_BGR2YUV_I420).tobytes())
        url, server = _serve(tmp)
        seeded = _seed(url, frames, video)
        pages = {
            "dashboard": "/",
            "events": "/events",
            "residents": "/residents",
            "resident": f"/residents/{seeded['grace']}",
            "import": "/residents/import",
            "enrolment": "/enrolment",
            "entrances": "/entrances",
            "rules": "/rules",
            "users": "/users",
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={y4m}",
                ],
            )
            for label, (width, height) in SIZES.items():
                ctx = browser.new_context(viewport={"width": width, "height": height})
                page = ctx.new_page()
                page.goto(f"{url}/login")
                _save(page.screenshot(), args.out / f"login-{label}.png")
                page.fill("#username", "admin")
                page.fill("#password", PASSWORD)
                page.click("#signin")
                page.wait_for_url(f"{url}/")
                for name, path in pages.items():
                    page.goto(url + path)
                    page.wait_for_load_state("networkidle")
                    time.sleep(2.5 if name in ("dashboard", "resident") else 0.3)
                    _save(page.screenshot(), args.out / f"{name}-{label}.png")
                phone = browser.new_context(viewport={"width": width, "height": height})
                enrol = phone.new_page()
                enrol.goto(url + str(seeded["link"]))
                enrol.wait_for_selector("#enrol-take:not([disabled])", timeout=60_000)
                _save(enrol.screenshot(), args.out / f"self-enrol-{label}.png")
                ru = browser.new_context(
                    viewport={"width": width, "height": height},
                    locale="ru-RU",
                    extra_http_headers={"Accept-Language": "ru"},
                ).new_page()
                ru.goto(f"{url}/login")
                ru.fill("#username", "admin")
                ru.fill("#password", PASSWORD)
                ru.click("#signin")
                ru.wait_for_url(f"{url}/")
                time.sleep(2.5)
                _save(ru.screenshot(), args.out / f"dashboard-ru-{label}.png")
            browser.close()
        server.should_exit = True  # the lifespan stops the entrance's runtime
        server.thread.join(60)  # type: ignore[attr-defined]
    for f in sorted(args.out.glob("*.png")):
        print(f"{f.relative_to(REPO)}  {f.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
