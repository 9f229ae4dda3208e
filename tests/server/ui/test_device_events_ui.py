"""Events sent up by edge devices on the web UI, on SQLite and PostgreSQL: the Events
page's table and the dashboard's last events list them with the journal's, merged in
time order and naming their device; the entrance card's last visitor is the newest of
both; a device's best shot opens from the page."""

from __future__ import annotations

import re
import time
import uuid

from facegate.runtime.events import Decision, DoorEvent
from tests.server.conftest import ADMIN_PASSWORD, Api

JPEG = b"\xff\xd8\xff\xe0" + b"device best shot" * 8


def _enrolled_device(api: Api, name: str = "door-7") -> dict:
    ents = {
        e["name"]: e["id"] for e in api.client.get("/api/v1/entrances", headers=api.admin).json()
    }
    r = api.client.post(
        "/api/v1/devices", headers=api.admin, json={"name": name, "entrances": [ents["main"]]}
    )
    assert r.status_code == 201, r.text
    r = api.client.post("/api/v1/device/enrol", json={"token": r.json()["token"]})
    assert r.status_code == 200, r.text
    return r.json()


def _send(api: Api, dev: dict, *events: dict) -> None:
    bearer = {"Authorization": f"Bearer {dev['secret']}"}
    batch = {"device": dev["device_id"], "events": list(events)}
    r = api.client.post("/api/v1/device/events", json=batch, headers=bearer)
    assert r.status_code == 200, r.text


def _event(t: float, decision: str, person: str | None = None, **extra) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "entrance": "main",
        "time": t,
        "decision": decision,
        "person": person,
        "reason": f"{person} matched" if person else "no resident matched",
        **extra,
    }


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="event">(.*?)</tr>', html, re.S)


def test_events_page_lists_device_events_with_their_device_and_best_shot(api: Api) -> None:
    dev = _enrolled_device(api)
    t0 = time.time() - 600
    api.state.journal.record(DoorEvent(Decision.UNKNOWN, "main", "journal visitor", t0))
    opened = _event(t0 + 10, "open", "Ann Lee", snapshot=True)
    _send(api, dev, opened, _event(t0 + 20, "unknown"))
    bearer = {"Authorization": f"Bearer {dev['secret']}", "Content-Type": "image/jpeg"}
    r = api.client.put(
        f"/api/v1/device/events/{opened['id']}/snapshot", content=JPEG, headers=bearer
    )
    assert r.status_code == 204, r.text
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get("/events")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert len(rows) == 3
    # newest first, the device's two and the journal's one in one order
    assert "Device: <bdi>door-7</bdi>" in rows[0] and "Unknown visitor" in rows[0]
    assert "Device: <bdi>door-7</bdi>" in rows[1] and "Ann Lee" in rows[1]
    assert "door-7" not in rows[2] and "journal visitor" in rows[2]
    # the device's best shot opens from the page, for a signed-in browser
    link = re.search(r'<a href="(/api/v1/devices/events/[0-9a-f]{32}/snapshot)"', rows[1])
    assert link, rows[1]
    shot = ui.get(link.group(1))
    assert shot.status_code == 200 and shot.content == JPEG
    assert shot.headers["content-type"] == "image/jpeg"
    # the filters reach the device events too
    only = _rows(ui.get("/events", params={"decision": "open"}).text)
    assert len(only) == 1 and "door-7" in only[0]
    # in Russian the device is named in Russian
    ru = ui.get("/events", headers={"Accept-Language": "ru"}).text
    assert "Устройство: <bdi>door-7</bdi>" in ru


def test_dashboard_shows_device_events_and_the_newest_visitor_of_both(api: Api) -> None:
    dev = _enrolled_device(api)
    now = time.time()
    api.state.journal.record(
        DoorEvent(Decision.OPEN, "main", "Bob Ray matched", now - 30, person="Bob Ray")
    )
    ui = api.browser("admin", ADMIN_PASSWORD)
    main = next(c for c in ui.get("/dashboard.json").json()["cards"] if c["name"] == "main")
    assert main["last"]["device"] is None and "Bob Ray" in main["last"]["text"]
    # a newer visit at the device's door: the card's last visitor names the device
    visit = _event(now - 5, "deny", "Ann Lee", snapshot=True)
    _send(api, dev, visit, _event(now - 3, "source_lost"))  # not a visit
    bearer = {"Authorization": f"Bearer {dev['secret']}", "Content-Type": "image/jpeg"}
    api.client.put(f"/api/v1/device/events/{visit['id']}/snapshot", content=JPEG, headers=bearer)
    body = ui.get("/dashboard.json").json()
    main = next(c for c in body["cards"] if c["name"] == "main")
    assert main["last"]["device"] == "door-7" and "Ann Lee" in main["last"]["text"]
    assert main["last"]["snapshot_url"] == f"/api/v1/devices/events/{visit['id']}/snapshot"
    assert (main["opens"], main["denials"]) == (1, 1)
    # the last events: the device's two and the journal's one, newest first
    rows = _rows(body["events_html"])
    assert len(rows) == 3 and "door-7" in rows[0] and "door-7" in rows[1]
    assert "Bob Ray" in rows[2] and "door-7" not in rows[2]
    page = ui.get("/").text
    assert re.search(r'class="last-device muted"[^>]*>Device: <bdi>door-7</bdi>', page)
    # a journal visit newer than the device's is the last visitor again
    api.state.journal.record(
        DoorEvent(Decision.OPEN, "main", "Bob Ray matched", now - 1, person="Bob Ray")
    )
    main = next(c for c in ui.get("/dashboard.json").json()["cards"] if c["name"] == "main")
    assert main["last"]["device"] is None and "Bob Ray" in main["last"]["text"]
