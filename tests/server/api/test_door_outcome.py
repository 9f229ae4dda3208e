"""An open whose door adapter failed is one event that says so (`open_failed`, with
`door.actuated: false` and the error), not a green `open` beside a separate `door_error`:
in the event API, the web UI's event log and the metrics."""

from __future__ import annotations

import time

from facegate.server.operations.event_text import describe
from tests.server.conftest import ADMIN_PASSWORD, Api


def _events(api: Api) -> list[dict]:
    return api.client.get("/api/v1/events", headers=api.viewer).json()["items"]


def _settled(api: Api, event_id: int) -> dict:
    end = time.monotonic() + 20
    while time.monotonic() < end:
        ev = next(e for e in _events(api) if e["id"] == event_id)
        if ev["door"] is not None:
            return ev
        time.sleep(0.05)
    raise AssertionError("the door's outcome never reached the event")


def test_a_manual_open_whose_door_failed_is_journalled_as_not_opened(api: Api) -> None:
    c = api.client
    hook = {"kind": "webhook", "url": "http://127.0.0.1:9/open", "timeout_s": 1}
    r = c.post("/api/v1/entrances", headers=api.admin, json={"name": "gate", "door": hook})
    assert r.status_code == 201, r.text
    r = c.post(
        f"/api/v1/entrances/{r.json()['id']}/open",
        headers=api.operator,
        json={"reason": "parcel delivery"},
    )
    assert r.status_code == 200 and r.json()["queued"] is True
    ev = _settled(api, r.json()["event_id"])
    assert ev["decision"] == "open_failed" and ev["door"]["actuated"] is False
    assert "Connection refused" in ev["door"]["error"]
    assert "did not open" in ev["summary"] and "parcel delivery" in ev["summary"]
    assert [e["decision"] for e in _events(api)] == ["open_failed"]  # no second event
    failed = c.get("/api/v1/events?decision=open_failed", headers=api.viewer).json()["items"]
    assert [e["id"] for e in failed] == [ev["id"]]
    assert c.get("/api/v1/events?decision=open", headers=api.viewer).json()["items"] == []
    metrics = c.get("/metrics", headers=api.viewer).text
    assert 'facegate_door_failures_total{entrance="gate"} 1.0' in metrics
    page = api.browser("admin", ADMIN_PASSWORD).get("/events")
    assert page.status_code == 200 and "open_failed" in page.text
    assert "did not open" in page.text

    main = c.get("/api/v1/entrances", headers=api.viewer).json()[0]  # a log door: it works
    r = c.post(
        f"/api/v1/entrances/{main['id']}/open", headers=api.operator, json={"reason": "guest"}
    )
    ev = _settled(api, r.json()["event_id"])
    assert ev["decision"] == "open" and ev["door"] == {"actuated": True}


def test_the_sentence_of_a_failed_automatic_open() -> None:
    text = describe(
        "open_failed",
        "Ann Lee matched in 3 shots",
        "Ann Lee",
        door={"actuated": False, "error": "door main failed: relay board not responding"},
    )
    assert text == "Recognised Ann Lee, but the door did not open: relay board not responding"
