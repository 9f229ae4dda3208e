"""/health and /metrics tell the truth about the entrances: a dead camera is `reconnecting`,
then `source_lost` (never `running` with 0 frames), an entrance in error or whose video
ended makes /health `degraded` with the reasons, and frames/s drop to 0 once an entrance
stops processing frames."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from tests.server.conftest import Api, walk_up_video


def _wait(fn, timeout: float = 120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s")


def _fps(api: Api, name: str) -> float | None:
    text = api.client.get("/metrics", headers=api.viewer).text
    m = re.search(rf'facegate_frames_per_second{{entrance="{name}"}} ([0-9.e+-]+)', text)
    return float(m.group(1)) if m else None


@pytest.mark.slow
def test_a_dead_camera_and_a_broken_entrance_make_health_degraded(make_api, tmp_path: Path) -> None:
    api: Api = make_api(run_entrances=True)
    c = api.client
    assert c.get("/health").json()["status"] == "ok"  # main has no source: as configured
    main = c.get("/api/v1/entrances", headers=api.admin).json()[0]
    dead = {"uri": "http://127.0.0.1:9/cam.mjpg", "stall_timeout_s": 1, "reconnect_max_s": 1}
    r = c.patch(f"/api/v1/entrances/{main['id']}", headers=api.admin, json={"source": dead})
    assert r.status_code == 200, r.text
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    r = c.post(
        "/api/v1/entrances",
        headers=api.admin,
        json={"name": "side", "source": {"uri": str(broken)}},
    )
    assert r.status_code == 201, r.text

    def states() -> dict[str, str]:
        return c.get("/health").json()["entrances"]

    seen = _wait(lambda: (s := states())["main"] == "source_lost" and s["side"] == "error" and s)
    assert seen == {"main": "source_lost", "side": "error"}
    h = c.get("/health")
    assert h.status_code == 200 and h.json()["status"] == "degraded"
    problems = {p["entrance"]: p for p in h.json()["problems"]}
    assert problems["main"]["state"] == "source_lost" and problems["main"]["since"]
    assert "127.0.0.1:9" in problems["main"]["detail"]
    assert problems["side"]["state"] == "error" and problems["side"]["since"]
    status = c.get(f"/api/v1/entrances/{main['id']}", headers=api.viewer).json()["status"]
    assert status["state"] == "source_lost" and status["frames"] == 0
    assert _fps(api, "main") in (None, 0.0)

    # switched off: as configured, no longer a problem
    c.patch(f"/api/v1/entrances/{main['id']}", headers=api.admin, json={"enabled": False})
    side = next(
        e for e in c.get("/api/v1/entrances", headers=api.admin).json() if e["name"] == "side"
    )
    c.patch(f"/api/v1/entrances/{side['id']}", headers=api.admin, json={"enabled": False})
    assert c.get("/health").json() | {"liveness": None} == {
        "status": "ok",
        "database": "ok",
        "problems": [],
        "entrances": {"main": "disabled", "side": "disabled"},
        "liveness": None,
        "fleet": "off",  # no broker configured: entrances run in the server
    }


@pytest.mark.slow
def test_frames_per_second_drop_to_zero_when_the_video_ends(
    make_api, tmp_path: Path, hopper: np.ndarray
) -> None:
    api: Api = make_api(run_entrances=True)
    c = api.client
    video = walk_up_video(tmp_path / "visit.avi", hopper, frames=75)  # 5 s at 15 fps
    main = c.get("/api/v1/entrances", headers=api.admin).json()[0]
    r = c.patch(
        f"/api/v1/entrances/{main['id']}",
        headers=api.admin,
        json={"source": {"uri": str(video), "pace": "realtime"}, "liveness": {"checks": []}},
    )
    assert r.status_code == 200, r.text
    assert _wait(lambda: (_fps(api, "main") or 0) > 0)  # measured while it plays
    status = api.state.entrances.wait(main["id"], timeout=120)
    assert status.state == "ended" and status.frames > 0 and status.fps == 0
    assert _fps(api, "main") == 0.0
    h = c.get("/health").json()
    assert h["status"] == "degraded" and h["problems"][0]["state"] == "ended"
