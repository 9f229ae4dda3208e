"""The server's entrance runtimes fail closed: an entrance that starts on an empty gallery and
gets its first resident through the API (no restart) opens only with the second recogniser's
confirmation, as `facegate run` would."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.demo import demo_images
from tests.conftest import approach
from tests.server.conftest import Api


def lead_in_then_walk_up(path: Path, photo: np.ndarray, empty_s: float, fps: int = 15) -> Path:
    """An empty doorway for `empty_s`, then a resident walking up (MJPG AVI)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    for _ in range(int(empty_s * fps)):
        writer.write(np.full((480, 640, 3), (70, 90, 110), np.uint8))
    for f in approach(photo, 30):
        writer.write(f)
    writer.release()
    return path


@pytest.mark.slow
def test_a_resident_enrolled_while_running_opens_with_confirmation(
    make_api, tmp_path: Path, hopper: np.ndarray
) -> None:
    api: Api = make_api(run_entrances=True, runtime={"gallery_reload_s": 0.5})
    c = api.client
    video = lead_in_then_walk_up(tmp_path / "visit.avi", hopper, empty_s=12)
    main = c.get("/api/v1/entrances", headers=api.admin).json()[0]
    r = c.patch(
        f"/api/v1/entrances/{main['id']}",
        headers=api.admin,
        # realtime: the doorway stays empty long enough to enrol while it runs; liveness off,
        # since a photo carried to the camera is what the motion check refuses
        json={"source": {"uri": str(video), "pace": "realtime"}, "liveness": {"checks": []}},
    )
    assert r.status_code == 200, r.text
    entrances = api.state.entrances
    end = time.monotonic() + 60
    while entrances.status(main["id"]).state != "running" and time.monotonic() < end:
        time.sleep(0.1)
    assert entrances.status(main["id"]).state == "running"

    res = c.post("/api/v1/residents", headers=api.admin, json={"name": "Grace Hopper"}).json()
    r = c.post(
        f"/api/v1/residents/{res['id']}/photos",
        headers=api.admin,
        files={"file": ("g.jpg", demo_images()[0], "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    status = entrances.wait(main["id"], timeout=120)
    assert status.state == "ended", status

    events = c.get("/api/v1/events?decision=open", headers=api.viewer).json()["items"]
    assert len(events) == 1, c.get("/api/v1/events", headers=api.viewer).json()
    assert events[0]["person"] == "Grace Hopper"
    assert set(events[0]["scores"]) == {"sface", "dlib"}
    assert "confirmed by dlib" in events[0]["reason"]
