"""`POST /entrances/{id}/test-camera`, `/entrances/test-camera` and `.../test-door`: thin
routes over `operations.trials`; operators only, bound by the same allow-lists as saving
a source; the door test is audited and refused for viewers."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import Api
from tests.server.operations.test_trials import astronaut_folder, decode


def test_camera_test_through_the_api(api: Api, tmp_path: Path) -> None:
    c = api.client
    media = tmp_path / "data" / "media"
    media.mkdir(parents=True, exist_ok=True)
    folder = astronaut_folder(media)
    body = {"source": {"uri": str(folder)}}
    r = c.post("/api/v1/entrances/test-camera", headers=api.operator, json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["faces"]) == 1 and decode(out["image"]).shape[1] == out["width"] == 640
    assert c.post("/api/v1/entrances/test-camera", headers=api.viewer, json=body).status_code == 403
    outside = astronaut_folder(tmp_path)  # not in server.media_dirs: operators may not
    r = c.post(
        "/api/v1/entrances/test-camera",
        headers=api.operator,
        json={"source": {"uri": str(outside)}},
    )
    assert r.status_code == 400 and r.json()["error"] == "not_allowed"
    main = c.get("/api/v1/entrances", headers=api.viewer).json()[0]
    r = c.post(f"/api/v1/entrances/{main['id']}/test-camera", headers=api.operator)
    assert r.status_code == 400 and r.json()["error"] == "bad_source"  # no camera set yet
    r = c.post(f"/api/v1/entrances/{main['id']}/test-camera", headers=api.operator, json=body)
    assert r.status_code == 200 and r.json()["taken_from"] == "source"


def test_door_test_is_audited_and_refused_for_viewers(api: Api) -> None:
    c = api.client
    main = c.get("/api/v1/entrances", headers=api.viewer).json()[0]
    url = f"/api/v1/entrances/{main['id']}/test-door"
    assert c.post(url, headers=api.viewer).status_code == 403
    assert c.post("/api/v1/entrances/999/test-door", headers=api.operator).status_code == 404
    r = c.post(url, headers=api.operator)
    assert r.status_code == 200, r.text
    assert r.json()["queued"] and r.json()["actuated"] is True
    log = c.get("/api/v1/audit?action=door_test", headers=api.admin).json()
    assert [(a["actor"], a["target"]) for a in log] == [("user:oper", f"entrance:{main['id']}")]
    events = c.get("/api/v1/events", headers=api.viewer).json()["items"]
    assert events[0]["id"] == r.json()["event_id"]
    assert events[0]["summary"] == "Opened by hand by user:oper (door test)"
