"""End to end with the real server: uvicorn on a free port (SQLite), `fleet.mqtt_url` at a
Mosquitto of the test's own, and `facegate edge` as a device runs it, on a clip of the
astronaut photo.

A device made on the server enrols, syncs and opens for the enrolled astronaut; the event
reaches the server's event log once, with the device's name. With the broker away the
door keeps opening and the events queue; with the server away too it runs from its last
sync; when both are back everything queued arrives, each event once. A resident deactivated
on the server is no longer let in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import cv2
import httpx
import pytest
import uvicorn

from facegate.server.app import create_app
from tests.conftest import approach, write_image
from tests.fleet.edge.conftest import Mosquitto, free_port
from tests.fleet.edge.test_agent import run_edge
from tests.server.conftest import ADMIN_PASSWORD, make_config

pytestmark = pytest.mark.slow


class Server:
    """The app under uvicorn on a fixed port, so it can be stopped and started again."""

    def __init__(self, make_app, port: int) -> None:
        self.make_app = make_app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.uv: uvicorn.Server | None = None

    def start(self) -> None:
        self.uv = uvicorn.Server(
            uvicorn.Config(self.make_app(), host="127.0.0.1", port=self.port, log_level="warning")
        )
        thread = threading.Thread(target=self.uv.run, daemon=True)
        thread.start()
        end = time.monotonic() + 60
        while not self.uv.started:
            assert time.monotonic() < end and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        self.thread = thread

    def stop(self) -> None:
        if self.uv is not None:
            self.uv.should_exit = True
            self.thread.join(30)
            self.uv = None


@pytest.fixture
def server(tmp_path, cache_dir, engine, broker: Mosquitto, monkeypatch) -> Iterator[Server]:
    monkeypatch.setenv("FACEGATE_MQTT_URL", broker.url)
    url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    s = Server(
        lambda: create_app(make_config(tmp_path, url, cache_dir), face_engine=engine),
        free_port(),
    )
    s.start()
    yield s
    s.stop()


def admin(http: httpx.Client) -> dict[str, str]:
    r = http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def same(stored: list[dict], printed: list[dict]) -> bool:
    """The server holds exactly the events the device printed, each once."""

    def key(decision: str, person: str | None, t: float) -> tuple:
        return decision, person, round(t, 3)

    up = sorted(
        key(e["decision"], e["person"], datetime.fromisoformat(e["time"]).timestamp())
        for e in stored
    )
    down = sorted(key(e["decision"], e["person"], e["time"]) for e in printed)
    assert up == down
    return True


def device_events(http: httpx.Client, auth) -> list[dict]:
    r = http.get("/api/v1/events", params={"limit": 1000}, headers=auth)
    assert r.status_code == 200, r.text
    return [e for e in r.json()["items"] if e.get("device")]


def test_a_device_admits_offline_and_every_event_arrives_once(
    server: Server, broker: Mosquitto, astronaut, tmp_path: Path, cache_dir
) -> None:
    http = httpx.Client(base_url=server.url, timeout=30)
    auth = admin(http)
    main = next(
        e for e in http.get("/api/v1/entrances", headers=auth).json() if e["name"] == "main"
    )
    r = http.patch(
        f"/api/v1/entrances/{main['id']}", headers=auth, json={"liveness": {"checks": []}}
    )
    assert r.status_code == 200, r.text  # the clip is a flat photo
    res = http.post("/api/v1/residents", headers=auth, json={"name": "Eileen Collins"}).json()
    photo = cv2.imencode(".jpg", astronaut)[1].tobytes()
    r = http.post(
        f"/api/v1/residents/{res['id']}/photos",
        headers=auth,
        files={"file": ("a.jpg", photo, "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    r = http.post(
        "/api/v1/devices", headers=auth, json={"name": "gate-1", "entrances": [main["id"]]}
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]

    frames = tmp_path / "clip"
    frames.mkdir()
    for i, f in enumerate(approach(astronaut, 24)):
        write_image(frames / f"{i:03d}.png", f)
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"engine:\n  cache_dir: {cache_dir}\nfleet:\n  edge:\n    flush_on_exit_s: 5\n")
    base = ["--data", str(tmp_path / "device"), "--source", str(frames), "--until-end"]

    printed: list[dict] = []

    def opens(events: list[dict]) -> list[tuple[str, str]]:
        printed.extend(events)
        return [(e["decision"], e["person"]) for e in events]

    # 1. enrol, sync, open; the event reaches the server once, with its device
    code, events, err = run_edge(["--server", server.url, "--token", token, *base], cfg)
    assert code == 0, err
    assert ("open", "Eileen Collins") in opens(events)
    assert same(device_events(http, auth), printed)
    dev = http.get("/api/v1/devices", headers=auth).json()[0]
    assert dev["enrolled"] and dev["gallery_version"] is not None and dev["behind"] == 0

    # 2. the broker away: the door still opens, the event waits in the outbox
    broker.stop()
    code, events, err = run_edge(base, cfg)
    assert code == 0, err
    assert ("open", "Eileen Collins") in opens(events)
    assert "kept in the outbox" in err
    assert len(device_events(http, auth)) == len(printed) - len(events)

    # 3. the server away too (the broker back): runs from the last sync
    server.stop()
    broker.start()
    code, events, err = run_edge(base, cfg)
    assert code == 0, err
    assert ("open", "Eileen Collins") in opens(events)
    assert "running from the data synced" in err

    # 4. both back: everything queued arrives, each event once
    server.start()
    code, events, err = run_edge(base, cfg)
    assert code == 0, err
    assert ("open", "Eileen Collins") in opens(events)
    deadline = time.monotonic() + 20
    while len(device_events(http, auth)) < len(printed) and time.monotonic() < deadline:
        time.sleep(0.2)
    stored = device_events(http, auth)
    assert same(stored, printed)
    assert all(e["device"] == "gate-1" for e in stored)
    for e in [x for x in stored if x["decision"] == "open"]:  # best shots, after the events
        deadline = time.monotonic() + 20
        while not e["snapshot_url"] and time.monotonic() < deadline:
            time.sleep(0.2)
            e = next(x for x in device_events(http, auth) if x["id"] == e["id"])
        shot = http.get(e["snapshot_url"], headers=auth)
        assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"

    # 5. deactivated on the server: not let in any more
    r = http.patch(f"/api/v1/residents/{res['id']}", headers=auth, json={"active": False})
    assert r.status_code == 200, r.text
    code, events, err = run_edge(base, cfg)
    assert code == 0, err
    assert events and {e["decision"] for e in events} <= {"unknown", "deny"}
