"""A name with a bidirectional control ("\u202eevil" shows as "live") is refused when a
resident is added or renamed, with the API's validation error; and names stored before
that (or journalled by a runtime) are shown without the controls on every page, in the
dashboard's JSON and in the CSV export."""

from __future__ import annotations

import pytest

from facegate.runtime.events import Decision, DoorEvent
from facegate.server.db.models import Resident
from tests.server.conftest import ADMIN_PASSWORD, add_resident

CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
            "\u2069", "\u200e", "\u200f"]  # fmt: skip


@pytest.mark.parametrize("ch", CONTROLS)
def test_new_names_with_bidi_controls_are_refused(api, ch: str) -> None:
    r = api.client.post(
        "/api/v1/residents", headers=api.operator, json={"name": f"{ch}evil", "apartment": "1"}
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation_error"
    assert "bidirectional control characters" in body["message"]
    assert body["detail"][0]["loc"][-1] == "name"


def test_renaming_and_apartments_are_checked_too(api) -> None:
    res = add_resident(api, "Ann Lee")
    r = api.client.patch(
        f"/api/v1/residents/{res['id']}", headers=api.operator, json={"name": "Ann\u202eeeL"}
    )
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    r = api.client.patch(
        f"/api/v1/residents/{res['id']}", headers=api.operator, json={"apartment": "\u202e12"}
    )
    assert r.status_code == 422
    r = api.client.post(
        "/api/v1/users",
        headers=api.admin,
        json={"username": "\u202ebob", "password": "long-enough-1", "role": "viewer"},
    )
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    assert api.client.get(f"/api/v1/residents/{res['id']}", headers=api.viewer).json()["name"] == (
        "Ann Lee"
    )


def test_stored_names_are_shown_without_the_controls(make_api) -> None:
    api = make_api()
    with api.state.sessions() as s:  # as an older FaceGate, or a direct import, stored it
        s.add(Resident(name="\u202eevil", apartment="\u202e7"))
        s.commit()
        rid = s.query(Resident.id).filter_by(name="\u202eevil").scalar()
    api.state.journal.record(
        DoorEvent(Decision.OPEN, "main", "\u202eevil matched in 2 shots", person="\u202eevil")
    )
    ui = api.browser("admin", ADMIN_PASSWORD)
    for path in ("/", "/residents", f"/residents/{rid}", "/events", "/rules", "/dashboard.json"):
        r = ui.get(path)
        assert r.status_code == 200, path
        assert "\u202e" not in r.text and "\\u202e" not in r.text, path
        assert "evil" in r.text, path
    events = ui.get("/events").text
    assert "Recognised evil; door opened" in events
    assert "<bdi>evil</bdi>" in events  # the name keeps to itself in the detail
    csv = ui.get("/api/v1/events.csv").content.decode("utf-8-sig")
    assert "\u202e" not in csv and "Recognised evil; door opened" in csv
