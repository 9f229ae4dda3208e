"""A small server of the fleet contract for the edge agent's tests: the device routes over
HTTP (enrol, snapshot, events fallback, best shots) and the server's side of MQTT (deltas,
heads, commands signed with a test key; events stored once by id and acked)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import paho.mqtt.client as mqtt

from facegate.fleet.protocol import (
    Command,
    Delta,
    DeviceStatus,
    EventAck,
    EventBatch,
    Kind,
    RuleSet,
    Signer,
    Snapshot,
    Topics,
    public_key_text,
)


class FakeServer:
    def __init__(self, signer: Signer, mqtt_url: str, device: int = 7) -> None:
        self.signer = signer
        self.mqtt_url = mqtt_url
        self.device = device
        self.token = "tok-" + secrets.token_hex(8)
        self.secret = "sec-" + secrets.token_hex(16)
        self.topics = Topics("facegate/v1", device)
        self.version = 0
        self.state = Snapshot(nonce="x" * 16)
        self.events: dict[str, dict] = {}  # id -> event, stored once
        self.received = 0  # event messages received, duplicates included
        self.shots: dict[str, bytes] = {}
        self.statuses: list[DeviceStatus] = []
        self.snapshots_served = 0
        self.fixed_nonce: str | None = None  # a replayed snapshot (stale)
        self.down = False  # the HTTP side answers 503
        self._lock = threading.Lock()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.client: mqtt.Client | None = None

    # -- MQTT ------------------------------------------------------------------------------

    def connect(self) -> None:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fake-server")
        c.on_connect = lambda cl, *a: cl.subscribe(
            [(self.topics.events, 1), (self.topics.status, 1)]
        )
        c.on_message = self._on_message
        c.reconnect_delay_set(0.2, 1)
        port = int(self.mqtt_url.rsplit(":", 1)[1])
        c.connect_async("127.0.0.1", port)
        c.loop_start()
        self.client = c

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
        self.http.shutdown()

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == self.topics.status:
            self.statuses.append(DeviceStatus.model_validate_json(msg.payload))
        else:
            self._on_event(client, userdata, msg)

    def _on_event(self, client, userdata, msg) -> None:
        batch = EventBatch.model_validate_json(msg.payload)
        with self._lock:
            self.received += len(batch.events)
            for e in batch.events:
                self.events.setdefault(e.id, e.model_dump())
        ack = EventAck(ids=[e.id for e in batch.events])
        client.publish(self.topics.acks, ack.model_dump_json(), qos=1)

    def publish_delta(self, delta: Delta, *, prev: int | None = None) -> bytes:
        """Advance the chain by one delta (and its head); returns the envelope."""
        prev = self.version if prev is None else prev
        self.version = max(self.version, prev) + 1
        env = self.signer.seal(Kind.DELTA, self.device, delta, version=self.version, prev=prev)
        assert self.client is not None
        self.client.publish(self.topics.sync, env, qos=1).wait_for_publish(5)
        self.publish_head()
        return env

    def publish_head(self) -> None:
        head = self.signer.seal(Kind.HEAD, self.device, version=self.version)
        assert self.client is not None
        self.client.publish(self.topics.head, head, qos=1, retain=True).wait_for_publish(5)

    def command(self, action: str, entrance: str | None = None, ttl: float = 60.0) -> bytes:
        cmd = Command(
            id=secrets.token_hex(8),
            action=action,
            entrance=entrance,
            reason="test",
            by="admin",
            expires_at=time.time() + ttl,
        )
        env = self.signer.seal(Kind.COMMAND, self.device, cmd)
        if self.client is not None:
            self.client.publish(self.topics.cmd, env, qos=1).wait_for_publish(5)
        return env

    def set_state(self, residents=None, rules: RuleSet | None = None, entrances=None) -> None:
        s = self.state
        self.state = Snapshot(
            nonce=s.nonce,
            residents=s.residents if residents is None else list(residents),
            rules=s.rules if rules is None else rules,
            entrances=s.entrances if entrances is None else list(entrances),
        )

    # -- HTTP ------------------------------------------------------------------------------

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:
                pass

            def _send(self, code: int, body: bytes = b"", ctype="application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authed(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {server.secret}":
                    self._send(401, b'{"error":"device_revoked"}')
                    return False
                return True

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self) -> None:
                if server.down:
                    return self._send(503)
                path = urlsplit(self.path).path
                if path == "/api/v1/device/enrol":
                    data = json.loads(self._body())
                    if data.get("token") != server.token:
                        return self._send(401, b'{"error":"bad_device_token"}')
                    server.token = None
                    out = {
                        "device_id": server.device,
                        "name": "gate-1",
                        "secret": server.secret,
                        "public_key": public_key_text(server.signer.public),
                        "key_id": server.signer.key_id,
                        "mqtt": {"url": server.mqtt_url, "topic_prefix": "facegate/v1"},
                        "server_time": time.time(),
                    }
                    return self._send(200, json.dumps(out).encode())
                self._send(404)

            def do_GET(self) -> None:
                if server.down:
                    return self._send(503)
                parts = urlsplit(self.path)
                if parts.path != "/api/v1/device/snapshot" or not self._authed():
                    return None if parts.path == "/api/v1/device/snapshot" else self._send(404)
                nonce = server.fixed_nonce or parse_qs(parts.query)["nonce"][0]
                snap = server.state.model_copy(update={"nonce": nonce})
                server.snapshots_served += 1
                env = server.signer.seal(Kind.SNAPSHOT, server.device, snap, version=server.version)
                self._send(200, env)

            def do_PUT(self) -> None:
                if server.down:
                    return self._send(503)
                parts = urlsplit(self.path).path.split("/")
                if not self._authed():
                    return None
                event_id = parts[-2]
                if event_id not in server.events:
                    return self._send(409, b'{"error":"event_unknown"}')
                server.shots[event_id] = self._body()
                self._send(204)

        return Handler
