"""The fleet service against a real Mosquitto: signed, versioned deltas for the changes
that concern a device (and none for those that do not), the retained head, events over
MQTT stored once and acknowledged, status with the last will, commands, and a broker
that goes away and comes back without losing a change."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facegate.fleet.config import FleetConfig
from facegate.fleet.protocol import (
    Command,
    Delta,
    DeviceStatus,
    EventAck,
    Kind,
    RemoveResident,
    Snapshot,
    UpsertResident,
    Verifier,
    load_public_key,
)
from facegate.gallery.store import NewTemplate
from facegate.server.app import create_app
from tests.server.conftest import Api, add_resident, make_config
from tests.server.fleet.conftest import ADMIN, ADMIN_PASSWORD, DeviceClient, Mosquitto


def wait_for(check: Callable[[], object], timeout: float = 10.0, what: str = "it") -> object:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def fleet_api(make_api, broker: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("FACEGATE_MQTT_URL", broker.url)
    api = make_api()
    assert api.state.fleet.enabled
    assert api.state.fleet.broker.wait_connected(10)
    return api


def _enrolled(api: Api, name: str = "door-1", entrance: str = "main") -> tuple[dict, Verifier]:
    ents = {
        e["name"]: e["id"] for e in api.client.get("/api/v1/entrances", headers=api.admin).json()
    }
    r = api.client.post(
        "/api/v1/devices", headers=api.admin, json={"name": name, "entrances": [ents[entrance]]}
    )
    assert r.status_code == 201, r.text
    got = api.client.post("/api/v1/device/enrol", json={"token": r.json()["token"]}).json()
    return got, Verifier(load_public_key(got["public_key"]), got["device_id"])


def _vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(16).astype(np.float32)


def test_changes_reach_the_devices_they_concern_signed_and_in_order(
    fleet_api: Api, broker: Mosquitto
) -> None:
    api = fleet_api
    side = api.client.post("/api/v1/entrances", headers=api.admin, json={"name": "side"}).json()
    dev, verify = _enrolled(api)
    other, _ = _enrolled(api, "door-2", "side")
    assert dev["mqtt"]["url"] == broker.url and dev["mqtt"]["username"] is None
    client = DeviceClient(broker.port, dev["device_id"])
    client2 = DeviceClient(broker.port, other["device_id"])
    client.wait_connected()
    client2.wait_connected()
    client.subscribe("sync", "head", "cmd", "acks")
    client2.subscribe("sync")
    time.sleep(0.3)
    snap = api.client.get(
        "/api/v1/device/snapshot",
        params={"nonce": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {dev['secret']}"},
    )
    env = verify.open(snap.content, Kind.SNAPSHOT)
    assert Snapshot.model_validate(env.body).residents == []
    local = env.version
    # a resident enrolled: one delta per device (no rules: every door admits everyone)
    ann = add_resident(api, "Ann Lee")
    api.state.gallery.add_photo(ann["id"], [NewTemplate("sface", "v1", _vec(1))])
    seen_versions = []
    while True:
        d = verify.open(client.next("sync"), Kind.DELTA)
        assert d.prev == local, "deltas arrive in order, each on the one before"
        local = d.version
        seen_versions.append(d.version)
        ops = Delta.model_validate(d.body).ops
        if any(isinstance(o, UpsertResident) and o.resident.templates for o in ops):
            break
    rec = next(o for o in ops if isinstance(o, UpsertResident)).resident
    assert rec.name == "Ann Lee" and np.allclose(rec.templates[0].vector(), _vec(1))
    head = verify.open(client.next("head"), Kind.HEAD)
    assert head.version is not None and head.version >= seen_versions[0]
    # a rule for the side door only: the main door's device loses Ann (resync: it snapshots)
    r = api.client.post(
        "/api/v1/rules",
        headers=api.operator,
        json={"name": "side only", "resident_ids": [ann["id"]], "entrance_ids": [side["id"]]},
    )
    assert r.status_code == 201
    while True:  # the photo's own change may still come first (deltas are idempotent)
        gap = verify.open(client.next("sync"), Kind.DELTA)
        if gap.prev != local:
            break
        local = gap.version
    # flipping from "no rules" to rules: a deliberate gap, the device takes a snapshot
    assert (gap.prev, gap.version) == (local + 1, local + 2)
    snap = api.client.get(
        "/api/v1/device/snapshot",
        params={"nonce": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {dev['secret']}"},
    )
    env = verify.open(snap.content, Kind.SNAPSHOT)
    assert env.version == gap.version and Snapshot.model_validate(env.body).residents == []
    local = env.version
    # deactivating Ann concerns only the side door now: a revocation there, nothing here
    api.client.patch(f"/api/v1/residents/{ann['id']}", headers=api.operator, json={"active": False})
    while True:
        d2 = Verifier(load_public_key(other["public_key"]), other["device_id"]).open(
            client2.next("sync"), Kind.DELTA
        )
        ops = Delta.model_validate(d2.body).ops
        if any(isinstance(o, RemoveResident) and o.id == ann["id"] for o in ops):
            break
    time.sleep(0.5)
    assert client.got["sync"].empty(), "the main door's device heard of a change not its own"
    client.close()
    client2.close()


def test_events_and_status_over_mqtt(fleet_api: Api, broker: Mosquitto) -> None:
    api = fleet_api
    dev, _ = _enrolled(api)
    did = dev["device_id"]
    offline = DeviceStatus(device=did, online=False).model_dump_json().encode()
    client = DeviceClient(broker.port, did, will=offline)
    client.wait_connected()
    client.subscribe("acks")
    time.sleep(0.3)
    status = DeviceStatus(device=did, online=True, gallery_version=3, software="edge 1.0", outbox=2)
    client.publish("status", status.model_dump_json().encode(), retain=True)
    wait_for(
        lambda: api.client.get(f"/api/v1/devices/{did}", headers=api.viewer).json()["online"],
        what="the device online",
    )
    shown = api.client.get(f"/api/v1/devices/{did}", headers=api.viewer).json()
    assert shown["gallery_version"] == 3 and shown["software"] == "edge 1.0"
    assert shown["outbox"] == 2 and shown["last_seen"] is not None
    events = [
        {"id": uuid.uuid4().hex, "entrance": "main", "time": time.time(), "decision": "deny"}
        for _ in range(3)
    ]
    batch = json.dumps({"device": did, "events": events}).encode()
    client.publish("events", batch)
    client.publish("events", batch)  # the same batch again (a lost ack, a redelivery)
    acked = set()
    for _ in range(2):
        acked |= set(EventAck.model_validate_json(client.next("acks")).ids)
    assert acked == {e["id"] for e in events}
    page = api.client.get("/api/v1/events", params={"limit": 100}, headers=api.viewer).json()
    stored = [e for e in page["items"] if e["device"] == "door-1"]
    assert len(stored) == 3 and {e["decision"] for e in stored} == {"deny"}
    # gone without a goodbye: the broker publishes the will, the server marks it offline
    client.close(clean=False)
    wait_for(
        lambda: not api.client.get(f"/api/v1/devices/{did}", headers=api.viewer).json()["online"],
        what="the device offline after its last will",
    )


def test_events_count_as_contact_once_per_batch_per_device(
    fleet_api: Api, broker: Mosquitto
) -> None:
    """A device that sends events but no status is seen all the same; an ingest batch
    of many messages from several devices writes their `last_seen` in one statement."""
    import paho.mqtt.client as mqtt
    from sqlalchemy import event

    api = fleet_api
    dev, _ = _enrolled(api)
    other, _ = _enrolled(api, "door-2")
    did, oid = dev["device_id"], other["device_id"]

    def seen(d: int) -> object:
        return api.client.get(f"/api/v1/devices/{d}", headers=api.viewer).json()["last_seen"]

    assert seen(did) is None and seen(oid) is None
    client = DeviceClient(broker.port, did)
    client.wait_connected()
    client.subscribe("acks")
    time.sleep(0.3)
    one = {"id": uuid.uuid4().hex, "entrance": "main", "time": time.time(), "decision": "unknown"}
    client.publish("events", json.dumps({"device": did, "events": [one]}).encode())
    EventAck.model_validate_json(client.next("acks"))
    first = wait_for(lambda: seen(did), what="last_seen from an event")
    client.close()

    def message(d: int, n: int) -> mqtt.MQTTMessage:
        m = mqtt.MQTTMessage(topic=f"facegate/v1/devices/{d}/events".encode())
        events = [
            {"id": uuid.uuid4().hex, "entrance": "main", "time": time.time(), "decision": "deny"}
            for _ in range(n)
        ]
        m.payload = json.dumps({"device": d, "events": events}).encode()
        return m

    writes: list[str] = []

    def count(conn, cursor, statement, params, context, many) -> None:
        if statement.lstrip().upper().startswith("UPDATE DEVICES SET LAST_SEEN"):
            writes.append(statement)

    time.sleep(0.01)  # a later time than `first`, at the database's resolution
    event.listen(api.state.db, "before_cursor_execute", count)
    try:
        batch = [("events", message(did, 2)) for _ in range(3)] + [("events", message(oid, 1))]
        api.state.fleet._handle(batch)  # one ingest batch: 4 messages from 2 devices
    finally:
        event.remove(api.state.db, "before_cursor_execute", count)
    assert len(writes) == 1, writes
    assert seen(did) > first and seen(oid) is not None
    page = api.client.get("/api/v1/events", params={"limit": 100}, headers=api.viewer).json()
    assert sum(e["decision"] == "deny" for e in page["items"]) == 7


def test_a_command_is_audited_signed_and_sent(fleet_api: Api, broker: Mosquitto) -> None:
    api = fleet_api
    dev, verify = _enrolled(api)
    client = DeviceClient(broker.port, dev["device_id"])
    client.wait_connected()
    client.subscribe("cmd")
    time.sleep(0.3)
    r = api.client.post(
        f"/api/v1/devices/{dev['device_id']}/commands",
        headers=api.operator,
        json={"action": "open", "entrance": "main", "reason": "courier at the door"},
    )
    assert r.status_code == 202, r.text
    cmd = Command.model_validate(verify.open(client.next("cmd"), Kind.COMMAND).body)
    assert cmd.id == r.json()["id"] and cmd.action == "open" and cmd.by == "user:oper"
    assert 0 < cmd.expires_at - time.time() <= 60
    audit = api.client.get(
        "/api/v1/audit", params={"action": "device_command"}, headers=api.admin
    ).json()
    assert audit[0]["detail"]["reason"] == "courier at the door"
    client.close()


def test_the_outbox_waits_while_the_broker_is_down(fleet_api: Api, broker: Mosquitto) -> None:
    api = fleet_api
    dev, verify = _enrolled(api)
    broker.stop()
    wait_for(lambda: api.client.get("/health").json().get("fleet") == "reconnecting", what="health")
    ann = add_resident(api, "Ann Lee")  # made while no broker listens
    api.state.gallery.add_photo(ann["id"], [NewTemplate("sface", "v1", _vec(2))])
    time.sleep(1.0)
    broker.start()
    assert api.state.fleet.broker.wait_connected(40)
    client = DeviceClient(broker.port, dev["device_id"])
    client.wait_connected()
    client.subscribe("head")  # retained: what was published while nobody listened
    head = verify.open(client.next("head", timeout=20), Kind.HEAD)
    assert head.version and head.version >= 1
    wait_for(lambda: api.client.get("/health").json().get("fleet") == "connected", what="ok")
    client.close()


def test_dynsec_gives_each_device_its_own_topics(
    tmp_path, cache_dir, engine, dynsec_broker: Mosquitto
) -> None:
    cfg = make_config(tmp_path, f"sqlite:///{tmp_path / 'd.sqlite'}", cache_dir)
    cfg = cfg.model_copy(
        update={
            "fleet": FleetConfig(
                mqtt_url=dynsec_broker.url,
                broker_auth={
                    "mode": "dynsec",
                    "admin_username": ADMIN,
                    "admin_password": ADMIN_PASSWORD,
                },
            )
        }
    )
    with TestClient(create_app(cfg, face_engine=engine)) as c:
        api = Api(c)
        assert api.state.fleet.broker.wait_connected(10)
        dev, verify = _enrolled(api)
        other, _ = _enrolled(api, "door-2")
        login = dev["mqtt"]
        assert login["username"] == f"facegate-device-{dev['device_id']}" and login["password"]
        # no login, or a wrong password: the broker refuses
        stranger = DeviceClient(dynsec_broker.port, 999)
        assert stranger.wait_connected() != 0
        stranger.close()
        client = DeviceClient(
            dynsec_broker.port,
            dev["device_id"],
            username=login["username"],
            password=login["password"],
        )
        assert client.wait_connected() == 0
        client.subscribe("sync", "head", "cmd", "acks")
        client.subscribe("sync", base=f"facegate/v1/devices/{other['device_id']}")
        wait_for(lambda: len(client.granted) == 5, what="the subscriptions answered")
        assert client.granted[:4] == [1, 1, 1, 1]
        assert client.granted[4] >= 0x80, "a device may not read another device's topics"
        r = c.post(
            f"/api/v1/devices/{dev['device_id']}/commands",
            headers=api.operator,
            json={"action": "reload"},
        )
        assert r.status_code == 202
        assert verify.open(client.next("cmd"), Kind.COMMAND).body["action"] == "reload"
        # revoked: the broker login goes with it (Mosquitto drops the connection)
        assert c.delete(f"/api/v1/devices/{dev['device_id']}", headers=api.admin).status_code == 204
        client.close()
        again = DeviceClient(
            dynsec_broker.port,
            dev["device_id"],
            username=login["username"],
            password=login["password"],
        )
        assert again.wait_connected() != 0
        again.close()
