"""The REST API on SQLite and PostgreSQL: auth and roles, residents and photo enrolment with
its rejection reasons, identify/verify, entrances, rules, events, audit, health, metrics."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.demo import demo_images
from facegate.runtime.liveness import NO_MODEL_NOTE, NoLiveness
from tests.server.conftest import Api, jpeg, record_events


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
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


# -- auth and roles --------------------------------------------------------------------------


def test_health_needs_no_sign_in_and_everything_else_does(api: Api) -> None:
    h = api.client.get("/health")
    assert h.status_code == 200 and h.json()["status"] == "ok"
    assert h.json()["entrances"] == {"main": "no_source"}  # the default entrance exists
    live = h.json()["liveness"]["main"]  # the default: the motion check, and no PAD model
    assert live["checks"] == ["motion"] and live["passive"] is False
    assert live["note"] == NO_MODEL_NOTE and "no passive PAD model" in live["summary"]
    assert live["described_by"] == "config"  # no runtime is running
    for path in ("/api/v1/residents", "/api/v1/events", "/api/v1/entrances", "/metrics"):
        r = api.client.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"] == "unauthorized"


def test_bad_password_and_bad_token_are_401(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert r.status_code == 401 and r.json()["error"] == "bad_credentials"
    r = api.client.get("/api/v1/residents", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and "sign in again" in r.json()["message"]


def test_roles_viewer_reads_operator_changes_admin_manages_users(api: Api) -> None:
    c = api.client
    assert c.get("/api/v1/residents", headers=api.viewer).status_code == 200
    r = c.post("/api/v1/residents", headers=api.viewer, json={"name": "X"})
    assert r.status_code == 403 and "viewer may not" in r.json()["message"]
    assert c.post("/api/v1/residents", headers=api.operator, json={"name": "X"}).status_code == 201
    for method, path in (("get", "/api/v1/users"), ("get", "/api/v1/api-keys")):
        assert getattr(c, method)(path, headers=api.operator).status_code == 403
    r = c.post(
        "/api/v1/users",
        headers=api.operator,
        json={"username": "eve", "password": "password1", "role": "admin"},
    )
    assert r.status_code == 403
    assert c.get("/api/v1/users", headers=api.admin).status_code == 200
    assert c.get("/api/v1/auth/me", headers=api.viewer).json() == {
        "name": "user:view",
        "role": "viewer",
    }


def test_api_key_header_and_revocation(api: Api) -> None:
    c = api.client
    r = c.post("/api/v1/api-keys", headers=api.admin, json={"name": "door-app", "role": "viewer"})
    assert r.status_code == 201
    key, kid = r.json()["key"], r.json()["id"]
    assert c.get("/api/v1/residents", headers={"X-API-Key": key}).status_code == 200
    assert c.get("/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert (
        c.post("/api/v1/residents", headers={"X-API-Key": key}, json={"name": "Y"}).status_code
        == 403
    )
    assert c.get("/api/v1/api-keys", headers=api.admin).json()[0]["prefix"] == key[:8]
    assert c.delete(f"/api/v1/api-keys/{kid}", headers=api.admin).status_code == 204
    assert c.get("/api/v1/residents", headers={"X-API-Key": key}).status_code == 401


def test_last_admin_cannot_be_removed_and_password_change_ends_sessions(api: Api) -> None:
    c = api.client
    viewer = api.viewer  # creates the user "view"
    admin_id = next(
        u["id"]
        for u in c.get("/api/v1/users", headers=api.admin).json()
        if u["username"] == "admin"
    )
    r = c.delete(f"/api/v1/users/{admin_id}", headers=api.admin)
    assert r.status_code == 409 and r.json()["error"] == "last_admin"
    view_id = next(
        u["id"] for u in c.get("/api/v1/users", headers=api.admin).json() if u["username"] == "view"
    )
    r = c.patch(f"/api/v1/users/{view_id}", headers=api.admin, json={"password": "new-pass-9"})
    assert r.status_code == 200
    assert c.get("/api/v1/residents", headers=viewer).status_code == 401
    api.login("view", "new-pass-9")


def test_logout_revokes_the_token(api: Api) -> None:
    assert api.operator  # creates the user "oper"
    h = api.login("oper", "oper-password")
    assert api.client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert api.client.get("/api/v1/residents", headers=h).status_code == 401


# -- residents and photos ------------------------------------------------------------------


def test_resident_crud_search_and_duplicates(api: Api) -> None:
    c = api.client
    a = add_resident(api, "Ann Lee")
    add_resident(api, "Bob Stone", apartment="7C")
    r = c.post("/api/v1/residents", headers=api.operator, json={"name": "ann lee"})
    assert r.status_code == 409 and r.json()["error"] == "duplicate_name"
    names = [p["name"] for p in c.get("/api/v1/residents?q=7c", headers=api.viewer).json()]
    assert names == ["Bob Stone"]
    r = c.patch(
        f"/api/v1/residents/{a['id']}",
        headers=api.operator,
        json={"notes": "has a dog", "active": False},
    )
    assert r.status_code == 200 and r.json()["notes"] == "has a dog" and not r.json()["active"]
    r = c.patch(f"/api/v1/residents/{a['id']}", headers=api.operator, json={"name": "Bob Stone"})
    assert r.status_code == 409
    r = c.post(
        "/api/v1/residents",
        headers=api.operator,
        json={
            "name": "Z",
            "valid_from": "2026-02-01T00:00:00",
            "valid_until": "2026-01-01T00:00:00",
        },
    )
    assert r.status_code == 422 and "valid_until" in r.text
    assert c.delete(f"/api/v1/residents/{a['id']}", headers=api.operator).status_code == 204
    r = c.get(f"/api/v1/residents/{a['id']}", headers=api.viewer)
    assert r.status_code == 404 and r.json()["message"] == f"no resident with id {a['id']}"
    assert c.get("/api/v1/residents/99999999999", headers=api.viewer).status_code == 422


def test_photo_enrolment_accepts_and_feeds_identify(api: Api, photos: dict) -> None:
    res = add_resident(api)
    r = upload(api, res["id"], photos["hopper"], "grace.jpg")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["photo"]["filename"] == "grace.jpg" and body["resident"]["photos"] == 1
    assert body["sharpness"] > 30 and set(body["models"]) == {"sface", "dlib"}
    img = api.client.get(
        f"/api/v1/residents/{res['id']}/photos/{body['photo']['id']}/image", headers=api.viewer
    )
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(img.content, np.uint8), cv2.IMREAD_COLOR) is not None

    r = api.client.post(
        "/api/v1/identify",
        headers=api.viewer,
        files={"file": ("v.jpg", photos["again"], "image/jpeg")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["person"] == {"id": res["id"], "name": "Grace Hopper"}
    assert r.json()["score"] > r.json()["threshold"]
    r = api.client.post(
        "/api/v1/identify",
        headers=api.viewer,
        files={"file": ("s.png", photos["stranger"], "image/png")},
    )
    assert r.status_code == 200 and r.json()["person"] is None
    assert r.json()["score"] < r.json()["threshold"]


def test_photo_rejections_name_the_reason_and_store_nothing(
    api: Api, photos: dict, hopper: np.ndarray, two_people: np.ndarray
) -> None:
    res = add_resident(api)
    small = cv2.resize(hopper, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(hopper, (0, 0), 6)
    cases = {
        "bad_file": b"this is not a picture",
        "no_face": jpeg(np.full((300, 300, 3), 128, np.uint8)),
        "several_faces": jpeg(two_people),
        "too_small": jpeg(small),
        "too_blurry": jpeg(blurred),
    }
    for reason, data in cases.items():
        r = upload(api, res["id"], data, f"{reason}.jpg")
        assert r.status_code == 422, (reason, r.text)
        body = r.json()
        assert body["reason"] == reason, body
        assert body["message"].startswith(f"{reason}.jpg:"), body
    truncated = photos["hopper"][: len(photos["hopper"]) // 3]
    r = upload(api, res["id"], truncated, "cut.jpg")
    assert r.status_code == 422 and r.json()["reason"] == "bad_file"
    assert "truncated" in r.json()["message"]
    r = api.client.get(f"/api/v1/residents/{res['id']}", headers=api.viewer)
    assert r.json()["photos"] == 0 and r.json()["photo_list"] == []
    assert api.state.gallery.templates("sface").matrix.shape[0] == 0
    assert upload(api, 424242, photos["hopper"]).status_code == 404


def test_upload_limit_is_413(make_api, photos: dict) -> None:
    api = make_api(max_upload_mb=0.01)
    res = add_resident(api)
    r = upload(api, res["id"], photos["hopper"])
    assert r.status_code == 413 and "larger than" in r.json()["message"]


def test_deleting_a_photo_or_resident_removes_templates(api: Api, photos: dict) -> None:
    res = add_resident(api)
    p1 = upload(api, res["id"], photos["hopper"]).json()["photo"]["id"]
    upload(api, res["id"], photos["again"])
    g = api.state.gallery
    assert g.templates("sface").matrix.shape[0] == 2
    v0 = g.data_version()
    r = api.client.delete(f"/api/v1/residents/{res['id']}/photos/{p1}", headers=api.operator)
    assert r.status_code == 204
    assert g.templates("sface").matrix.shape[0] == 1 and g.data_version() > v0
    api.client.delete(f"/api/v1/residents/{res['id']}", headers=api.operator)
    assert g.templates("sface").matrix.shape[0] == 0 and g.templates("dlib").person_ids.size == 0


def test_identify_and_verify_bad_input_is_4xx(api: Api, photos: dict) -> None:
    c, h = api.client, api.viewer
    blank = jpeg(np.full((200, 200, 3), 90, np.uint8))
    r = c.post("/api/v1/identify", headers=h, files={"file": ("b.jpg", blank, "image/jpeg")})
    assert r.status_code == 422 and r.json()["error"] == "no_face"
    r = c.post("/api/v1/identify", headers=h, files={"file": ("e.jpg", b"", "image/jpeg")})
    assert r.status_code == 400 and "empty" in r.json()["message"]
    r = c.post("/api/v1/identify", headers=h)
    assert r.status_code == 422  # no file field at all
    r = c.post(
        "/api/v1/verify",
        headers=h,
        files={
            "file1": ("a.jpg", photos["hopper"], "image/jpeg"),
            "file2": ("b.jpg", photos["stranger"], "image/png"),
        },
    )
    assert r.status_code == 200 and r.json()["same"] is False
    r = c.post(
        "/api/v1/verify",
        headers=h,
        files={
            "file1": ("a.jpg", photos["hopper"], "image/jpeg"),
            "file2": ("b.jpg", b"GIF89a....", "image/gif"),
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "bad_image"


# -- entrances, rules, events, audit ----------------------------------------------------------


def test_entrances_validate_settings_and_open_by_hand(api: Api, tmp_path: Path) -> None:
    c = api.client
    video = tmp_path / "visit.mp4"
    video.write_bytes(b"")  # exists; whether it plays is the runtime's business
    r = c.post(
        "/api/v1/entrances",
        headers=api.operator,
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
        headers=api.operator,
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
    assert r.status_code == 422 and "needs liveness.model" in r.text
    r = c.post(
        "/api/v1/entrances",
        headers=api.operator,
        json={"name": "vault", "liveness": {"model": str(tmp_path / "none.onnx")}},
    )
    assert r.status_code == 400 and r.json()["error"] == "bad_liveness"

    health = c.get("/health").json()["liveness"]
    assert health["main"]["challenge"] == "turn" and health["side"]["challenge"] == "turn"
    assert health["main"]["passive"] is False and "no passive PAD model" in health["main"]["note"]
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


def test_events_come_a_page_at_a_time_without_gaps_or_repeats(api: Api) -> None:
    c, h = api.client, api.viewer
    start = time.time() - 3600
    record_events(api, 11, start)  # times tie in threes: pages must still not overlap
    record_events(api, 4, start, entrance="garage")
    everything = c.get("/api/v1/events?entrance=main&limit=1000", headers=h).json()
    assert everything["next"] is None and everything["next_cursor"] is None
    newest_first = [e["id"] for e in everything["items"]]
    assert len(newest_first) == 11

    seen, url, pages = [], "/api/v1/events?entrance=main&limit=2", 0
    while url:
        page = c.get(url, headers=h).json()
        assert page["limit"] == 2 and len(page["items"]) <= 2
        assert {e["entrance"] for e in page["items"]} == {"main"}  # the filter is kept
        seen += [e["id"] for e in page["items"]]
        url, pages = page["next"], pages + 1
        if pages == 1:  # a new event arriving meanwhile does not shift the older pages
            record_events(api, 1, time.time(), tie_every=0)
    assert seen == newest_first and pages == 6

    page = c.get("/api/v1/events?entrance=main&limit=4", headers=h).json()
    again = c.get(
        f"/api/v1/events?entrance=main&limit=4&cursor={page['next_cursor']}", headers=h
    ).json()
    assert [e["id"] for e in again["items"]] == newest_first[3:7]  # the new one is first
    r = c.get("/api/v1/events?cursor=not-a-cursor", headers=h)
    assert r.status_code == 400 and r.json()["error"] == "bad_cursor"
    assert c.get("/api/v1/events?limit=1001", headers=h).status_code == 422
    assert c.get("/api/v1/events?limit=0", headers=h).status_code == 422


def test_rules_and_guest_passes(api: Api) -> None:
    c = api.client
    ann = add_resident(api, "Ann Lee")
    main = c.get("/api/v1/entrances", headers=api.viewer).json()[0]
    r = c.post(
        "/api/v1/rules",
        headers=api.operator,
        json={
            "name": "cleaning",
            "resident_ids": [ann["id"]],
            "entrance_ids": [main["id"]],
            "windows": [{"days": ["mon-fri"], "start": "09:00", "end": "12:00"}],
        },
    )
    assert r.status_code == 201 and r.json()["kind"] == "rule"
    r = c.post(
        "/api/v1/rules",
        headers=api.operator,
        json={
            "name": "visitor",
            "resident_ids": [ann["id"]],
            "max_uses": 3,
            "valid_until": "2099-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 201 and r.json()["kind"] == "guest_pass" and r.json()["uses"] == 0
    rid = r.json()["id"]
    bad = c.post("/api/v1/rules", headers=api.operator, json={"resident_ids": [987654]})
    assert bad.status_code == 400 and "no resident with id 987654" in bad.json()["message"]
    bad = c.post(
        "/api/v1/rules",
        headers=api.operator,
        json={"windows": [{"start": "25:00", "end": "26:00"}]},
    )
    assert bad.status_code == 422
    r = c.put(
        f"/api/v1/rules/{rid}",
        headers=api.operator,
        json={"name": "visitor", "resident_ids": [ann["id"]], "max_uses": 5},
    )
    assert r.status_code == 200 and r.json()["max_uses"] == 5
    assert len(c.get("/api/v1/rules", headers=api.viewer).json()) == 2
    assert c.delete(f"/api/v1/rules/{rid}", headers=api.operator).status_code == 204
    actions = [a["action"] for a in c.get("/api/v1/audit", headers=api.viewer).json()]
    assert {"rule_create", "rule_update", "rule_delete", "resident_create"} <= set(actions)


def test_metrics_are_prometheus_text(api: Api) -> None:
    main = api.client.get("/api/v1/entrances", headers=api.viewer).json()[0]
    api.client.post(
        f"/api/v1/entrances/{main['id']}/open", headers=api.operator, json={"reason": "test"}
    )
    text = api.client.get("/metrics", headers=api.viewer).text
    assert 'facegate_events_total{decision="open",entrance="main"} 1.0' in text
    assert "facegate_time_to_open_seconds" in text and "facegate_frames_per_second" in text


def test_openapi_lists_the_stable_paths(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path in (
        "/api/v1/auth/token",
        "/api/v1/residents",
        "/api/v1/residents/{resident_id}/photos",
        "/api/v1/identify",
        "/api/v1/verify",
        "/api/v1/events",
        "/health",
    ):
        assert path in spec["paths"], path
    schemes = spec["components"]["securitySchemes"]
    assert {"OAuth2PasswordBearer", "APIKeyHeader"} <= set(schemes)
    assert api.client.get("/docs").status_code == 200
