"""POST /api/v1/identify under load: a real `facegate serve` (uvicorn, SQLite, entrances off)
in a subprocess on a free port, a gallery of enrolled demo faces, and a bounded asyncio client
(httpx.AsyncClient) at several concurrencies. Prints requests/s and p50/p95/p99 latency of
the answered requests per concurrency, 503s (the server's admission limit) apart, and each
p95 as a multiple of the single-request latency (p50 at concurrency 1).

    .venv/bin/python bench/scripts/load_identify.py                       # 1, 5, 20 clients
    .venv/bin/python bench/scripts/load_identify.py --seconds 20 --residents 50
    .venv/bin/python bench/scripts/load_identify.py --server inference_queue=1000

`--server key=value` sets `server:` settings of the served config (compare settings in one
run of the machine's load: run before and after back to back). The machine's other load
changes the absolute figures; the ratios within one run are what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import yaml

from facegate.demo import demo_images

PASSWORD = "load-bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def variants(photo: bytes, n: int) -> list[bytes]:
    """`n` renditions of a photo (scale, brightness, small rotation, mirror), so the gallery
    holds n different templates of demo-like faces."""
    img = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-6, 6)), rng.uniform(0.8, 1))
        v = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        v = cv2.convertScaleAbs(
            v, alpha=float(rng.uniform(0.8, 1.15)), beta=float(rng.uniform(-10, 10))
        )
        if i % 2:
            v = v[:, ::-1]
        out.append(cv2.imencode(".jpg", v, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    return out


def start_server(tmp: Path, port: int, server: dict, threads: int | None) -> subprocess.Popen:
    cfg = {
        "server": {
            "data_dir": str(tmp / "data"),
            "admin_password": PASSWORD,
            "run_entrances": False,
            **server,
        }
    }
    if threads is not None:
        cfg["engine"] = {"threads": threads}
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "FACEGATE_HOME": str(tmp / "home")}
    cmd = [sys.executable, "-m", "facegate.cli", "serve", "--config", str(path)]
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {(tmp / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start within 120 s")


def enrol(url: str, headers: dict, residents: int) -> None:
    hopper, _again, stranger = demo_images()
    photos = variants(hopper, (residents + 1) // 2) + variants(stranger, residents // 2)
    with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
        for i, photo in enumerate(photos[:residents]):
            r = c.post("/api/v1/residents", json={"name": f"Resident {i:03d}"})
            r.raise_for_status()
            r = c.post(
                f"/api/v1/residents/{r.json()['id']}/photos",
                files={"file": (f"{i}.jpg", photo, "image/jpeg")},
                data={"confirm_other_resident": "true"},
            )
            if r.status_code != 201:
                raise SystemExit(f"enrolment {i}: {r.status_code} {r.text[:300]}")


async def load(url: str, headers: dict, queries: list[bytes], clients: int, seconds: float):
    """`clients` clients each sending one request after the other for `seconds`."""
    lat: list[float] = []
    statuses: dict[int, int] = {}
    end = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as c:

        async def client(k: int) -> None:
            i = k
            while time.perf_counter() < end:
                files = {"file": ("q.jpg", queries[i % len(queries)], "image/jpeg")}
                t = time.perf_counter()
                r = await c.post("/api/v1/identify", files=files)
                dt = time.perf_counter() - t
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    lat.append(dt)
                elif r.status_code == 503:
                    # what a client does with Retry-After (never longer than the run)
                    await asyncio.sleep(min(float(r.headers.get("Retry-After", 1)), 1.0))
                i += clients

        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    return lat, statuses, wall


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    return float(np.percentile(xs, q))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 5, 20])
    ap.add_argument("--seconds", type=float, default=15.0, help="per concurrency")
    ap.add_argument("--residents", type=int, default=50)
    ap.add_argument("--threads", type=int, help="engine.threads of the server (default: 0)")
    ap.add_argument("--server", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    server = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.server)}
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        proc = start_server(Path(d), port, server, args.threads)
        url = f"http://127.0.0.1:{port}"
        try:
            r = httpx.post(
                f"{url}/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            t = time.perf_counter()
            enrol(url, headers, args.residents)
            print(f"enrolled {args.residents} residents in {time.perf_counter() - t:.1f} s")
            hopper, again, stranger = demo_images()
            queries = [again, stranger, hopper]
            asyncio.run(load(url, headers, queries, 1, 3.0))  # warm-up: models loaded
            load_avg = os.getloadavg()[0]
            print(
                f"server: {server or 'defaults'}, engine.threads {args.threads}, "
                f"cores {os.cpu_count()}, load average at start {load_avg:.1f}"
            )
            print(
                f"{'clients':>7} {'answered':>8} {'503':>5} {'other':>5} {'req/s':>6} "
                f"{'p50 s':>6} {'p95 s':>6} {'p99 s':>6} {'p95/single':>10}"
            )
            single = None
            for n in args.concurrency:
                lat, st, wall = asyncio.run(load(url, headers, queries, n, args.seconds))
                p50 = pct(lat, 50)
                if single is None:
                    single = p50
                other = sum(v for k, v in st.items() if k not in (200, 503))
                print(
                    f"{n:>7} {len(lat):>8} {st.get(503, 0):>5} {other:>5} {len(lat) / wall:>6.2f} "
                    f"{p50:>6.3f} {pct(lat, 95):>6.3f} {pct(lat, 99):>6.3f} "
                    f"{pct(lat, 95) / single:>10.1f}"
                )
                if other:
                    print(f"        statuses: {st}")
            print(f"single request (p50 at {args.concurrency[0]} client): {single:.3f} s")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
