"""Simulated edge devices: each one the edge agent's own sync client, store and outbox, all
in one process.

A device here is `facegate.fleet.edge.sync.SyncClient` with its `EdgeStore` and `Outbox`
(SQLite files in its own data dir), exactly as `facegate edge` builds it, minus the camera:
its deltas, heads and acks go through the agent's own handlers, its snapshots through the
agent's own `snapshot()` (in a small thread pool, as the agent runs it on its worker
thread), its events through the agent's own outbox and `publish_events`. What differs is
only the MQTT transport: the agent gives each device a paho thread, which a thousand devices
in one process cannot afford, so here every device's paho client is driven by one asyncio
loop (`mqtt.Hub`) and the sync client publishes through it (`_Transport`).

The timing hooks: `applied[resident_id]` is when a delta or snapshot holding that resident
(of those the benchmark watches) was committed to the device's store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from facegate.fleet import protocol as p
from facegate.fleet.config import EdgeBudget
from facegate.fleet.edge.http import Credentials
from facegate.fleet.edge.outbox import Outbox
from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.edge.sync import SyncClient
from facegate.vault import Vault, new_key
from facegate_bench.fleet.mqtt import Conn, Hub

log = logging.getLogger(__name__)

RESEND_S = 30.0  # an event not acknowledged after this long goes out again (the agent's)
HEAD_GRACE_S = 3.0  # as the agent's default


class _Transport:
    """Stands in for the paho client a `SyncClient` makes for itself: its publishes go
    out on the device's hub-driven connection (and are counted, for the resend figure)."""

    def __init__(self) -> None:
        self.conn: Conn | None = None
        self.published_events = 0
        self.events_topic = ""

    def publish(self, topic: str, payload: Any, qos: int = 0, retain: bool = False):
        if topic == self.events_topic:
            text = payload if isinstance(payload, str) else payload.decode()
            self.published_events += text.count('"id":"')
        return self.conn.client.publish(topic, payload, qos=qos, retain=retain)

    def disconnect(self) -> None:
        pass

    def loop_stop(self) -> None:
        pass


class BenchSync(SyncClient):
    """The agent's sync client with the benchmark's transport instead of its own thread."""

    def _mqtt_client(self) -> Any:  # the one thing replaced: see the module docstring
        self.transport = _Transport()
        return self.transport


class SimDevice:
    def __init__(self, fleet: Fleet, creds: Credentials, data_dir: Path) -> None:
        self.fleet = fleet
        self.id = creds.device_id
        self.creds = creds
        vault = Vault([new_key()])
        self.store = EdgeStore(data_dir / "store.sqlite", vault)
        self.outbox = Outbox(data_dir / "outbox.sqlite", EdgeBudget(), vault)
        self.sync = BenchSync(
            creds, self.store, self.outbox, head_grace_s=HEAD_GRACE_S, resend_after_s=RESEND_S
        )
        self.topics = self.sync.topics
        self.sync.transport.events_topic = self.topics.events
        self.applied: dict[int, float] = {}
        self.removed: dict[int, float] = {}
        self.want = 0  # the newest version a head or delta named
        self.unsent = 0
        self.unacked = 0
        self.last_publish = 0.0
        self.gaps = 0
        will = p.DeviceStatus(device=self.id, online=False).model_dump_json().encode()
        self.conn = Conn(
            fleet.hub,
            f"facegate-device-{self.id}",
            self.on_message,
            [self.topics.sync, self.topics.head, self.topics.cmd, self.topics.acks],
            will=(self.topics.status, will),
            on_up=self._up,
            on_down=self.sync.connected.clear,
        )
        self.sync.transport.conn = self.conn
        fleet.hub.add(self.conn)

    def _up(self) -> None:
        """As the agent's `_on_connect`: what was in flight may be lost, send it again."""
        self.outbox.resend_all()
        self.unsent = self.unacked
        self.sync.connected.set()
        self.sync.publish_status(force=True)

    # -- what the server says ---------------------------------------------------------------

    def on_message(self, topic: str, payload: bytes) -> None:
        leaf = topic.rsplit("/", 1)[1]
        try:
            if leaf == "sync":
                self._delta(payload)
            elif leaf == "head":
                self._head(payload)
            elif leaf == "acks":
                n = self.sync.handle_ack(payload)
                self.unacked = max(0, self.unacked - n)
            elif leaf == "cmd":
                self.sync.handle_command(payload)
        except Exception:  # as the agent: no message may stop the device
            log.exception("device %s: a %s message could not be handled", self.id, leaf)

    def _delta(self, payload: bytes) -> None:
        t = time.perf_counter()
        step = self.sync.handle_delta(payload)
        if step is None:
            return
        if step is p.Step.APPLY:
            self.fleet.apply_s.append(time.perf_counter() - t)
        raw = json.loads(payload)
        self.want = max(self.want, int(raw.get("version") or 0))
        if step in (p.Step.APPLY, p.Step.GAP) and self.fleet.watch:
            now = time.time()
            for op in raw["body"].get("ops", ()):
                kind = op.get("op")
                if kind == "remove_resident" and op["id"] in self.fleet.watch:
                    self.removed.setdefault(op["id"], now)  # applied even on a gap
                elif (
                    step is p.Step.APPLY
                    and kind == "upsert_resident"
                    and op["resident"].get("templates")
                    and op["resident"]["id"] in self.fleet.watch
                ):
                    self.applied.setdefault(op["resident"]["id"], now)
        if step is p.Step.GAP:
            self.gaps += 1
            self.fleet.attend(self)

    def _head(self, payload: bytes) -> None:
        self.sync.handle_head(payload)
        version = json.loads(payload).get("version") or 0
        self.want = max(self.want, int(version))
        if (self.store.version or -1) < self.want:
            self.fleet.hub.loop.call_later(HEAD_GRACE_S + 0.2, self.fleet.attend, self)

    @property
    def behind(self) -> bool:
        v = self.store.version
        return v is None or v < self.want

    def tick(self) -> None:
        """The agent's background round (head deadline, snapshot with back-off); run in the
        fleet's thread pool, never on the loop (a snapshot is a blocking HTTP request)."""
        self.sync.tick()
        self._seen_in_store(time.time())

    def first_snapshot(self) -> None:
        self.sync.snapshot()
        self._seen_in_store(time.time())

    def _seen_in_store(self, now: float) -> None:
        """After a snapshot: watched residents it brought, and those it no longer holds."""
        for rid in self.fleet.watch:
            held = self.store.rev(rid) is not None
            if rid not in self.applied and held:
                self.applied[rid] = now
            elif rid in self.applied and rid not in self.removed and not held:
                self.removed[rid] = now

    # -- events ------------------------------------------------------------------------------

    def queue_events(self, n: int, tag: str) -> list[str]:
        """`n` door events into the agent's outbox (each committed, as a door does)."""
        ids = []
        now = time.time()
        for i in range(n):
            ev = p.EventRecord(
                id=uuid.uuid4().hex,
                entrance=self.fleet.entrance_of.get(self.id, "bench"),
                time=now,
                decision="denied",
                reason=tag,
                track=i,
                scores={"sface": 0.1},
            )
            self.outbox.add(ev)
            ids.append(ev.id)
        self.unsent += n
        self.unacked += n
        return ids

    def pump(self, now: float) -> None:
        """Send what is due, as the agent's worker does, when there is something to send or
        an unacknowledged event may be due again."""
        if not self.sync.connected.is_set():
            return
        if self.unsent > 0 or (self.unacked > 0 and now - self.last_publish > RESEND_S):
            sent = self.sync.publish_events()
            self.unsent = max(0, self.unsent - sent)
            if sent:
                self.last_publish = now

    def close(self) -> None:
        self.store.close()
        self.outbox.close()


