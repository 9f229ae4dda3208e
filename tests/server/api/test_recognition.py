"""1:N and 1:1 for integrations (`/api/v1/identify`, `/api/v1/verify`): bad input is a 4xx."""

from __future__ import annotations

import numpy as np

from tests.server.conftest import Api, jpeg


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
