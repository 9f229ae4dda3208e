"""1:N and 1:1 for integrations (`/api/v1/identify`, `/api/v1/verify`): bad input is a 4xx."""

from __future__ import annotations

import numpy as np

from tests.server.conftest import Api, add_resident, jpeg, upload


def test_identify_and_verify_bad_input_is_4xx(api: Api, photos: dict) -> None:
    c, h = api.client, api.operator
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


def test_face_search_needs_an_operator_is_audited_and_names_nobody_below_threshold(
    api: Api, photos: dict
) -> None:
    c = api.client
    res = add_resident(api)
    assert upload(api, res["id"], photos["hopper"]).status_code == 201
    stranger = {"file": ("s.png", photos["stranger"], "image/png")}
    pair = {
        "file1": ("a.jpg", photos["hopper"], "image/jpeg"),
        "file2": ("b.jpg", photos["again"], "image/jpeg"),
    }
    assert c.post("/api/v1/identify", headers=api.viewer, files=stranger).status_code == 403
    assert c.post("/api/v1/verify", headers=api.viewer, files=pair).status_code == 403
    r = c.post("/api/v1/api-keys", headers=api.admin, json={"name": "lobby", "role": "operator"})
    key = {"X-API-Key": r.json()["key"]}

    r = c.post("/api/v1/identify", headers=key, files=stranger)
    assert r.status_code == 200, r.text
    assert r.json()["person"] is None and r.json()["candidates"] == []
    assert "Grace" not in r.text  # a non-match names nobody
    r = c.post("/api/v1/identify?include_below_threshold=true", headers=key, files=stranger)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = c.post("/api/v1/identify?include_below_threshold=true", headers=api.admin, files=stranger)
    assert r.status_code == 200
    (cand,) = r.json()["candidates"]
    assert cand["person"]["name"] == "Grace Hopper" and cand["score"] < r.json()["threshold"]
    again = {"file": ("g.jpg", photos["again"], "image/jpeg")}
    r = c.post("/api/v1/identify", headers=api.operator, files=again)
    assert r.json()["person"]["id"] == res["id"]
    assert [x["person"]["id"] for x in r.json()["candidates"]] == [res["id"]]
    assert c.post("/api/v1/verify", headers=api.operator, files=pair).json()["same"] is True

    log = c.get("/api/v1/audit?action=face_search", headers=api.admin).json()
    got = [(e["actor"], e["detail"]["endpoint"], e["detail"]["outcome"]) for e in log]
    assert sorted(got) == sorted(
        [
            ("key:lobby", "identify", "no_match"),
            ("user:admin", "identify", "no_match"),
            ("user:oper", "identify", "match"),
            ("user:oper", "verify", "same"),
        ]
    )
    assert all(len(str(e["detail"])) < 300 for e in log)  # never the image
