"""`POST /api/v1/residents/import` (multipart CSV + zip) and what the residents' list gives a
client: thumbnails (served only to a signed-in caller), search by apartment, pages."""

from __future__ import annotations

import io
import zipfile

import numpy as np

from tests.server.conftest import Api, jpeg


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _import(api: Api, csv: bytes, archive: bytes | None = None, headers=None):
    files = {"csv": ("people.csv", csv, "text/csv")}
    if archive is not None:
        files["photos"] = ("photos.zip", archive, "application/zip")
    return api.client.post("/api/v1/residents/import", files=files, headers=headers or api.operator)


def test_import_reports_every_row_and_thumbnails_need_a_sign_in(
    api: Api, photos: dict, hopper: np.ndarray
) -> None:
    archive = _zip(
        {
            "hopper.jpg": photos["hopper"],
            "collins.png": photos["stranger"],
            "wall.jpg": jpeg(np.full((300, 300, 3), 100, np.uint8)),
            "evil/../../x.jpg": photos["hopper"],
        }
    )
    csv = (
        b"name,apartment,photo\n"
        b"Grace Hopper,12A,hopper.jpg\n"
        b"Eileen Collins,14,collins.png\n"
        b"Blank Wall,15,wall.jpg\n"
        b"grace hopper,12A,\n"
        b"Eve,16,evil/../../x.jpg\n"
        b"@SUM(1+1),17,\n"
    )
    r = _import(api, csv, archive)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["added"], body["skipped"]) == (2, 4)
    verdicts = [
        (x["line"], x["status"], x["reason"], [p["reason"] for p in x["photos"]])
        for x in body["rows"]
    ]
    assert verdicts == [
        (2, "added", None, [None]),
        (3, "added", None, [None]),
        (4, "skipped", "no_photo_accepted", ["no_face"]),
        (5, "skipped", "duplicate", []),
        (6, "skipped", "no_photo_accepted", ["unsafe_name"]),
        (7, "skipped", "bad_row", []),
    ]
    # search by apartment, in any case; the thumbnail is the first photo's
    found = api.client.get("/api/v1/residents?q=12a", headers=api.viewer).json()
    assert [x["name"] for x in found] == ["Grace Hopper"]
    url = found[0]["thumbnail_url"]
    assert url and url.startswith(f"/api/v1/residents/{found[0]['id']}/photos/")
    img = api.client.get(url, headers=api.viewer)
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert img.content[:2] == b"\xff\xd8" and img.headers["cache-control"] == "no-store"
    anonymous = api.client.__class__(api.client.app)
    assert anonymous.get(url).status_code == 401
    assert anonymous.get("/residents").status_code in (303, 200)
    assert _import(api, csv, archive, headers=api.viewer).status_code == 403


def test_unusable_files_are_a_400_and_change_nothing(api: Api) -> None:
    r = _import(api, b"name\nAnn\n", b"not a zip at all")
    assert r.status_code == 400 and r.json()["error"] == "bad_import"
    assert "not a readable zip" in r.json()["message"]
    r = _import(api, "name\nJos\xe9\n".encode("latin-1"))
    assert r.status_code == 400 and "UTF-8" in r.json()["message"]
    assert api.client.get("/api/v1/residents", headers=api.viewer).json() == []
    # a CSV alone (no zip) with no photo column: residents without photos
    r = _import(api, "\ufeffимя;квартира\nАнна;5\n".encode())
    assert r.json()["added"] == 1
    assert api.client.get("/api/v1/residents?q=5", headers=api.viewer).json()[0]["name"] == "Анна"
