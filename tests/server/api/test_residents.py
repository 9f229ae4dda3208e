"""Residents and photo enrolment with its rejection reasons (`/api/v1/residents`), on SQLite
and PostgreSQL."""

from __future__ import annotations

import cv2
import numpy as np

from tests.server.conftest import Api, add_resident, jpeg, upload


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
    assert body["sharpness"] > 30 and set(body["models"]) == {"sface", "reid"}
    img = api.client.get(
        f"/api/v1/residents/{res['id']}/photos/{body['photo']['id']}/image", headers=api.viewer
    )
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(img.content, np.uint8), cv2.IMREAD_COLOR) is not None

    r = api.client.post(
        "/api/v1/identify",
        headers=api.operator,
        files={"file": ("v.jpg", photos["again"], "image/jpeg")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["person"] == {"id": res["id"], "name": "Grace Hopper"}
    assert r.json()["score"] > r.json()["threshold"]
    r = api.client.post(
        "/api/v1/identify",
        headers=api.operator,
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
        "too_dark": jpeg(cv2.convertScaleAbs(hopper, alpha=0.15)),
        "too_bright": jpeg(cv2.convertScaleAbs(hopper, alpha=0.3, beta=215)),
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
    assert g.templates("sface").matrix.shape[0] == 0 and g.templates("reid").person_ids.size == 0


def test_a_face_of_another_resident_is_409_unless_confirmed(
    api: Api, photos: dict[str, bytes]
) -> None:
    ann, grace = add_resident(api, "Ann Lee"), add_resident(api, "Grace Hopper")
    assert upload(api, grace["id"], photos["hopper"]).status_code == 201
    r = upload(api, ann["id"], photos["again"], "again.jpg")
    assert r.status_code == 409, r.text
    assert r.json()["reason"] == "face_of_other_resident"
    assert "again.jpg" in r.json()["message"] and "Grace Hopper" in r.json()["message"]
    listed = api.client.get(f"/api/v1/residents/{ann['id']}/photos", headers=api.viewer)
    assert listed.json() == []  # nothing stored
    r = api.client.post(
        f"/api/v1/residents/{ann['id']}/photos",
        files={"file": ("again.jpg", photos["again"], "image/jpeg")},
        data={"confirm_other_resident": "true"},
        headers=api.operator,
    )
    assert r.status_code == 201, r.text
    assert any("Grace Hopper" in w for w in r.json()["warnings"])


def test_a_photo_unlike_the_residents_others_is_enrolled_with_a_warning(
    api: Api, photos: dict[str, bytes]
) -> None:
    grace = add_resident(api, "Grace Hopper")
    first = upload(api, grace["id"], photos["hopper"])
    assert first.status_code == 201 and first.json()["warnings"] == []
    r = upload(api, grace["id"], photos["stranger"], "stranger.jpg")
    assert r.status_code == 201, r.text
    [warning] = r.json()["warnings"]
    assert warning.startswith("stranger.jpg: does not look like the other photos of Grace Hopper")
