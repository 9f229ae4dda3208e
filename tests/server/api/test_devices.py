"""Devices through the REST API, on SQLite and PostgreSQL, without a broker: create (token
shown once), enrol (one-time), a signed snapshot of what the device may hold, events sent
twice and stored once (merged into the event log with their device), best shots, revoke."""

from __future__ import annotations

import json
import time
import uuid

import numpy as np

from facegate.fleet.protocol import Kind, Snapshot, Verifier, load_public_key
from facegate.gallery.store import NewTemplate
from facegate.runtime.events import Decision, DoorEvent
from tests.server.conftest import Api, add_resident


def _entrance_ids(api: Api) -> dict[str, int]:
    r = api.client.get("/api/v1/entrances", headers=api.admin)
    return {e["name"]: e["id"] for e in r.json()}


def _device(api: Api, name: str = "door-1", entrances: list[int] | None = None) -> dict:
    ents = entrances or [_entrance_ids(api)["main"]]
    r = api.client.post(
        "/api/v1/devices", headers=api.admin, json={"name": name, "entrances": ents}
    )
    assert r.status_code == 201, r.text
    return r.json()


def _enrol(api: Api, token: str) -> dict:
    r = api.client.post(
        "/api/v1/device/enrol", json={"token": token, "software": "edge 1.0", "hostname": "pi"}
    )
    assert r.status_code == 200, r.text
    return r.json()


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _event(entrance: str = "main", t: float | None = None, **extra) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "entrance": entrance,
        "time": time.time() if t is None else t,
        "decision": "open",
        "person": "Ann Lee",
        "reason": "matched in 3 shots",
        **extra,
    }


def test_a_token_enrols_once_and_the_device_is_listed(api: Api) -> None:
    created = _device(api)
    assert created["token"].startswith("fgd_")
    r = api.client.post(
        "/api/v1/devices",
        headers=api.operator,
        json={"name": "door-2", "entrances": [created["entrances"][0]]},
    )
    assert r.status_code == 403  # devices are an admin's
    r = api.client.post(
        "/api/v1/devices", headers=api.admin, json={"name": "x", "entrances": [999]}
    )
    assert r.status_code == 400 and r.json()["error"] == "unknown_id"
    listed = api.client.get("/api/v1/devices", headers=api.viewer).json()
    assert [(d["name"], d["enrolled"], d["online"]) for d in listed] == [("door-1", False, False)]
    assert "token" not in listed[0]
    got = _enrol(api, created["token"])
    assert got["device_id"] == created["id"] and got["secret"].startswith("fgs_")
    assert got["mqtt"] == {
        "url": None,
        "username": None,
        "password": None,
        "topic_prefix": "facegate/v1",
    }
    again = api.client.post("/api/v1/device/enrol", json={"token": created["token"]})
    assert again.status_code == 401 and again.json()["error"] == "bad_device_token"
    one = api.client.get(f"/api/v1/devices/{created['id']}", headers=api.viewer).json()
    assert one["enrolled"] and one["software"] == "edge 1.0" and one["hostname"] == "pi"


