"""Entrances (`/api/v1/entrances`): settings checked against what the runtime can run,
liveness defaults from the config, opening by hand."""

from __future__ import annotations

from pathlib import Path

from facegate.runtime.liveness import NoLiveness
from tests.server.conftest import Api


def test_entrances_validate_settings_and_open_by_hand(api: Api, tmp_path: Path) -> None:
    c = api.client
    video = tmp_path / "visit.mp4"
    video.write_bytes(b"")  # exists; whether it plays is the runtime's business
    r = c.post(  # admins: any path (operators: the media folders, see test_allowed.py)
        "/api/v1/entrances",
        headers=api.admin,
        json={"name": "garage", "source": {"uri": "/nonexistent.mp4", "pace": "fast"}},
    )
    assert r.status_code == 400 and r.json()["error"] == "bad_source"
    assert "no such file, folder or camera on the server: /nonexistent.mp4" in r.json()["message"]
    r = c.post(
        "/api/v1/entrances", headers=api.operator, json={"name": "garage", "decision": {"fmr": 0.3}}
    )
    assert r.status_code == 400 and r.json()["error"] == "bad_threshold"
    assert "calibrated for FMR" in r.json()["message"]
    r = c.post(
        "/api/v1/entrances",
        headers=api.admin,
        json={
            "name": "garage",
            "source": {"uri": str(video), "pace": "fast"},
            "door": {"kind": "webhook", "url": "http://127.0.0.1:9/open", "pulse_s": 2},
            "decision": {"fmr": 1e-4},
        },
    )
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    assert r.json()["door"]["kind"] == "webhook" and r.json()["decision"]["fmr"] == 1e-4
    r = c.post(
        "/api/v1/entrances",
        headers=api.operator,
        json={"name": "cam", "source": {"uri": "rtsp://cam.local/stream"}},
    )
    assert r.status_code == 201  # a camera may be offline for now: the runtime reconnects
    r = c.patch(f"/api/v1/entrances/{eid}", headers=api.operator, json={"source": {"uri": " "}})
    assert r.status_code == 400 and "blank" in r.json()["message"]
    bad = c.post(
        "/api/v1/entrances", headers=api.operator, json={"name": "x", "door": {"kind": "teleport"}}
    )
    assert bad.status_code == 422
    bad = c.post(
        "/api/v1/entrances", headers=api.operator, json={"name": "y", "decision": {"fmr": 2}}
    )
    assert bad.status_code == 422
    body = bad.json()  # one error shape everywhere: FastAPI's own validation too
    assert body["error"] == "validation_error" and "decision.fmr" in body["message"]
    assert body["detail"][0]["loc"][-1] == "fmr"
    assert (
        c.post("/api/v1/entrances", headers=api.operator, json={"name": "garage"}).status_code
        == 409
    )
    r = c.patch(
        f"/api/v1/entrances/{eid}",
        headers=api.operator,
        json={"clear_source": True, "door": {"kind": "log"}},
    )
    assert r.status_code == 200 and r.json()["source"] is None
    assert r.json()["status"]["state"] == "no_source"

    main = c.get("/api/v1/entrances", headers=api.viewer).json()[0]
    r = c.post(
        f"/api/v1/entrances/{main['id']}/open", headers=api.viewer, json={"reason": "parcel"}
    )
    assert r.status_code == 403
    r = c.post(
        f"/api/v1/entrances/{main['id']}/open",
        headers=api.operator,
        json={"reason": "parcel delivery"},
    )
    assert r.status_code == 200 and r.json()["queued"] is True
    ev = c.get("/api/v1/events?decision=open", headers=api.viewer).json()["items"]
    assert ev[0]["id"] == r.json()["event_id"] and "parcel delivery" in ev[0]["reason"]
    assert ev[0]["reason"].startswith("manual open by user:oper")
    audit = c.get("/api/v1/audit?action=door_open", headers=api.viewer).json()
    assert audit[0]["actor"] == "user:oper" and audit[0]["detail"]["reason"] == "parcel delivery"
    assert c.delete(f"/api/v1/entrances/{eid}", headers=api.operator).status_code == 204
    assert c.get(f"/api/v1/entrances/{eid}", headers=api.viewer).status_code == 404


def test_entrance_liveness_is_stored_defaults_to_the_config_and_shows_in_health(
    make_api, db_url: str, tmp_path: Path
) -> None:
    api = make_api(
        db_url, runtime={"liveness": {"on_undecided": "challenge", "challenge": {"kind": "turn"}}}
    )
    c = api.client
    main = c.get("/api/v1/entrances", headers=api.viewer).json()[0]
    assert main["liveness"]["on_undecided"] == "challenge"  # first start: from `runtime:`
    r = c.post("/api/v1/entrances", headers=api.operator, json={"name": "side"})
    assert r.status_code == 201 and r.json()["liveness"] == main["liveness"]
    r = c.post(
        "/api/v1/entrances",
        headers=api.operator,
        json={"name": "garage", "liveness": {"checks": []}},
    )
    assert r.status_code == 201 and r.json()["liveness"]["checks"] == []
    r = c.post(
        "/api/v1/entrances",
        headers=api.operator,
        json={"name": "vault", "liveness": {"checks": ["passive"]}},
    )
    # the passive model ships with FaceGate (issue 14): no path needed
    assert r.status_code == 201 and r.json()["liveness"]["checks"] == ["passive"]
    r = c.post(
        "/api/v1/entrances",
        headers=api.admin,
        json={"name": "vault2", "liveness": {"model": str(tmp_path / "none.onnx")}},
    )
    assert r.status_code == 400 and r.json()["error"] == "bad_liveness"

    health = c.get("/health").json()["liveness"]
    assert health["main"]["challenge"] == "turn" and health["side"]["challenge"] == "turn"
    assert health["main"]["passive"] is True  # the shipped model, by default
    assert health["main"]["passive_model"] == "minifasnet (shipped)"
    off = health["garage"]
    assert off["checks"] == [] and off["passive"] is False and off["note"] == NoLiveness.NOTE
    assert off["summary"].startswith("liveness: OFF")
    r = c.patch(
        f"/api/v1/entrances/{main['id']}", headers=api.operator, json={"liveness": {"checks": []}}
    )
    assert r.status_code == 200 and r.json()["status"]["liveness"]["checks"] == []
    assert c.get("/health").json()["liveness"]["main"]["checks"] == []
    spec = c.get("/openapi.json").json()["components"]["schemas"]
    assert "liveness" in spec["HealthOut"]["properties"]
    assert {"passive", "note", "checks"} <= set(spec["LivenessStatus"]["required"])
