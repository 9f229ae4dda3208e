"""The residents' pages (server-rendered, through the operations the API uses): a list with
thumbnails, searched by the database and paged, a resident's page with their photos, the
rules that let them in and their events, and the bulk import form with its report."""

from __future__ import annotations

import io
import re
import zipfile

from facegate.runtime.events import Decision, DoorEvent
from tests.server.conftest import ADMIN_PASSWORD, add_resident, upload

RU = {"Accept-Language": "ru"}


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_list_search_pages_and_thumbnails(make_api, photos: dict) -> None:
    api = make_api()
    hopper = add_resident(api, "Grace Hopper", apartment="12")
    assert upload(api, hopper["id"], photos["hopper"]).status_code == 201
    for k in range(55):
        add_resident(api, f"Resident {k:02d}", apartment=f"{100 + k}")
    ui = api.browser("admin", ADMIN_PASSWORD)
    first = ui.get("/residents").text
    assert "56 residents" in first and "page 1 of 2" in first
    assert first.count('<li class="resident') == 50 and 'rel="next"' in first
    assert "Grace Hopper" in first  # G sorts before R
    thumb = re.search(r'<img class="avatar" src="([^"]+)"', first).group(1)
    assert thumb.startswith(f"/api/v1/residents/{hopper['id']}/photos/")
    assert ui.get(thumb).status_code == 200  # the cookie is enough
    second = ui.get("/residents?page_no=2").text
    assert second.count('<li class="resident') == 6 and 'rel="prev"' in second
    found = ui.get("/residents?q=12").text  # apartment 12, also 112
    assert "Grace Hopper" in found and "Resident 12" in found and "2 residents" in found
    assert "Resident 13" not in found
    assert "Никого не найдено." in ui.get("/residents?q=nobody", headers=RU).text


def test_resident_page_shows_access_and_events(make_api, photos: dict) -> None:
    api = make_api()
    res = add_resident(api, "Grace Hopper")
    upload(api, res["id"], photos["hopper"])
    api.state.journal.record(
        DoorEvent(Decision.OPEN, "main", "Grace Hopper matched", person="Grace Hopper")
    )
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get(f"/residents/{res['id']}").text
    assert "Recognised Grace Hopper; door opened" in page
    assert "every active resident may open every entrance" in page
    assert f"/api/v1/residents/{res['id']}/photos/" in page and 'id="edit-active"' in page
    rule = api.client.post(
        "/api/v1/rules", headers=api.operator, json={"name": "Staff", "resident_ids": [999]}
    )
    assert rule.status_code in (400, 404)  # an unknown resident is refused
    other = add_resident(api, "Bob Stone")
    api.client.post(
        "/api/v1/rules",
        headers=api.operator,
        json={"name": "Bob only", "resident_ids": [other["id"]]},
    )
    page = ui.get(f"/residents/{res['id']}").text
    assert "No rule names them: the door stays shut for them." in page
    api.client.post(
        "/api/v1/rules",
        headers=api.operator,
        json={"name": "Night shift", "resident_ids": [res["id"]]},
    )
    page = ui.get(f"/residents/{res['id']}", headers=RU).text
    assert "Night shift" in page and "Bob only" not in page and "Доступ" in page
    assert ui.get("/residents/424242").status_code == 404


def test_import_form_shows_the_report(make_api, photos: dict) -> None:
    api = make_api()
    ui = api.browser("admin", ADMIN_PASSWORD)
    assert 'name="csv"' in ui.get("/residents/import").text
    csv = b"name,apartment,photo\nGrace Hopper,12,hopper.jpg\nGhost,13,ghost.jpg\n"
    r = ui.post(
        "/residents/import",
        files={
            "csv": ("people.csv", csv, "text/csv"),
            "photos": ("p.zip", _zip({"hopper.jpg": photos["hopper"]}), "application/zip"),
        },
        headers=RU,
    )
    assert r.status_code == 200, r.text
    assert "добавлен 1 жилец" in r.text and "пропущена 1 строка" in r.text
    assert "фотографии нет в архиве" in r.text  # ghost.jpg, in plain words
    r = ui.post("/residents/import", files={"csv": ("x.csv", b"who\nAnn\n", "text/csv")})
    assert r.status_code == 400 and "Nothing was imported" in r.text
    assert api.viewer  # the viewer account exists
    viewer = api.browser("view", "view-password")
    r = viewer.post("/residents/import", files={"csv": ("x.csv", b"name\nAnn\n", "text/csv")})
    assert r.status_code == 403
    names = [x["name"] for x in api.client.get("/api/v1/residents", headers=api.viewer).json()]
    assert names == ["Grace Hopper"]