def test_the_snapshot_is_signed_and_holds_who_may_enter_there(api: Api) -> None:
    ents = _entrance_ids(api)
    side = api.client.post("/api/v1/entrances", headers=api.admin, json={"name": "side"}).json()
    ann, bob, cat = (add_resident(api, n) for n in ("Ann Lee", "Bob Stone", "Cat Wu"))
    rng = np.random.default_rng(3)
    vec = rng.standard_normal(16).astype(np.float32)
    api.state.gallery.add_photo(ann["id"], [NewTemplate("sface", "v1", vec)])
    api.client.patch(f"/api/v1/residents/{cat['id']}", headers=api.operator, json={"active": False})
    for people, where in (([ann["id"], cat["id"]], [ents["main"]]), ([bob["id"]], [side["id"]])):
        r = api.client.post(
            "/api/v1/rules",
            headers=api.operator,
            json={"name": "r", "resident_ids": people, "entrance_ids": where},
        )
        assert r.status_code == 201, r.text
    dev = _enrol(api, _device(api)["token"])
    nonce = uuid.uuid4().hex
    r = api.client.get(
        "/api/v1/device/snapshot", params={"nonce": nonce}, headers=_bearer(dev["secret"])
    )
    assert r.status_code == 200, r.text
    env = Verifier(load_public_key(dev["public_key"]), dev["device_id"]).open(
        r.content, Kind.SNAPSHOT
    )
    snap = Snapshot.model_validate(env.body)
    assert snap.nonce == nonce
    # Bob is granted only at the side door; Cat is inactive: neither is on this device
    assert [p.name for p in snap.residents] == ["Ann Lee"]
    assert np.allclose(snap.residents[0].templates[0].vector(), vec)
    assert [e.name for e in snap.entrances] == ["main"]
    assert [rule.people for rule in snap.rules.rules] == [["Ann Lee", "Cat Wu"]]
    assert snap.rules.default_allow is False  # rules exist: only they let anyone in
    tampered = r.content.replace(b"Ann Lee", b"Eve Ray")
    try:
        Verifier(load_public_key(dev["public_key"]), dev["device_id"]).open(tampered, Kind.SNAPSHOT)
        raise AssertionError("a tampered snapshot verified")
    except Exception as exc:
        assert getattr(exc, "code", "") == "bad_signature"


def test_events_are_stored_once_and_merge_into_the_event_log(api: Api) -> None:
    dev = _enrol(api, _device(api)["token"])
    t0 = 1_800_000_000.0
    # journal events and device events at the same times: the pages must neither repeat
    # nor skip any of them
    for k in range(5):
        api.state.journal.record(DoorEvent(Decision.UNKNOWN, "main", f"visitor {k}", t0 + k))
    events = [_event(t=t0 + k, snapshot=True) for k in range(5)]
    batch = {"device": dev["device_id"], "events": events}
    for _ in range(2):  # a retry after a lost ack
        r = api.client.post("/api/v1/device/events", json=batch, headers=_bearer(dev["secret"]))
        assert r.status_code == 200, r.text
        assert sorted(r.json()["ids"]) == sorted(e["id"] for e in events)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/api/v1/events", params=params, headers=api.viewer).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 10
    from_devices = [e for e in seen if e["device"] == "door-1"]
    assert len(from_devices) == 5 and all(e["person"] == "Ann Lee" for e in from_devices)
    times = [e["time"] for e in seen]
    assert times == sorted(times, reverse=True)
    csv = api.client.get("/api/v1/events.csv", headers=api.viewer).text
    assert csv.count("door-1") == 5
    # the best shot: refused before its event is stored, then served to a viewer
    unknown = uuid.uuid4().hex
    r = api.client.put(
        f"/api/v1/device/events/{unknown}/snapshot",
        content=b"\xff\xd8\xff\xe0jpeg",
        headers={**_bearer(dev["secret"]), "Content-Type": "image/jpeg"},
    )
    assert r.status_code == 409 and r.json()["error"] == "event_unknown"
    jpeg = b"\xff\xd8\xff\xe0" + b"x" * 100
    for _ in range(2):  # idempotent
        r = api.client.put(
            f"/api/v1/device/events/{events[0]['id']}/snapshot",
            content=jpeg,
            headers={**_bearer(dev["secret"]), "Content-Type": "image/jpeg"},
        )
        assert r.status_code == 204, r.text
    shown = next(e for e in seen if e["device"] and e["time"] == seen[-2]["time"])
    assert shown["snapshot_url"] is None  # listed before the upload
    page = api.client.get("/api/v1/events", params={"limit": 10}, headers=api.viewer).json()
    url = next(e["snapshot_url"] for e in page["items"] if e["snapshot_url"])
    got = api.client.get(url, headers=api.viewer)
    assert got.status_code == 200 and got.content == jpeg


