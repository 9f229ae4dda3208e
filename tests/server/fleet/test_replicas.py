"""Two replicas of the server (separate processes, uvicorn on free ports, entrances not
run) against one PostgreSQL database and one Mosquitto: whichever replica a request or a
message reaches, the fleet behaves as one server. The replicas share the data dir's keys
(the vault key and the fleet's signing key are copied, as docs/fleet.md says)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from facegate.fleet.protocol import (
    Delta,
    EventAck,
    Kind,
    Snapshot,
    UpsertResident,
    Verifier,
    load_public_key,
)
from facegate.server.fleet.signing import KEY_FILE_NAME as SIGNING_KEY
from facegate.vault import KEY_FILE_NAME as VAULT_KEY
from tests.server.conftest import ADMIN_PASSWORD, PG_HOST
from tests.server.fleet.conftest import DeviceClient, Mosquitto, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_database(pg_skip_reason: str | None) -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    if pg_skip_reason:
        pytest.skip(pg_skip_reason)
    import psycopg

    name = f"fg_replicas_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_HOST, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_HOST.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_HOST, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Replica:
    """`facegate serve` in a process of its own."""

    def __init__(self, root: Path, db_url: str, mqtt_url: str, cache_dir: Path) -> None:
        self.port = free_port()
        self.dir = root
        self.data = root / "data"
        root.mkdir(parents=True, exist_ok=True)
        cfg = {
            "engine": {"cache_dir": str(cache_dir)},
            "server": {
                "data_dir": str(self.data),
                "database_url": db_url,
                "admin_password": ADMIN_PASSWORD,
                "run_entrances": False,
            },
            "fleet": {"mqtt_url": mqtt_url},
        }
        (root / "config.yaml").write_text(json.dumps(cfg))
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from facegate.cli import main; sys.exit(main(sys.argv[1:]))",
                "serve",
                "--config",
                str(self.dir / "config.yaml"),
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=log,
        )
        end = time.monotonic() + 120
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "server.log").read_text()[-3000:])
            try:
                health = httpx.get(self.url + "/health", timeout=1).json()
                if health.get("fleet") == "connected":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError("the replica did not come up: " + (self.dir / "server.log").read_text())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


@pytest.fixture
def two_replicas(
    tmp_path: Path, pg_database: str, broker: Mosquitto, cache_dir: Path
) -> Iterator[tuple[Replica, Replica]]:
    one = Replica(tmp_path / "r1", pg_database, broker.url, cache_dir)
    two = Replica(tmp_path / "r2", pg_database, broker.url, cache_dir)
    try:
        one.start()
        two.data.mkdir(parents=True)
        two.data.chmod(0o700)
        for key in (VAULT_KEY, SIGNING_KEY):  # one server, two processes: the same keys
            shutil.copy2(one.data / key, two.data / key)
        two.start()
        yield one, two
    finally:
        one.stop()
        two.stop()


def test_two_replicas_serve_one_fleet(two_replicas: tuple[Replica, Replica], broker) -> None:
    one, two = two_replicas
    r = httpx.post(
        one.url + "/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    # a sign-in token from replica 1 works on replica 2 (sessions live in the database)
    assert httpx.get(two.url + "/api/v1/devices", headers=admin).status_code == 200
    main = httpx.get(one.url + "/api/v1/entrances", headers=admin).json()[0]["id"]
    made = httpx.post(
        one.url + "/api/v1/devices", headers=admin, json={"name": "door-1", "entrances": [main]}
    ).json()
    dev = httpx.post(two.url + "/api/v1/device/enrol", json={"token": made["token"]}).json()
    verify = Verifier(load_public_key(dev["public_key"]), dev["device_id"])
    secret = {"Authorization": f"Bearer {dev['secret']}"}
    # the token was used on replica 2: replica 1 refuses it too
    again = httpx.post(one.url + "/api/v1/device/enrol", json={"token": made["token"]})
    assert again.status_code == 401
    snap = httpx.get(
        two.url + "/api/v1/device/snapshot", params={"nonce": uuid.uuid4().hex}, headers=secret
    )
    env = verify.open(snap.content, Kind.SNAPSHOT)  # signed with the shared key
    assert Snapshot.model_validate(env.body).entrances[0].id == main
    local = env.version

    client = DeviceClient(broker.port, dev["device_id"])
    client.wait_connected()
    client.subscribe("sync", "acks")
    time.sleep(0.5)
    # residents added through replica 1 and 2: each change reaches the device once, in a
    # chain with no gap, though both replicas publish from the same outbox
    names = [f"Resident {k}" for k in range(6)]
    for k, name in enumerate(names):
        url = (one if k % 2 else two).url
        assert (
            httpx.post(url + "/api/v1/residents", headers=admin, json={"name": name}).status_code
            == 201
        )
    upserts: list[str] = []
    end = time.monotonic() + 20
    while len(set(upserts)) < len(names) and time.monotonic() < end:
        d = verify.open(client.next("sync"), Kind.DELTA)
        assert d.prev == local, "two publishers, one chain: no gap, no reuse"
        local = d.version
        upserts += [
            o.resident.name
            for o in Delta.model_validate(d.body).ops
            if isinstance(o, UpsertResident)
        ]
    assert sorted(upserts) == sorted(names), "every change published once"

    # the same events twice over MQTT: the replicas share the subscription, store once
    events = [
        {"id": uuid.uuid4().hex, "entrance": "main", "time": time.time() + k, "decision": "deny"}
        for k in range(4)
    ]
    batch = json.dumps({"device": dev["device_id"], "events": events}).encode()
    for _ in range(2):
        client.publish("events", batch)
    acked: set[str] = set()
    for _ in range(2):
        acked |= set(EventAck.model_validate_json(client.next("acks")).ids)
    assert acked == {e["id"] for e in events}
    for replica in (one, two):
        page = httpx.get(
            replica.url + "/api/v1/events", params={"limit": 100}, headers=admin
        ).json()
        assert len([e for e in page["items"] if e["device"] == "door-1"]) == 4
    client.close()