@dataclass
class Fleet:
    """The devices of one run, their MQTT hub, thread pool and HTTP client."""

    server_url: str
    hub: Hub
    root: Path
    devices: list[SimDevice] = field(default_factory=list)
    watch: set[int] = field(default_factory=set)
    apply_s: list[float] = field(default_factory=list)  # each delta's verify + apply
    entrance_of: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.server_url, timeout=60)
        self.slots = asyncio.Semaphore(8)
        self.pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="device")
        self._attention: set[SimDevice] = set()
        self.paused = False  # hold events back (while an outbox is being filled)
        self._tasks = [
            asyncio.ensure_future(self._pumping()),
            asyncio.ensure_future(self._attending()),
        ]

    async def enrol(self, token: str) -> Credentials:
        """The agent's enrolment request, made asynchronously (`edge.http.enrol` blocks)."""
        async with self.slots:
            r = await self.http.post(
                "/api/v1/device/enrol",
                json={"token": token, "software": "facegate-bench", "hostname": "bench"},
            )
        r.raise_for_status()
        d: dict[str, Any] = r.json()
        return Credentials(
            server=self.server_url,
            device_id=d["device_id"],
            name=d.get("name", ""),
            secret=d["secret"],
            public_key=d["public_key"],
            key_id=d.get("key_id", ""),
            mqtt=d["mqtt"],
            enrolled_at=time.time(),
        )

    def add(self, creds: Credentials) -> SimDevice:
        dev = SimDevice(self, creds, self.root / f"device-{creds.device_id}")
        self.devices.append(dev)
        return dev

    async def snapshot(self, dev: SimDevice) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.5
        while True:
            try:
                await loop.run_in_executor(self.pool, dev.first_snapshot)
                return
            except Exception as exc:  # Unreachable/Refused: back off as the agent does
                log.warning("device %s: snapshot failed (%s)", dev.id, exc)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 10.0)

    def attend(self, dev: SimDevice) -> None:
        if dev.behind:
            self._attention.add(dev)

    async def _attending(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.25)
            for dev in list(self._attention):
                if not dev.behind:
                    self._attention.discard(dev)
            busy = [loop.run_in_executor(self.pool, d.tick) for d in self._attention]
            if busy:
                await asyncio.gather(*busy, return_exceptions=True)

    async def _pumping(self) -> None:
        while True:
            if self.paused:
                await asyncio.sleep(0.05)
                continue
            now = time.time()
            for i, d in enumerate(self.devices):
                if d.unacked:
                    d.pump(now)
                if i % 250 == 249:
                    await asyncio.sleep(0)
            await asyncio.sleep(0.05)

    def unacked(self) -> int:
        return sum(d.unacked for d in self.devices)

    def published_events(self) -> int:
        return sum(d.sync.transport.published_events for d in self.devices)

    def behind(self, devices: Iterable[SimDevice] | None = None) -> int:
        return sum(d.behind for d in devices or self.devices)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.http.aclose()
        self.pool.shutdown(wait=True)
        for d in self.devices:
            d.close()
