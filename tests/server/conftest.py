"""Server fixtures: one app per test on SQLite (a temp file) or PostgreSQL (a schema of its own
on 127.0.0.1:5432, database `test`, skipped with a reason when no server answers)."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from facegate.config import FaceGateConfig
from facegate.demo import demo_images
from facegate.engine import FaceEngine
from facegate.runtime.events import Decision, DoorEvent
from facegate.server.app import build_state, create_app
from facegate.server.auth import Principal, Role
from facegate.server.state import ServerState

ADMIN_PASSWORD = "admin-secret-1"
# callers of operations, as the API's dependencies would hand them over
ADMIN = Principal("user:admin", Role.ADMIN, 1)
OPERATOR = Principal("user:oper", Role.OPERATOR)
VIEWER = Principal("user:view", Role.VIEWER)
PG_HOST = os.environ.get("FACEGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_HOST, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"no PostgreSQL at {PG_HOST} ({exc.__class__.__name__}: {str(exc).strip()[:80]})"
    return None


@pytest.fixture(scope="session")
def pg_skip_reason() -> str | None:
    return _pg_available()


@pytest.fixture
def pg_url(pg_skip_reason: str | None) -> Iterator[str]:
    """A fresh schema per test, dropped afterwards: parallel runs never collide."""
    if pg_skip_reason:
        pytest.skip(pg_skip_reason)
    import psycopg

    schema = f"fg_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_HOST, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_HOST}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_HOST, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.sqlite'}"
    return request.getfixturevalue("pg_url")


def make_config(
    tmp_path: Path, db_url: str, cache_dir: Path, runtime: dict | None = None, **server: object
) -> FaceGateConfig:
    return FaceGateConfig.model_validate(
        {
            "engine": {"cache_dir": str(cache_dir)},
            "runtime": runtime or {},
            "server": {
                "data_dir": str(tmp_path / "data"),
                "database_url": db_url,
                "admin_password": ADMIN_PASSWORD,
                "run_entrances": False,
                **server,
            },
        }
    )


class Api:
    """A TestClient plus bearer headers for one user of each role."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.admin = self.login("admin", ADMIN_PASSWORD)

    @functools.cached_property
    def operator(self) -> dict[str, str]:
        return self._user("oper", "operator")

    @functools.cached_property
    def viewer(self) -> dict[str, str]:
        return self._user("view", "viewer")

    def login(self, username: str, password: str) -> dict[str, str]:
        r = self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def browser(self, username: str, password: str) -> TestClient:
        """A second client of the same app signed in to the web UI (the cookie), as a
        browser would be (its changes say they come from the server's own pages, as a
        browser's `Origin` does); the app's lifespan belongs to `self.client`."""
        ui = TestClient(self.client.app, headers={"Origin": "http://testserver"})
        r = ui.post(
            "/login", data={"username": username, "password": password}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        return ui

    def _user(self, name: str, role: str) -> dict[str, str]:
        r = self.client.post(
            "/api/v1/users",
            headers=self.admin,
            json={"username": name, "password": f"{name}-password", "role": role},
        )
        assert r.status_code == 201, r.text
        return self.login(name, f"{name}-password")

    @property
    def state(self):
        return self.client.app.state.fg


@pytest.fixture
def make_api(tmp_path: Path, cache_dir: Path, engine: FaceEngine) -> Iterator[Callable[..., Api]]:
    clients: list[TestClient] = []

    def make(db_url: str | None = None, runtime: dict | None = None, **server: object) -> Api:
        url = db_url or f"sqlite:///{tmp_path / 'server.sqlite'}"
        app = create_app(
            make_config(tmp_path, url, cache_dir, runtime, **server), face_engine=engine
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Api(client)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api], db_url: str) -> Api:
    """The server on both databases."""
    return make_api(db_url)


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    """Grace Hopper twice (two renditions) and a stranger, as encoded image files."""
    hopper, again, stranger = demo_images()
    return {"hopper": hopper, "again": again, "stranger": stranger}


def add_resident(api: Api, name: str = "Grace Hopper", **extra: object) -> dict:
    r = api.client.post(
        "/api/v1/residents", headers=api.operator, json={"name": name, "apartment": "4B", **extra}
    )
    assert r.status_code == 201, r.text
    return r.json()


def upload(api: Api, rid: int, data: bytes, name: str = "photo.jpg", headers=None):
    return api.client.post(
        f"/api/v1/residents/{rid}/photos",
        files={"file": (name, data, "image/jpeg")},
        headers=headers or api.operator,
    )


