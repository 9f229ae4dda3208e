"""The server's own entrance runtime: a resident enrolled through the API is admitted from a
video file, and the event (with its best shot) reaches the event API and the metrics; with
the default liveness (the motion check, built as `facegate run` builds it) the same video,
a photo carried up to the camera, is refused."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from facegate.demo import demo_images
from facegate.server.access_policy import DbAccessPolicy
from facegate.server.db.models import AccessRuleRow
from facegate.server.schemas import EntranceStatus
from tests.server.conftest import Api, walk_up_video


def wait_for(fn, timeout: float = 120.0, every: float = 0.5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s")


def enrol_and_visit(
    api: Api, tmp_path: Path, hopper: np.ndarray, **settings: object
) -> tuple[dict, EntranceStatus]:
    """Enrol Grace Hopper through the API, point `main` at a video of her photo carried up
    to the camera, and wait for the runtime to play it to the end."""
    c = api.client
    res = c.post("/api/v1/residents", headers=api.admin, json={"name": "Grace Hopper"}).json()
    r = c.post(
        f"/api/v1/residents/{res['id']}/photos",
        headers=api.admin,
        files={"file": ("g.jpg", demo_images()[0], "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    video = walk_up_video(tmp_path / "visit.avi", hopper)
    main = c.get("/api/v1/entrances", headers=api.admin).json()[0]
    r = c.patch(
        f"/api/v1/entrances/{main['id']}",
        headers=api.admin,
        json={
            "source": {"uri": str(video), "pace": "fast"},
            # "fast": every frame, however loaded the CPU. The server's part is
            # tested here, not the second recogniser's (whose shipped calibration
            # may be absent): decide on the fast model alone
            "decision": {"confirm": False},
            **settings,
        },
    )
    assert r.status_code == 200, r.text
    status = api.state.entrances.wait(main["id"], timeout=240)
    assert status.state == "ended", status
    return res, status


@pytest.mark.slow
def test_default_liveness_refuses_a_photo_carried_to_the_camera(
    make_api, tmp_path: Path, hopper: np.ndarray
) -> None:
    api: Api = make_api(run_entrances=True)
    res, status = enrol_and_visit(api, tmp_path, hopper)
    assert status.frames > 0 and "open" not in status.events, status
    assert status.liveness is not None and status.liveness.described_by == "runtime"
    assert status.liveness.checks == ["motion"] and not status.liveness.passive
    events = api.client.get(f"/api/v1/events?resident_id={res['id']}", headers=api.viewer).json()[
        "items"
    ]
    assert [e["decision"] for e in events] == ["deny"]
    live = events[0]["liveness"]
    assert live["live"] is not True and "motion" in live["evidence"], live
    health = api.client.get("/health").json()["liveness"]["main"]
    assert health["described_by"] == "runtime" and health["passive"] is False
    assert "no passive PAD model configured" in health["note"]


@pytest.mark.slow
def test_runtime_admits_an_enrolled_resident_from_a_video(
    make_api, db_url: str, tmp_path: Path, hopper: np.ndarray
) -> None:
    api: Api = make_api(db_url, run_entrances=True)
    c = api.client
    # a photo carried up to the camera is what the motion check refuses (see above): this
    # test is about the server's part, so liveness is switched off, and /health says so
    res, status = enrol_and_visit(api, tmp_path, hopper, liveness={"checks": []})
    assert status.frames > 0 and status.events.get("open") == 1, status
    assert c.get("/health").json()["liveness"]["main"]["summary"].startswith("liveness: OFF")

    events = c.get("/api/v1/events?decision=open", headers=api.viewer).json()["items"]
    assert len(events) == 1
    ev = events[0]
    assert ev["person"] == "Grace Hopper" and ev["person_id"] == res["id"]
    assert ev["entrance"] == "main" and ev["time_to_open_ms"] > 0
    assert ev["scores"]["sface"] > 0.5
    by_resident = c.get(f"/api/v1/events?resident_id={res['id']}", headers=api.viewer).json()
    assert [e["id"] for e in by_resident["items"]] == [ev["id"]]
    assert c.get("/api/v1/events?entrance=elsewhere", headers=api.viewer).json()["items"] == []
    snap = c.get(ev["snapshot_url"], headers=api.viewer)
    assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
    assert c.get("/api/v1/snapshots/2026/01/01/../../x.jpg", headers=api.viewer).status_code == 404
    text = c.get("/metrics", headers=api.viewer).text
    assert 'facegate_events_total{decision="open",entrance="main"} 1.0' in text
    assert 'facegate_time_to_open_seconds_count{entrance="main"} 1.0' in text


def test_access_policy_reads_rules_residents_and_persists_guest_pass_uses(
    api: Api,
) -> None:
    from datetime import UTC, datetime

    c = api.client
    ann = c.post("/api/v1/residents", headers=api.admin, json={"name": "Ann Lee"}).json()
    c.post("/api/v1/residents", headers=api.admin, json={"name": "Old Tenant", "active": False})
    policy = DbAccessPolicy(api.state.sessions)
    now = datetime.now(UTC)
    assert policy.check("Ann Lee", "main", now).allowed  # no rules: every resident
    v = policy.check("Old Tenant", "main", now)
    assert not v.allowed and "not an active resident" in v.reason
    r = c.post(
        "/api/v1/rules",
        headers=api.admin,
        json={"name": "pass", "resident_ids": [ann["id"]], "max_uses": 2},
    )
    assert r.status_code == 201
    assert policy.refresh()
    v = policy.check("Ann Lee", "main", now)
    assert v.allowed and v.rule_index == 0
    policy.record_use(0)
    policy.record_use(0)
    v = policy.check("Ann Lee", "main", now)
    assert not v.allowed and "used up (2 of 2)" in v.reason
    with api.state.sessions() as s:
        assert s.scalar(select(AccessRuleRow.uses)) == 2  # survives a restart
    fresh = DbAccessPolicy(api.state.sessions)
    assert not fresh.check("Ann Lee", "main", now).allowed
    assert c.get("/api/v1/rules", headers=api.viewer).json()[0]["uses"] == 2


def test_locked_sqlite_database_is_503_and_nothing_is_lost(make_api, tmp_path: Path) -> None:
    api: Api = make_api(db_timeout_s=0.3)
    headers = api.operator
    db = sqlite3.connect(tmp_path / "server.sqlite", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")  # another writer holds the lock
    try:
        r = api.client.post("/api/v1/residents", headers=headers, json={"name": "Ann Lee"})
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "database_unavailable"
        assert "locked" in r.json()["message"] and "nothing was changed" in r.json()["message"]
    finally:
        db.execute("ROLLBACK")
        db.close()
    r = api.client.post("/api/v1/residents", headers=headers, json={"name": "Ann Lee"})
    assert r.status_code == 201
    names = [p["name"] for p in api.client.get("/api/v1/residents", headers=headers).json()]
    assert names == ["Ann Lee"]


@pytest.mark.slow
def test_restart_is_not_held_up_by_a_camera_that_is_away(make_api) -> None:
    api: Api = make_api(run_entrances=True)
    c = api.client
    main = c.get("/api/v1/entrances", headers=api.admin).json()[0]
    r = c.patch(
        f"/api/v1/entrances/{main['id']}",
        headers=api.admin,
        json={"source": {"uri": "/dev/video9", "reconnect_max_s": 30}},
    )
    assert r.status_code == 200, r.text
    wait_for(lambda: api.state.entrances.status(main["id"]).state == "running", 120, 0.2)
    time.sleep(1.0)  # the runtime now waits in read() for a frame that never comes

    started = time.monotonic()
    r = c.patch(f"/api/v1/entrances/{main['id']}", headers=api.admin, json={"name": "front"})
    assert r.status_code == 200 and r.json()["name"] == "front"
    assert time.monotonic() - started < 5.0  # not the 10 s stop timeout
    alive = [t.name for t in threading.enumerate() if t.name.startswith("entrance-")]
    assert alive == ["entrance-front"]  # the old runtime thread has ended
