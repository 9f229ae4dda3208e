"""The sync client against a fake server of the contract: enrolment, what it applies and what
it refuses (unsigned, tampered, another device's, another key's, stale, expired, replayed),
gaps mended by a snapshot, and events over a real broker that can go away."""

from __future__ import annotations

import json
import secrets
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from facegate.fleet.edge import EdgeError
from facegate.fleet.edge.http import enrol, load_credentials
from facegate.fleet.edge.outbox import Outbox
from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.edge.sync import SyncClient
from facegate.fleet.protocol import (
    Command,
    Delta,
    EventRecord,
    Kind,
    RemoveResident,
    Signer,
    Step,
    UpsertResident,
)
from tests.fleet.edge.conftest import entrance, resident, wait_for
from tests.fleet.edge.fake_server import FakeServer


@pytest.fixture
def server(signer):
    s = FakeServer(signer, "mqtt://127.0.0.1:1")
    s.set_state(residents=[resident(1, "Ann", 1)], entrances=[entrance()])
    s.version = 5
    yield s
    s.close()


@pytest.fixture
def client(server, tmp_path, vault):
    creds = enrol(server.url, server.token, tmp_path / "data")
    commands: list[Command] = []
    with (
        EdgeStore(tmp_path / "data" / "edge.sqlite", vault) as store,
        Outbox(tmp_path / "data" / "outbox.sqlite", vault=vault) as box,
    ):
        c = SyncClient(creds, store, box, on_command=commands.append, head_grace_s=0.0)
        c.commands = commands  # type: ignore[attr-defined]
        c.snapshot()
        yield c


def names(c: SyncClient) -> list[str]:
    return sorted(p.name for p in c.store.persons())


def test_enrolment_keeps_private_credentials_and_the_token_works_once(server, tmp_path) -> None:
    data = tmp_path / "d"
    token = server.token
    creds = enrol(server.url, token, data)
    assert creds.device_id == 7 and creds.mqtt.url == server.mqtt_url
    assert load_credentials(data) == creds
    assert (data / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o777 == 0o700
    with pytest.raises(EdgeError, match="refused the device token"):
        enrol(server.url, token, tmp_path / "other")


def test_a_signed_delta_is_applied_and_a_duplicate_ignored(client, server, signer) -> None:
    assert client.store.version == 5 and names(client) == ["Ann"]
    env = signer.seal(
        Kind.DELTA,
        7,
        Delta(ops=[UpsertResident(resident=resident(2, "Bob", 1))]),
        version=6,
        prev=5,
    )
    assert client.handle_delta(env) is Step.APPLY
    assert client.handle_delta(env) is Step.DUPLICATE  # QoS 1 redelivery
    assert names(client) == ["Ann", "Bob"] and client.store.version == 6


def _tampered(env: bytes) -> bytes:
    d = json.loads(env)
    d["body"]["ops"][0]["id"] = 2
    return json.dumps(d).encode()


def _unsigned(env: bytes) -> bytes:
    d = json.loads(env)
    d.pop("sig")
    return json.dumps(d).encode()


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda s, e: _unsigned(e), "unsigned"),
        (lambda s, e: _tampered(e), "bad_signature"),
        (
            lambda s, e: Signer(Ed25519PrivateKey.generate()).seal(
                Kind.DELTA, 7, Delta(ops=[RemoveResident(id=1, rev=9)]), version=6, prev=5
            ),
            "bad_signature",
        ),
        (
            lambda s, e: s.seal(
                Kind.DELTA, 8, Delta(ops=[RemoveResident(id=1, rev=9)]), version=6, prev=5
            ),
            "wrong_device",
        ),
        (lambda s, e: b"not json", "malformed"),
    ],
)
def test_a_delta_not_signed_for_this_device_is_refused(client, signer, make, code) -> None:
    env = signer.seal(Kind.DELTA, 7, Delta(ops=[RemoveResident(id=1, rev=9)]), version=6, prev=5)
    assert client.handle_delta(make(signer, env)) is None
    assert client.refused == {code: 1}
    assert names(client) == ["Ann"] and client.store.version == 5  # nothing changed


def test_a_gap_applies_revocations_then_mends_itself_with_a_snapshot(
    client, server, signer
) -> None:
    server.set_state(residents=[resident(3, "Cy", 1)])
    server.version = 9
    env = signer.seal(
        Kind.DELTA,
        7,
        Delta(ops=[RemoveResident(id=1, rev=9), UpsertResident(resident=resident(4, "Di", 1))]),
        version=9,
        prev=8,
    )
    assert client.handle_delta(env) is Step.GAP
    assert names(client) == []  # Ann removed at once, Di not taken from a gap
    client.tick()
    assert names(client) == ["Cy"] and client.store.version == 9


def test_a_snapshot_not_answering_the_devices_nonce_is_refused(client, server) -> None:
    server.fixed_nonce = secrets.token_hex(16)  # a recorded answer, replayed
    server.set_state(residents=[])
    client.request_snapshot("test")
    client.tick()
    assert client.refused == {"stale": 1} and names(client) == ["Ann"]


