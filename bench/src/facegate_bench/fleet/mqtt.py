"""Thousands of MQTT clients in one process: paho-mqtt 2 driven by the asyncio loop.

paho's own `loop_start` costs a thread per client (and a socket pair), which is what the edge
agent wants for its one connection but not what a thousand simulated devices in one process
can afford. paho also supports an external event loop: the loop watches the socket and calls
`loop_read` / `loop_write`; `loop_misc` (keep-alive pings, timeouts) is due about once a
second. Here one `Hub` does that for every client, with one ticker task instead of one per
client, and reconnects a client whose broker went away (with jittered back-off, so a broker
restart is not met by every client in the same millisecond).

Sessions are persistent (MQTT 3.1.1 clean_session false, fixed client ids), as the fleet
contract asks of devices: QoS 1 messages queued while a client was away arrive when it
comes back.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes], None]


class Conn:
    """One client: topics to subscribe on every (re)connect and a message handler."""

    def __init__(
        self,
        hub: Hub,
        client_id: str,
        on_message: OnMessage,
        subscriptions: list[str],
        *,
        will: tuple[str, bytes] | None = None,
        on_up: Callable[[], None] | None = None,
        on_down: Callable[[], None] | None = None,
    ) -> None:
        self.hub = hub
        self.subscriptions = subscriptions
        self.on_up = on_up
        self.on_down = on_down
        self.started = False
        self.connected = False
        self.connecting = False
        self.retry_at = 0.0
        self.backoff = 0.5
        self.connects = 0
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=paho.MQTTv311,
        )
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)  # paho keeps QoS 1 messages while away
        if will:
            c.will_set(will[0], will[1], qos=1, retain=True)
        c.on_socket_open = self._open
        c.on_socket_close = self._close
        c.on_socket_register_write = self._want_write
        c.on_socket_unregister_write = self._no_write
        c.on_connect = self._connected
        c.on_disconnect = self._disconnected
        c.on_message = lambda _c, _u, m: on_message(m.topic, m.payload)
        self.client = c

    # -- socket plumbing (called by paho) ----------------------------------------------------

    def _open(self, client, _userdata, sock) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)
        self.hub.loop.add_reader(sock, self._read)

    def _close(self, client, _userdata, sock) -> None:
        self.hub.loop.remove_reader(sock)
        self.hub.loop.remove_writer(sock)

    def _want_write(self, client, _userdata, sock) -> None:
        self.hub.loop.add_writer(sock, self._write)

    def _no_write(self, client, _userdata, sock) -> None:
        self.hub.loop.remove_writer(sock)

    def _read(self) -> None:
        self.client.loop_read()

    def _write(self) -> None:
        self.client.loop_write()

    # -- session ------------------------------------------------------------------------------

    def _connected(self, client, _userdata, _flags, reason, _props) -> None:
        self.connecting = False
        if reason.is_failure:
            self._schedule_retry()
            return
        self.connected = True
        self.connects += 1
        self.backoff = 0.5
        if self.subscriptions:
            client.subscribe([(t, 1) for t in self.subscriptions])
        if self.on_up:
            self.on_up()

    def _disconnected(self, client, _userdata, _flags, _reason, _props) -> None:
        self.connected = False
        self.connecting = False
        if self.on_down:
            self.on_down()
        if not self.hub.closing:
            self._schedule_retry()

    def _schedule_retry(self) -> None:
        self.retry_at = time.monotonic() + self.backoff * (0.5 + random.random())
        self.backoff = min(self.backoff * 2, 5.0)

    def start(self) -> None:
        self.started = True
        self.connecting = True
        try:
            self.client.connect(self.hub.host, self.hub.port, keepalive=60)
        except OSError:
            self.connecting = False
            self._schedule_retry()

    def tick(self, now: float) -> None:
        if not self.started:
            return
        if self.connected or self.connecting:
            self.client.loop_misc()
            return
        if now >= self.retry_at:
            self.connecting = True
            try:
                self.client.reconnect()
            except OSError:
                self.connecting = False
                self._schedule_retry()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """QoS 1; False when paho could not take it (not connected: the caller retries)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def close(self) -> None:
        if self.connected:
            self.client.disconnect()


class Hub:
    """The clients of one process on one asyncio loop, and their shared ticker."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.loop = asyncio.get_running_loop()
        self.conns: list[Conn] = []
        self.closing = False
        self._ticker = self.loop.create_task(self._tick())

    def add(self, conn: Conn) -> Conn:
        self.conns.append(conn)
        return conn

    async def connect_all(self, conns: list[Conn], timeout_s: float = 120.0) -> float:
        """Connect `conns` (a few at a time, yielding to the loop) and wait until every one
        is up; returns the seconds it took."""
        t0 = time.perf_counter()
        for i, c in enumerate(conns):
            c.start()
            if i % 50 == 49:
                await asyncio.sleep(0)
        deadline = time.monotonic() + timeout_s
        while not all(c.connected for c in conns):
            if time.monotonic() > deadline:
                down = sum(not c.connected for c in conns)
                raise TimeoutError(f"{down} of {len(conns)} MQTT clients did not connect")
            await asyncio.sleep(0.05)
        return time.perf_counter() - t0

    async def _tick(self) -> None:
        while not self.closing:
            now = time.monotonic()
            for i, c in enumerate(self.conns):
                try:
                    c.tick(now)
                except Exception:  # one client's trouble must not stop the others' ticks
                    log.exception("MQTT client %s", c.client._client_id)
                if i % 200 == 199:
                    await asyncio.sleep(0)
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        self.closing = True
        for c in self.conns:
            c.close()
        await asyncio.sleep(0.2)
        self._ticker.cancel()
