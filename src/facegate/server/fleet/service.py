"""The fleet service of one server process (started when `fleet.mqtt_url` is set).

* Publisher: a thread that takes unpublished `fleet_changes` in order (on PostgreSQL with
  `FOR UPDATE SKIP LOCKED`, so replicas share the work and never publish one change
  twice), works out each affected device's delta (`operations.fleet_fanout`), bumps and
  commits the devices' versions, publishes the signed deltas and heads (retained) at
  QoS 1, and only then marks the changes published. Broker down: nothing is claimed, the
  outbox waits; a crash after the bump shows the device a gap, and it takes a snapshot.
* Subscriber: device events (a shared subscription, so replicas split them), stored once
  per event id and acknowledged on the device's `acks` topic after the commit; device
  status (retained, with the offline last will) onto the `devices` row.
* Pruning: hourly, the published changes no revision needs (`operations.fleet_prune`).
* `BrokerLink` for the operations: per-device logins (dynsec) and commands.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from facegate.fleet.config import FleetConfig
from facegate.fleet.protocol import DeviceStatus, EventAck, EventBatch, Kind, Signer, Topics
from facegate.server.db import fleet_capture
from facegate.server.db.database import transaction
from facegate.server.db.fleet_models import Device
from facegate.server.fleet.broker import Broker, strip_login
from facegate.server.fleet.dynsec import DynSec
from facegate.server.operations import devices as device_ops
from facegate.server.operations import fleet_fanout, fleet_prune, fleet_sync
from facegate.vault import Vault

log = logging.getLogger("facegate.server.fleet")

BATCH = 200  # changes per publish round
IDLE_S = 0.2  # how often an idle publisher looks for changes
HEAD_SWEEP_S = 30.0
PRUNE_EVERY_S = 3600.0  # published changes older than a day go (operations.fleet_prune)
SHARE = "$share/facegate"
#: One ingest transaction: at most this many messages, or this many bytes of them (about
#: 6,000 events). 50,000 events in one transaction stored no faster than 5,000 and held
#: 200 MB more until the commit (profiled on PostgreSQL); acks also come sooner.
INGEST_MESSAGES = 500
INGEST_BYTES = 2_000_000


class FleetService:
    """Owns the broker connection and the publisher and ingest threads."""

    enabled = True

    def __init__(
        self,
        cfg: FleetConfig,
        sessions: sessionmaker[Session],
        signer: Signer,
        vault: Vault,
        timezone: str | None,
    ) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.signer = signer
        self.vault = vault
        self.timezone = timezone
        self.broker = Broker(cfg)
        self.dynsec = (
            DynSec(self.broker, cfg.topic_prefix) if cfg.broker_auth.mode == "dynsec" else None
        )
        self.published = 0  # changes published by this process (tests, metrics)
        self.pruned = 0  # published changes this process deleted as no longer needed
        self.prune_every_s = PRUNE_EVERY_S
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._inbox: queue.Queue[tuple[str, mqtt.MQTTMessage]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._publish_lock = threading.Lock()
        self._pg = sessions.kw["bind"].dialect.name == "postgresql"
        self._unhook: Callable[[], None] = lambda: None
        all_ = Topics(cfg.topic_prefix, "+")
        self.broker.subscribe(f"{SHARE}/{all_.events}", lambda m: self._inbox.put(("events", m)))
        self.broker.subscribe(all_.status, lambda m: self._inbox.put(("status", m)))

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._unhook = fleet_capture.on_commit(self.sessions, self.wake)
        self.broker.start()
        for name, target in (("publisher", self._publisher), ("ingest", self._ingester)):
            t = threading.Thread(target=target, name=f"fleet-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def close(self) -> None:
        self._unhook()
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(15)
        self.broker.close()

    def wake(self) -> None:
        """Look for changes now rather than at the next tick (after each commit in this
        process that recorded a change; other replicas' changes wait for the tick)."""
        self._wake.set()

    def health(self) -> str:
        return self.broker.state

    # -- BrokerLink -------------------------------------------------------------------------

    def device_url(self) -> str | None:
        return self.cfg.device_mqtt_url or strip_login(self.cfg.mqtt_url or "")

    def add_device(self, device_id: int) -> tuple[str | None, str | None]:
        if self.dynsec is None:
            return None, None
        return self.dynsec.add_device(device_id)

    def remove_device(self, device_id: int) -> None:
        if self.dynsec is not None:
            self.dynsec.remove_device(device_id)

    def send(self, device_id: int, payload: bytes) -> None:
        from facegate.server.errors import BrokerUnavailable

        topic = Topics(self.cfg.topic_prefix, device_id).cmd
        if not self.broker.publish([(topic, payload, False)], timeout=5.0):
            raise BrokerUnavailable(
                "the MQTT broker is not reachable; the command was not sent", retry_after=5
            )

    # -- publisher ----------------------------------------------------------------------------

    def _publisher(self) -> None:
        last_sweep = 0.0
        last_prune = time.monotonic()  # not at start-up: replicas restarting together
        while not self._stop.is_set():
            if time.monotonic() - last_prune > self.prune_every_s:
                self.prune()  # needs no broker: it only reads and deletes rows
                last_prune = time.monotonic()
            n = 0
            if self.broker.connected:
                try:
                    n = self.publish_pending()
                    if time.monotonic() - last_sweep > HEAD_SWEEP_S:
                        self.republish_heads()
                        last_sweep = time.monotonic()
                except Exception:
                    log.exception("fleet: publishing changes failed; retrying")
                    n = 0
                    self._stop.wait(1.0)
            if n == 0:
                self._wake.wait(IDLE_S)
                self._wake.clear()

    def _head(self, device_id: int, version: int) -> tuple[str, bytes, bool]:
        t = Topics(self.cfg.topic_prefix, device_id)
        return (t.head, self.signer.seal(Kind.HEAD, device_id, {}, version=version), True)

    def publish_pending(self) -> int:
        """One round: claim up to `BATCH` changes, publish every affected device's delta
        and head, mark them published. Returns how many changes it published."""
        with self._publish_lock, self.sessions() as claim:
            changes = fleet_fanout.claim_changes(claim, BATCH)
            if not changes:
                return 0
            seqs = [c.seq for c in changes]
            if not self._pg:  # SQLite: one publisher per process; no read held open
                claim.expunge_all()  # the rows keep what they loaded
                claim.rollback()
            with transaction(self.sessions) as s:
                out = fleet_fanout.fan_out(s, self.vault, changes, self.timezone)
            messages: list[tuple[str, bytes, bool]] = []
            for o in out:
                t = Topics(self.cfg.topic_prefix, o.device)
                messages.append(
                    (
                        t.sync,
                        self.signer.seal(
                            Kind.DELTA, o.device, o.delta, version=o.version, prev=o.prev
                        ),
                        False,
                    )
                )
                messages.append(self._head(o.device, o.version))
            heads = {o.device: o.version for o in out}
            # the versions are committed: from here a crash is a gap, never a reuse
            if not self.broker.publish(messages, timeout=30.0):
                log.warning(
                    "fleet: the broker did not take %d messages; changes %d..%d stay queued",
                    len(messages),
                    seqs[0],
                    seqs[-1],
                )
                return 0
            if self._pg:
                fleet_fanout.mark_published(claim, seqs, heads)
                claim.commit()
            else:
                with transaction(self.sessions) as s:
                    fleet_fanout.mark_published(s, seqs, heads)
            self.published += len(seqs)
            log.debug("fleet: published %d changes to %d devices", len(seqs), len(heads))
            return len(seqs)

    def prune(self) -> int:
        """Delete the published changes no device's revision needs (`fleet_prune`); a
        failure is logged and tried again at the next turn."""
        try:
            with transaction(self.sessions) as s:
                n = fleet_prune.prune_changes(s)
        except Exception:
            log.exception("fleet: pruning published changes failed; next turn")
            return 0
        self.pruned += n
        if n:
            log.info("fleet: pruned %d published changes", n)
        return n

    def republish_heads(self) -> None:
        with self.sessions() as s:
            pending = fleet_fanout.unpublished_heads(s)
        if not pending:
            return
        if self.broker.publish([self._head(d, v) for d, v in pending]):
            with transaction(self.sessions) as s:
                fleet_fanout.mark_published(s, [], dict(pending))

    # -- subscriber -------------------------------------------------------------------------

    def _ingester(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            batch, size = [first], len(first[1].payload)
            while len(batch) < INGEST_MESSAGES and size < INGEST_BYTES:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
                size += len(batch[-1][1].payload)
            self._handle(batch)

    def _handle(self, batch: list[tuple[str, mqtt.MQTTMessage]]) -> None:
        """Store a batch of messages in one transaction, then ack them (MQTT and
        `EventAck`). A database failure is retried; after that the messages are
        acknowledged to the broker without an `EventAck`, so devices send them again."""
        events: list[tuple[int, EventBatch]] = []
        statuses: list[tuple[int, DeviceStatus]] = []
        for kind, msg in batch:
            dev = Topics.device_of(msg.topic)
            try:
                if dev is None:
                    raise ValueError("no device in the topic")
                if kind == "events":
                    events.append((dev, EventBatch.model_validate_json(msg.payload)))
                elif msg.payload:  # an emptied retained status is no status
                    statuses.append((dev, DeviceStatus.model_validate_json(msg.payload)))
            except (ValidationError, ValueError) as exc:
                log.warning("fleet: a malformed %s message on %s: %s", kind, msg.topic, exc)
        acks: dict[int, list[str]] = {}
        for attempt in range(3):
            try:
                acks = self._store(events, statuses)
                break
            except Exception:
                log.exception("fleet: storing %d device messages failed", len(batch))
                self._stop.wait(1.0 + attempt)
        else:  # one bad message must not hold up the others: each on its own
            for one in [([e], []) for e in events] + [([], [st]) for st in statuses]:
                try:
                    for dev, ids in self._store(*one).items():
                        acks.setdefault(dev, []).extend(ids)
                except Exception:
                    log.exception("fleet: a device message could not be stored; dropped")
        for _, msg in batch:
            self.broker.ack(msg)
        if acks:
            self.broker.publish(
                [
                    (
                        Topics(self.cfg.topic_prefix, dev).acks,
                        EventAck(ids=ids).model_dump_json().encode(),
                        False,
                    )
                    for dev, ids in acks.items()
                ],
                timeout=10.0,
            )

    def _store(
        self, events: list[tuple[int, EventBatch]], statuses: list[tuple[int, DeviceStatus]]
    ) -> dict[int, list[str]]:
        acks: dict[int, list[str]] = {}
        with transaction(self.sessions) as s:
            ids = {d for d, _ in events}
            live = set(
                s.scalars(
                    select(Device.id).where(
                        Device.id.in_(ids),
                        Device.enrolled_at.is_not(None),
                        Device.revoked_at.is_(None),
                    )
                )
                if ids
                else []
            )
            good = []
            for dev, eb in events:
                if dev not in live or eb.device != dev:
                    log.warning(
                        "fleet: events from device %d refused (unknown, revoked or not its topic)",
                        dev,
                    )
                    continue
                good.append((dev, eb))
            acks = fleet_sync.ingest(s, good)
            device_ops.mark_seen(s, acks)  # once per device, however many batches it sent
            device_ops.apply_statuses(s, statuses)
        return acks
