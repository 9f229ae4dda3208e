"""The dashboard a building manager reads: entrance states in words, today's counts, the
last visitor, alerts for entrances in error, the camera's newest frame, and a JSON poll
instead of a page reload (no inline script: the page works under a CSP without
'unsafe-inline')."""

from __future__ import annotations

import re
import time
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest

from facegate.runtime.events import Decision, DoorEvent
from tests.server.conftest import ADMIN_PASSWORD, approach


def wait_for(fn, timeout: float = 120.0, every: float = 0.2):
    end = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < end, "timed out"
        time.sleep(every)


def card(body: dict, name: str = "main") -> dict:
    return next(c for c in body["cards"] if c["name"] == name)


def test_dashboard_speaks_plainly_and_never_reloads(make_api) -> None:
    api = make_api()
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get("/")
    assert page.status_code == 200
    assert "No camera set" in page.text and "no_source" not in page.text
    assert "location.reload" not in page.text and 'http-equiv="refresh"' not in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/app.js">']
    assert 'data-poll="/dashboard.json"' in page.text
    assert "pollDashboard" in ui.get("/static/app.js").text
    # the data source path is not on the dashboard (an engineer's detail)
    assert ui.get("/dashboard.json").headers["cache-control"] == "no-store"
    stranger = api.client.__class__(api.client.app)
    assert stranger.get("/dashboard.json").status_code == 401


def test_today_counts_last_visitor_and_door_alert(make_api) -> None:
    api = make_api(timezone="Europe/Moscow")
    j = api.state.journal
    now = time.time()
    midnight = datetime.combine(datetime.now(ZoneInfo("Europe/Moscow")).date(), dtime(),
                                ZoneInfo("Europe/Moscow")).timestamp()  # fmt: skip
    t = max(now - 60, midnight)  # today in Moscow, even just after its midnight
    j.record(DoorEvent(Decision.OPEN, "main", "Ann Lee matched", t, person="Ann Lee"))
    j.record(DoorEvent(Decision.UNKNOWN, "main", "no resident matched at FMR 1e-05", t + 0.1))
    j.record(DoorEvent(Decision.UNKNOWN, "main", "no resident matched at FMR 1e-05", t + 0.2))
    j.record(DoorEvent(Decision.DENY, "main", "presentation attack suspected (motion)", t + 0.3,
                       person="Ann Lee"))  # fmt: skip
    j.record(DoorEvent(Decision.OPEN, "main", "Ann Lee matched", now - 3 * 86400, person="Ann Lee"))
    ui = api.browser("admin", ADMIN_PASSWORD)
    body = ui.get("/dashboard.json").json()
    main = card(body)
    assert (main["opens"], main["denials"], main["unknowns"]) == (1, 1, 2)  # today only
    assert main["last"]["text"] == "Photo or screen suspected: door stayed closed"
    assert main["words"] == "No camera set" and main["level"] == "off"
    assert body["alerts"] == []
    assert "Photo or screen suspected" in body["events_html"]

    j.record(DoorEvent(Decision.DOOR_ERROR, "main", "door webhook failed: HTTP 500", t + 0.4))
    body = ui.get("/dashboard.json").json()
    assert card(body)["words"].startswith("Door error since ") and card(body)["level"] == "bad"
    assert body["alerts"] == [f"main: {card(body)['words']} (door webhook failed: HTTP 500)"]
    page = ui.get("/").text
    assert 'class="alert"' in page and "Door error since" in page
    j.record(DoorEvent(Decision.OPEN, "main", "manual open by user:admin: test", t + 0.5))
    assert ui.get("/dashboard.json").json()["alerts"] == []  # the door worked since


@pytest.mark.slow
def test_camera_lost_shows_since_when(make_api) -> None:
    api = make_api(run_entrances=True)
    c = api.client
    main = c.get("/api/v1/entrances", headers=api.admin).json()[0]
    r = c.patch(
        f"/api/v1/entrances/{main['id']}",
        headers=api.admin,
        json={"source": {"uri": "/dev/video9", "reconnect_max_s": 30}},
    )
    assert r.status_code == 200, r.text
    ui = api.browser("admin", ADMIN_PASSWORD)
    body = wait_for(
        lambda: (b := ui.get("/dashboard.json").json()) and card(b)["level"] == "bad" and b
    )
    assert re.fullmatch(r"Camera lost since \d\d:\d\d", card(body)["words"]), card(body)
    assert body["alerts"][0].startswith("main: Camera lost since")
    assert c.get(f"/api/v1/entrances/{main['id']}/frame.jpg", headers=api.viewer).status_code == 404


@pytest.mark.slow
def test_latest_frame_as_jpeg(make_api, tmp_path: Path, hopper: np.ndarray) -> None:
    video = tmp_path / "door.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (960, 540))
    for f in approach(hopper, 300, size=(960, 540)):  # 20 s at the camera's own pace
        writer.write(f)
    writer.release()
    api = make_api(run_entrances=True)
    c = api.client
    main = c.get("/api/v1/entrances", headers=api.admin).json()[0]
    url = f"/api/v1/entrances/{main['id']}/frame.jpg"
    assert c.get(url, headers=api.viewer).status_code == 404  # no camera set
    assert c.get(url).status_code == 401
    r = c.patch(
        f"/api/v1/entrances/{main['id']}",
        headers=api.admin,
        json={"source": {"uri": str(video), "pace": "realtime"}, "liveness": {"checks": []}},
    )
    assert r.status_code == 200, r.text
    got = wait_for(lambda: (r := c.get(url, headers=api.viewer)).status_code == 200 and r)
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"] == "no-store"
    image = cv2.imdecode(np.frombuffer(got.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)  # scaled down to 640 px wide
    body = api.browser("admin", ADMIN_PASSWORD).get("/dashboard.json").json()
    assert card(body)["words"] == "Watching" and card(body)["live"] is True