def test_a_newer_head_without_its_delta_brings_a_snapshot(client, server, signer) -> None:
    server.set_state(residents=[resident(1, "Ann", 1), resident(5, "Eve", 1)])
    server.version = 8
    client.handle_head(signer.seal(Kind.HEAD, 7, version=8))
    client.tick()  # head_grace_s=0: no delta came in time
    assert names(client) == ["Ann", "Eve"] and client.store.version == 8
    served = server.snapshots_served
    client.handle_head(signer.seal(Kind.HEAD, 7, version=8))  # current: nothing to do
    client.tick()
    assert server.snapshots_served == served


def test_a_head_behind_the_device_brings_a_snapshot(client, server, signer) -> None:
    """A server restored from a backup: its chain is behind the device, whose every next
    delta would look like a duplicate; the head says so, and a snapshot mends it."""
    server.set_state(residents=[resident(6, "Flo", 1)])
    server.version = 2
    client.handle_head(signer.seal(Kind.HEAD, 7, version=2))
    client.tick()
    assert names(client) == ["Flo"] and client.store.version == 2
    env = signer.seal(
        Kind.DELTA,
        7,
        Delta(ops=[UpsertResident(resident=resident(7, "Gus", 1))]),
        version=3,
        prev=2,
    )
    assert client.handle_delta(env) is Step.APPLY


def _cmd(signer, expires_in: float = 60.0, cid: str | None = None) -> bytes:
    cmd = Command(
        id=cid or secrets.token_hex(8),
        action="open",
        entrance="main",
        reason="courier",
        by="admin",
        expires_at=time.time() + expires_in,
    )
    return signer.seal(Kind.COMMAND, 7, cmd)


def test_a_command_is_carried_out_once_and_never_after_it_expired(client, signer, vault) -> None:
    env = _cmd(signer)
    assert client.handle_command(env) is not None
    assert client.handle_command(env) is None  # replayed
    assert client.refused == {"replayed": 1}
    # still a replay after a restart: the ids carried out are kept in the store
    again = SyncClient(client.creds, client.store, client.outbox, on_command=client.commands.append)
    assert again.handle_command(env) is None and again.refused == {"replayed": 1}
    assert client.handle_command(_cmd(signer, expires_in=-5)) is None
    assert client.refused["stale"] == 1
    assert client.handle_command(_unsigned(_cmd(signer))) is None
    assert [c.action for c in client.commands] == ["open"]


def test_acks_clear_the_outbox(client) -> None:
    r = EventRecord(id=uuid.uuid4().hex, entrance="main", time=time.time(), decision="deny")
    client.outbox.add(r)
    assert client.handle_ack(json.dumps({"ids": [r.id]}).encode()) == 1
    assert client.outbox.pending() == 0
    assert client.handle_ack(b"{nonsense") == 0 and client.refused == {"malformed": 1}


def test_the_status_carries_the_guest_pass_opens_made_here(client) -> None:
    """The server adds them up across the fleet (a pass for 2 opens is 2 in the building)."""
    client.store.record_use(7)
    client.store.record_use(7)
    assert client._status().rule_uses == {7: 2}


# -- over a real broker -------------------------------------------------------------------------


@pytest.mark.slow
def test_over_mqtt_events_go_up_once_and_queue_while_the_broker_is_away(
    broker, signer, tmp_path, vault
) -> None:
    server = FakeServer(signer, broker.url)
    server.set_state(residents=[resident(1, "Ann", 1)], entrances=[entrance()])
    server.connect()
    creds = enrol(server.url, server.token, tmp_path / "data")
    commands: list[Command] = []
    with (
        EdgeStore(tmp_path / "data" / "edge.sqlite", vault) as store,
        Outbox(tmp_path / "data" / "outbox.sqlite", vault=vault) as box,
    ):
        c = SyncClient(creds, store, box, on_command=commands.append, resend_after_s=5)
        c.snapshot()
        c.start()
        try:
            assert c.connected.wait(10)
            time.sleep(0.3)  # subscriptions in place
            first = [EventRecord(id=uuid.uuid4().hex, entrance="main", time=time.time(),
                                 decision="open", person="Ann") for _ in range(3)]  # fmt: skip
            box.add(first[0], shot=b"\xff\xd8best-shot")
            for r in first[1:]:
                box.add(r)
            assert wait_for(lambda: box.pending() == 0 and box.waiting_shots() == 0, 15)
            assert set(server.events) == {r.id for r in first}
            assert server.shots[first[0].id] == b"\xff\xd8best-shot"
            # a delta and a command over MQTT
            server.publish_delta(Delta(ops=[UpsertResident(resident=resident(2, "Bob", 1))]))
            assert wait_for(lambda: store.version == 1 and len(store.persons()) == 2, 10)
            server.command("open", "main")
            assert wait_for(lambda: len(commands) == 1, 10)

            broker.stop()
            assert wait_for(lambda: not c.connected.is_set(), 10)
            queued = [EventRecord(id=uuid.uuid4().hex, entrance="main", time=time.time(),
                                  decision="deny") for _ in range(5)]  # fmt: skip
            for r in queued:
                box.add(r)
            time.sleep(1)
            assert box.pending() == 5  # waiting, not lost
            broker.start()
            assert wait_for(lambda: box.pending() == 0, 30)
            assert set(server.events) == {r.id for r in first + queued}  # each stored once
        finally:
            c.stop()
            server.close()