def test_events_sent_over_http_count_as_contact(api: Api) -> None:
    created = _device(api)
    dev = _enrol(api, created["token"])

    def seen() -> str | None:
        return api.client.get(f"/api/v1/devices/{created['id']}", headers=api.viewer).json()[
            "last_seen"
        ]

    assert seen() is None  # enrolled, no status yet
    batch = {"device": dev["device_id"], "events": [_event(), _event()]}
    r = api.client.post("/api/v1/device/events", json=batch, headers=_bearer(dev["secret"]))
    assert r.status_code == 200
    first = seen()
    assert first is not None
    time.sleep(0.01)
    batch = {"device": dev["device_id"], "events": [_event()]}
    api.client.post("/api/v1/device/events", json=batch, headers=_bearer(dev["secret"]))
    assert seen() > first
    listed = api.client.get("/api/v1/devices", headers=api.viewer).json()
    assert listed[0]["online"] is False  # only a status message says online


def test_a_revoked_device_is_refused_at_once(api: Api) -> None:
    created = _device(api)
    dev = _enrol(api, created["token"])
    nonce = uuid.uuid4().hex
    ok = api.client.get(
        "/api/v1/device/snapshot", params={"nonce": nonce}, headers=_bearer(dev["secret"])
    )
    assert ok.status_code == 200
    r = api.client.delete(f"/api/v1/devices/{created['id']}", headers=api.operator)
    assert r.status_code == 403
    r = api.client.delete(f"/api/v1/devices/{created['id']}", headers=api.admin)
    assert r.status_code == 204
    for call in (
        lambda h: api.client.get("/api/v1/device/snapshot", params={"nonce": nonce}, headers=h),
        lambda h: api.client.post(
            "/api/v1/device/events", json={"device": dev["device_id"], "events": []}, headers=h
        ),
    ):
        r = call(_bearer(dev["secret"]))
        assert r.status_code == 401 and r.json()["error"] == "device_revoked"
        r = call(_bearer("fgs_not-a-secret"))
        assert r.status_code == 401 and r.json()["error"] == "bad_device_secret"
    listed = api.client.get("/api/v1/devices", headers=api.viewer).json()
    assert listed[0]["revoked"] is True


def test_commands_need_a_broker(api: Api) -> None:
    created = _device(api)
    _enrol(api, created["token"])
    r = api.client.post(
        f"/api/v1/devices/{created['id']}/commands",
        headers=api.operator,
        json={"action": "open", "entrance": "main", "reason": "courier"},
    )
    assert r.status_code == 409 and r.json()["error"] == "fleet_off"


def test_the_dashboard_counts_device_events(api: Api) -> None:
    dev = _enrol(api, _device(api)["token"])
    batch = {"device": dev["device_id"], "events": [_event(), _event(decision="deny")]}
    r = api.client.post("/api/v1/device/events", json=batch, headers=_bearer(dev["secret"]))
    assert r.status_code == 200
    from zoneinfo import ZoneInfo

    from facegate.server.operations.dashboard import dashboard

    with api.state.sessions() as s:
        card = dashboard(s, api.state, ZoneInfo("UTC")).cards[0]
    assert (card.name, card.opens, card.denials) == ("main", 1, 1)


def test_an_unstorable_event_is_cleaned_or_dropped_never_resent_for_ever(api: Api) -> None:
    """A NUL in a name (PostgreSQL refuses it) is removed; a time that is not a number is
    dropped. Both are acknowledged, or the device would send them again for ever."""
    dev = _enrol(api, _device(api)["token"])
    nul = _event(person="Ann\x00Lee")
    nan = _event(t=float("nan"))
    batch = json.dumps(
        {"device": dev["device_id"], "events": [nul, nan]}
    )  # NaN as Python writes it
    headers = {**_bearer(dev["secret"]), "Content-Type": "application/json"}
    r = api.client.post("/api/v1/device/events", content=batch, headers=headers)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["ids"]) == sorted([nul["id"], nan["id"]])
    items = api.client.get("/api/v1/events", headers=api.viewer).json()["items"]
    assert [(e["person"], e["device"]) for e in items] == [("AnnLee", "door-1")]
