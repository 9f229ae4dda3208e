"""The server's MQTT connection (paho-mqtt), kept alive across broker restarts.

paho's network thread reconnects on its own (backoff 1 to 30 s); `state` says where it
is (`connecting`, `connected`, `reconnecting`) for /health, and the subscriptions are made
again on every connect. Publishing waits for the broker's PUBACK (QoS 1), so a caller
knows what the broker took: the change publisher marks a change published only then.

Incoming messages are acknowledged by hand (`ack`) after what they carry is committed,
so a message the server could not store is not lost on the broker's side of a crash.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import unquote, urlsplit, urlunsplit

import paho.mqtt.client as mqtt

from facegate.fleet.config import FleetConfig

log = logging.getLogger("facegate.server.fleet")

Handler = Callable[[mqtt.MQTTMessage], None]


def strip_login(url: str) -> str:
    """The URL without user:password (what devices are told, and what is logged)."""
    p = urlsplit(url)
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{p.port}" if p.port else host
    return urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment))


class Broker:
    """One MQTT client of the server: connect, subscribe, publish with acknowledgement."""

    def __init__(self, cfg: FleetConfig, *, client_id: str | None = None) -> None:
        assert cfg.mqtt_url is not None
        self.cfg = cfg
        url = urlsplit(cfg.mqtt_url)
        self.host = url.hostname or "127.0.0.1"
        self.tls = url.scheme == "mqtts"
        self.port = url.port or (8883 if self.tls else 1883)
        user = unquote(url.username) if url.username else None
        password = unquote(url.password) if url.password else None
        if user is None and cfg.broker_auth.mode == "dynsec":
            user, password = cfg.broker_auth.admin_username, cfg.broker_auth.admin_password
        self.client_id = client_id or f"facegate-server-{uuid.uuid4().hex[:10]}"
        self.state = "connecting"
        self.since = time.time()
        self._subs: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if user:
            c.username_pw_set(user, password)
        if self.tls:
            c.tls_set(ca_certs=cfg.tls_ca_file, cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(1, 30)
        c.max_inflight_messages_set(1000)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self.client = c

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        log.info(
            "fleet: connecting to %s as %s", strip_login(self.cfg.mqtt_url or ""), self.client_id
        )
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self.state = "off"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def _set(self, state: str) -> None:
        if state != self.state:
            self.state, self.since = state, time.time()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("fleet: the broker refused the connection: %s", reason_code)
            self._set("reconnecting")
            return
        with self._lock:
            subs = list(self._subs)
        for topic in subs:
            client.subscribe(topic, qos=1)
        self._connected.set()
        if self.state != "connected":
            log.info("fleet: connected to the broker")
        self._set("connected")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        if self.state != "off":
            log.warning("fleet: broker connection lost (%s); reconnecting", reason_code)
            self._set("reconnecting")

    # -- messages -----------------------------------------------------------------------------

    def subscribe(self, topic: str, handler: Handler) -> None:
        """`handler` gets every message on `topic` (a filter, maybe `$share/...`); it must
        call `ack(msg)` once done with it."""
        with self._lock:
            self._subs[topic] = handler
        if self.connected:
            self.client.subscribe(topic, qos=1)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        handler = None
        with self._lock:
            for flt, h in self._subs.items():
                plain = flt.split("/", 2)[2] if flt.startswith("$share/") else flt
                if mqtt.topic_matches_sub(plain, msg.topic):
                    handler = h
                    break
        if handler is None:
            self.ack(msg)
            return
        try:
            handler(msg)
        except Exception:
            log.exception("fleet: a message on %s could not be handled", msg.topic)
            self.ack(msg)

    def ack(self, msg: mqtt.MQTTMessage) -> None:
        if msg.qos > 0:
            self.client.ack(msg.mid, msg.qos)

    def publish(self, messages: list[tuple[str, bytes, bool]], timeout: float = 10.0) -> bool:
        """Publish (topic, payload, retain) at QoS 1; True once the broker acknowledged
        every one. False (nothing is retried here) when not connected or not acknowledged
        in time: the caller keeps its outbox and tries again."""
        if not self.connected:
            return False
        infos = []
        for topic, payload, retain in messages:
            info = self.client.publish(topic, payload, qos=1, retain=retain)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return False
            infos.append(info)
        end = time.monotonic() + timeout
        for info in infos:
            left = end - time.monotonic()
            try:
                info.wait_for_publish(max(0.0, left))
            except (RuntimeError, ValueError):
                return False
            if not info.is_published():
                return False
        return True
