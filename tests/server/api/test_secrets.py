"""Door and camera secrets are write-only: no role reads them back (API, web UI, audit log),
and settings read and sent back unchanged keep them."""

from __future__ import annotations

from facegate.server.db.models import Entrance
from tests.server.conftest import ADMIN_PASSWORD, Api

CAM_PW, BROKER_PW, TOKEN, BEARER = "cam-Pa55word", "broker-Pa55", "tok-123456", "Bearer abc-999"
SECRETS = (CAM_PW, BROKER_PW, TOKEN, BEARER, "abc-999")


def _stored(api: Api, eid: int) -> Entrance:
    with api.state.sessions() as s:
        row = s.get(Entrance, eid)
        s.expunge(row)
        return row


def test_secrets_are_write_only_for_every_role_and_kept_when_sent_back(api: Api) -> None:
    c = api.client
    mqtt = {"kind": "mqtt", "host": "10.0.0.7", "username": "door", "password": BROKER_PW}
    cam = {"uri": f"rtsp://admin:{CAM_PW}@192.168.1.20:554/live?channel=1"}
    r = c.post(
        "/api/v1/entrances",
        headers=api.admin,
        json={"name": "gate", "source": cam, "door": mqtt},
    )
    assert r.status_code == 201, r.text
    gate = r.json()["id"]
    hook = {
        "kind": "webhook",
        "url": f"http://10.0.0.8/relay?token={TOKEN}&turn=on",
        "headers": {"Authorization": BEARER, "Accept": "text/plain"},
    }
    r = c.post("/api/v1/entrances", headers=api.admin, json={"name": "hook", "door": hook})
    assert r.status_code == 201, r.text
    hid = r.json()["id"]

    for who in (api.viewer, api.operator, api.admin):
        for path in ("/api/v1/entrances", f"/api/v1/entrances/{gate}", f"/api/v1/entrances/{hid}"):
            r = c.get(path, headers=who)
            assert r.status_code == 200 and not any(s in r.text for s in SECRETS), r.text
    got = c.get(f"/api/v1/entrances/{gate}", headers=api.viewer).json()
    assert got["door"]["password"] == "***" and got["door"]["username"] == "door"
    assert got["source"]["uri"] == "rtsp://admin:***@192.168.1.20:554/live?channel=1"
    h = c.get(f"/api/v1/entrances/{hid}", headers=api.viewer).json()["door"]
    assert h["url"] == "http://10.0.0.8/relay?token=***&turn=on"
    assert h["headers"] == {"Authorization": "***", "Accept": "text/plain"}
    ui = api.browser("admin", ADMIN_PASSWORD)
    for page in ("/", "/entrances"):
        r = ui.get(page)
        assert r.status_code == 200 and not any(s in r.text for s in SECRETS), page
    audit = c.get("/api/v1/audit", headers=api.viewer)
    assert not any(s in audit.text for s in SECRETS)

    # what was read, sent back (the UI's settings form does the same): secrets kept
    r = c.patch(
        f"/api/v1/entrances/{gate}",
        headers=api.operator,
        json={"source": got["source"], "door": got["door"], "name": "front gate"},
    )
    assert r.status_code == 200, r.text
    r = c.patch(f"/api/v1/entrances/{hid}", headers=api.operator, json={"door": h})
    assert r.status_code == 200, r.text
    row = _stored(api, gate)
    assert row.door["password"] == BROKER_PW and CAM_PW in row.source["uri"]
    assert _stored(api, hid).door["url"].endswith(f"token={TOKEN}&turn=on")
    assert _stored(api, hid).door["headers"]["Authorization"] == BEARER
    # a door section without the password keeps it; "" clears it
    r = c.patch(
        f"/api/v1/entrances/{gate}",
        headers=api.operator,
        json={"door": {k: v for k, v in got["door"].items() if k != "password"}},
    )
    assert r.status_code == 200 and _stored(api, gate).door["password"] == BROKER_PW
    # *** for another broker or camera would send the stored secret there: refused
    for body in (
        {"door": {**got["door"], "host": "10.0.0.99"}},
        {"source": {"uri": "rtsp://admin:***@192.168.1.99/live"}},
        {"door": {**h, "url": "http://10.0.0.99/relay?token=***&turn=on"}},
    ):
        target = hid if "url" in body.get("door", {}) else gate
        r = c.patch(f"/api/v1/entrances/{target}", headers=api.operator, json=body)
        assert r.status_code == 400 and r.json()["error"] == "secret_required", r.text
    r = c.post(
        "/api/v1/entrances",
        headers=api.admin,
        json={"name": "new", "door": {**mqtt, "password": "***"}},
    )
    assert r.status_code == 400 and r.json()["error"] == "secret_required"
    r = c.patch(
        f"/api/v1/entrances/{gate}", headers=api.operator, json={"door": {**mqtt, "password": ""}}
    )
    assert r.status_code == 200 and _stored(api, gate).door["password"] == ""
    assert _stored(api, gate).door["username"] == "door"