@pytest.fixture
def state(
    tmp_path: Path, cache_dir: Path, engine: FaceEngine, db_url: str
) -> Iterator[ServerState]:
    """The server's state without HTTP (on both databases), to call operations directly;
    set up and closed as `create_app`'s lifespan does (runtimes built, not running)."""
    s = build_state(make_config(tmp_path, db_url, cache_dir), face_engine=engine)
    s.entrances.start_all()
    try:
        yield s
    finally:
        s.entrances.close()
        s.journal.close()
        s.db.dispose()


@pytest.fixture
def session(state: ServerState) -> Iterator[Session]:
    """A session as a request has one: operations commit what they change."""
    with state.sessions() as s:
        yield s


def record_events(
    api: Api | ServerState, n: int, start: float, *, tie_every: int = 3, entrance: str = "main"
) -> None:
    """`n` events into the server's journal, every `tie_every` sharing one time."""
    journal = (api.state if isinstance(api, Api) else api).journal
    for k in range(n):
        t = start + (k // tie_every) if tie_every else start + k
        journal.record(DoorEvent(Decision.UNKNOWN, entrance, f"visitor {k}", t))


def jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


def approach(photo: np.ndarray, frames: int = 30, size=(640, 480)) -> list[np.ndarray]:
    """A person walking up: the photo grows from 35 % to 85 % of the frame height."""
    w, h = size
    out = []
    for k in range(frames):
        ph = int(h * (0.35 + 0.5 * k / (frames - 1)))
        pw = min(int(photo.shape[1] * ph / photo.shape[0]), w)
        img = cv2.resize(photo, (pw, ph), interpolation=cv2.INTER_AREA)
        canvas = np.full((h, w, 3), (70, 90, 110), np.uint8)
        x0 = max(0, min(w - pw, int((w - pw) / 2 + 40 * np.sin(k / 5))))
        canvas[h - ph : h, x0 : x0 + pw] = img
        out.append(canvas)
    return out


def walk_up_video(path: Path, photo: np.ndarray, frames: int = 30) -> Path:
    """A resident walking up to the camera, as an MJPG AVI OpenCV can write and read."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    assert writer.isOpened()
    for f in approach(photo, frames):
        writer.write(f)
    writer.release()
    return path


class LiveServer:
    """The app under uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, app, host: str = "127.0.0.1") -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        self.app = app
        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        end = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > end or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def live_server(
    tmp_path: Path, cache_dir: Path, engine: FaceEngine
) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(runtime: dict | None = None, **server: object) -> LiveServer:
        url = f"sqlite:///{tmp_path / 'live.sqlite'}"
        app = create_app(
            make_config(tmp_path, url, cache_dir, runtime, **server), face_engine=engine
        )
        started.append(LiveServer(app))
        return started[-1]

    yield start
    for s in started:
        s.stop()


# -- a real browser (Debian's chromium driven by Playwright) -------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: for browser tests: skipped with the reason when Playwright or chromium is missing
needs_chromium = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright is not installed (pip install -e '.[dev]')",
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(), reason="no chromium browser: apt-get install -y chromium"
    ),
]
CLIP = "video/sihanwang_face_detection/test.mp4"  # one person, a large face, 4.5 s


@pytest.fixture
def chromium() -> Iterator[Callable[..., object]]:
    """`chromium(*args)` launches headless chromium with extra command-line flags (e.g. a
    fake camera, `fake_camera_args`); every browser launched is closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = []

        def launch(*args: str):
            b = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", *args]
            )
            launched.append(b)
            return b

        try:
            yield launch
        finally:
            for b in launched:
                b.close()


def clip_frames(path: Path, width: int = 640, step: int = 2) -> list[np.ndarray]:
    """Every `step`-th frame of a video, scaled to `width` (even sizes, for I420)."""
    cap = cv2.VideoCapture(str(path))
    frames, k = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if k % step == 0:
            h = int(frame.shape[0] * width / frame.shape[1]) // 2 * 2
            frames.append(cv2.resize(frame, (width, h), interpolation=cv2.INTER_AREA))
        k += 1
    cap.release()
    assert frames, f"no frame could be read from {path}"
    return frames


def fake_camera_args(frames: list[np.ndarray], path: Path, fps: int = 15) -> list[str]:
    """Chromium's fake camera playing `frames` (looped) from a Y4M file written here, and
    the camera permission granted without a prompt."""
    h, w = frames[0].shape[:2]
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={path}",
    ]


def looped_video(frames: list[np.ndarray], path: Path, seconds: float, fps: int = 15) -> Path:
    """`frames` repeated for `seconds`: an entrance's camera that keeps showing the clip
    (a video file source ends at its end)."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for k in range(int(seconds * fps)):
        writer.write(frames[k % len(frames)])
    writer.release()
    return path
