"""The device's side of the fleet protocol: keeps the `EdgeStore` in step with the server,
sends the `Outbox` up, carries out the server's commands, and reports the device's status.

Why it is built this way:
- MQTT (paho, its own network thread, reconnect with backoff, a persistent session) carries
  everything small and frequent; HTTP carries what is big or must be asked for (snapshot,
  best shots). A message handler never blocks on the network: a snapshot or an upload is
  left to this client's worker thread.
- Nothing that changes what the door decides is taken on trust: every delta, head,
  snapshot and command is an envelope opened by `protocol.Verifier` (signed by the server's
  key, for this device), then the version rule (`next_step`), the snapshot nonce, or the
  command's expiry and id. A message that fails is refused with its reason logged and
  counted; no message can stop this client.
- A gap is mended by a snapshot (after the gap's revocations were applied), fetched with
  backoff; a head newer than what the device holds, with no delta arriving within
  `head_grace_s`, means deltas were lost (an expired session): snapshot as well.
- Events are at-least-once from here (publish QoS 1, resend until the server's ack) and
  exactly-once upstream (the server stores each event id once).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from facegate import __version__
from facegate.fleet.edge.http import Credentials, DeviceHttp, Refused, Unreachable
from facegate.fleet.edge.outbox import Outbox
from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.protocol import (
    MAX_BATCH,
    Command,
    Delta,
    DeviceStatus,
    EntranceState,
    EventAck,
    EventBatch,
    Kind,
    ProtocolError,
    Snapshot,
    Step,
    Topics,
    Verifier,
    check_command,
    load_public_key,
)

log = logging.getLogger("facegate.edge.sync")

SEEN_KEEP_S = 86400.0  # a command id is remembered this long past its expiry


class SyncClient:
    def __init__(
        self,
        creds: Credentials,
        store: EdgeStore,
        outbox: Outbox,
        *,
        on_command: Callable[[Command], None] = lambda cmd: None,
        entrance_states: Callable[[], dict[str, EntranceState]] = dict,
        head_grace_s: float = 3.0,
        status_every_s: float = 30.0,
        resend_after_s: float = 30.0,
        http_timeout_s: float = 10.0,
        tls_ca_file: str | None = None,
    ) -> None:
        self.creds = creds
        self.tls_ca_file = tls_ca_file
        self.store = store
        self.outbox = outbox
        self.http = DeviceHttp(creds, http_timeout_s)
        self.verifier = Verifier(load_public_key(creds.public_key), creds.device_id)
        self.topics = Topics(creds.mqtt.topic_prefix, creds.device_id)
        self._on_command = on_command
        self._entrance_states = entrance_states
        self.head_grace_s = head_grace_s
        self.status_every_s = status_every_s
        self.resend_after_s = resend_after_s
        self.refused: dict[str, int] = {}
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._need_snapshot: str | None = None
        self._snapshot_next = 0.0
        self._snapshot_backoff = 1.0
        self._head: int | None = None
        self._head_deadline: float | None = None
        self._last_status: tuple[str, float] | None = None
        self._worker: threading.Thread | None = None
        self._client = self._mqtt_client()

    # -- MQTT ---------------------------------------------------------------------------------

    def _mqtt_client(self) -> mqtt.Client:
        m = self.creds.mqtt
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"facegate-device-{self.creds.device_id}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if m.username:
            c.username_pw_set(m.username, m.password)
        if urlsplit(m.url).scheme == "mqtts":
            c.tls_set(ca_certs=self.tls_ca_file)  # None: the system's CAs
        c.will_set(self.topics.status, self._status(online=False).model_dump_json(), 1, True)
        c.reconnect_delay_set(1, 60)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        return c

    def start(self) -> None:
        """Connect in the background (the broker may be away: paho keeps trying) and start
        the worker that fetches snapshots, sends events and reports status."""
        parts = urlsplit(self.creds.mqtt.url)
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self._client.connect_async(parts.hostname or "127.0.0.1", port, keepalive=30)
        self._client.loop_start()
        self._worker = threading.Thread(target=self._work, name="edge-sync", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        """Say offline (a clean disconnect sends no last will), then disconnect."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(10)
        if self.connected.is_set():
            info = self._client.publish(
                self.topics.status, self._status(online=False).model_dump_json(), 1, True
            )
            info.wait_for_publish(2.0)
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        log.info("connected to the broker %s", self.creds.mqtt.url)
        t = self.topics
        client.subscribe([(t.sync, 1), (t.head, 1), (t.cmd, 1), (t.acks, 1)])
        self.outbox.resend_all()
        self.connected.set()
        self._last_status = None  # say who we are again at once

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("broker connection lost (%s); events queue in the outbox", reason)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        handlers = {
            self.topics.sync: self.handle_delta,
            self.topics.head: self.handle_head,
            self.topics.cmd: self.handle_command,
            self.topics.acks: self.handle_ack,
        }
        handler = handlers.get(msg.topic)
        if handler is None:
            return
        try:
            handler(msg.payload)
        except Exception:  # a bug must not take the network thread down
            log.exception("message on %s could not be handled", msg.topic)

    # -- what the server says ---------------------------------------------------------------

    def _refuse(self, exc: ProtocolError | ValidationError, what: str) -> None:
        code = exc.code if isinstance(exc, ProtocolError) else "malformed"
        self.refused[code] = self.refused.get(code, 0) + 1
        log.warning("refused a %s message (%s): %s", what, code, exc)

    def handle_delta(self, payload: bytes) -> Step | None:
        """A delta envelope: applied, ignored as a duplicate, or a gap (its revocations
        applied, a snapshot asked for); None when refused."""
        try:
            env = self.verifier.open(payload, Kind.DELTA)
            delta = Delta.model_validate(env.body)
            step = self.store.apply_delta(env.prev, env.version, delta)
        except (ProtocolError, ValidationError) as exc:
            self._refuse(exc, "delta")
            return None
        if step is Step.GAP:
            log.warning(
                "delta %s->%s does not follow version %s: revocations applied, snapshot next",
                env.prev, env.version, self.store.version,
            )  # fmt: skip
            self.request_snapshot("gap in the deltas")
        elif step is Step.DUPLICATE:
            log.debug("delta %s already applied", env.version)
        return step

    def handle_head(self, payload: bytes) -> None:
        """The server's newest version for this device: behind it with no delta coming
        within `head_grace_s`, take a snapshot; at it, the device is current; ahead of it
        (the server restored a backup), take a snapshot at once."""
        try:
            env = self.verifier.open(payload, Kind.HEAD)
        except ProtocolError as exc:
            self._refuse(exc, "head")
            return
        local = self.store.version
        if env.version is None:
            self._refuse(ProtocolError("malformed", "a head without a version"), "head")
            return
        with self._lock:
            self._head = env.version
            if local is None or env.version > local:
                self._head_deadline = time.monotonic() + self.head_grace_s
            else:
                self._head_deadline = None
        if local is not None and env.version < local:
            # the server's chain is behind this device (a restored backup): its next deltas
            # would all look like duplicates, so only a snapshot puts the two in step again
            log.warning("server at version %d, this device at %d: snapshot", env.version, local)
            self.request_snapshot("the server's version went back (a restored backup?)")
        elif local is not None:
            self.store.touch_sync()

    def handle_command(self, payload: bytes) -> Command | None:
        """A signed, unexpired command not seen before: remembered (so it is never carried
        out twice, even across a restart), then carried out."""
        try:
            env = self.verifier.open(payload, Kind.COMMAND)
            cmd = Command.model_validate(env.body)
            with self._lock:
                seen = self._seen()
                check_command(cmd, set(seen))
                seen[cmd.id] = cmd.expires_at
                now = time.time()
                seen = {k: v for k, v in seen.items() if v > now - SEEN_KEEP_S}
                self.store.set_meta("commands_seen", json.dumps(seen))
        except (ProtocolError, ValidationError) as exc:
            self._refuse(exc, "command")
            return None
        log.info(
            "command %s: %s %s (%s, by %s)",
            cmd.id,
            cmd.action,
            cmd.entrance or "",
            cmd.reason,
            cmd.by,
        )
        self._on_command(cmd)
        return cmd

    def _seen(self) -> dict[str, float]:
        raw = self.store.meta("commands_seen")
        return json.loads(raw) if raw else {}

    def handle_ack(self, payload: bytes) -> int:
        try:
            ack = EventAck.model_validate_json(payload)
        except ValidationError as exc:
            self._refuse(exc, "ack")
            return 0
        return self.outbox.ack(ack.ids)

    # -- snapshots ------------------------------------------------------------------------

    def request_snapshot(self, why: str) -> None:
        with self._lock:
            if self._need_snapshot is None:
                self._need_snapshot = why
                self._snapshot_next = 0.0

    def snapshot(self) -> None:
        """Fetch, check and apply a full snapshot now. Raises `Unreachable`/`Refused` when
        the server does not give one, `ProtocolError` when what it gave is not to be trusted."""
        nonce = secrets.token_hex(16)
        raw = self.http.snapshot(nonce)
        env = self.verifier.open(raw, Kind.SNAPSHOT)
        try:
            snap = Snapshot.model_validate(env.body)
        except ValidationError:
            raise ProtocolError("malformed", "a signed snapshot is malformed") from None
        if not hmac.compare_digest(snap.nonce, nonce):
            raise ProtocolError(
                "stale", "a snapshot not answering this request (nonce) was refused"
            )
        if env.version is None:
            raise ProtocolError("malformed", "a snapshot without a version")
        self.store.apply_snapshot(snap, env.version)
        with self._lock:
            self._need_snapshot = None
            self._snapshot_backoff = 1.0
            if self._head is not None and self._head <= env.version:
                self._head_deadline = None

    def _try_snapshot(self) -> None:
        with self._lock:
            why, due = self._need_snapshot, self._snapshot_next
        if why is None or time.monotonic() < due:
            return
        log.info("fetching a snapshot (%s)", why)
        try:
            self.snapshot()
        except (Unreachable, Refused, ProtocolError) as exc:
            if isinstance(exc, ProtocolError):
                self._refuse(exc, "snapshot")
            with self._lock:
                wait = self._snapshot_backoff
                self._snapshot_backoff = min(wait * 2, 60.0)
                self._snapshot_next = time.monotonic() + wait
            log.warning("snapshot failed (%s); next try in %.0f s", exc, wait)

    # -- the worker -----------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.tick()
            except Exception:
                log.exception("edge sync worker")

    def tick(self) -> None:
        """One round of background work (the worker calls it; tests may too)."""
        with self._lock:
            deadline = self._head_deadline
        if deadline is not None and time.monotonic() >= deadline:
            with self._lock:
                self._head_deadline = None
            if (self.store.version or -1) < (self._head or -1):
                self.request_snapshot(f"server at version {self._head}, no delta arrived")
        self._try_snapshot()
        if self.connected.is_set():
            self.publish_events()
        self.upload_shots()
        self.publish_status()

    def publish_events(self, batches: int = 5) -> int:
        sent = 0
        for _ in range(batches):
            records = self.outbox.due(MAX_BATCH, self.resend_after_s)
            if not records:
                break
            batch = EventBatch(device=self.creds.device_id, events=records)
            info = self._client.publish(self.topics.events, batch.model_dump_json(), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            self.outbox.mark_sent([r.id for r in records])
            sent += len(records)
        return sent

    def upload_shots(self) -> None:
        for shot in self.outbox.shots_due():
            try:
                self.http.put_shot(shot.id, shot.jpeg)
            except Refused as exc:
                if exc.status in (400, 404, 413, 415, 422):
                    log.warning("best shot of %s refused for good (%s): dropped", shot.id, exc)
                    self.outbox.shot_done(shot.id)
                    continue
                self.outbox.shot_failed(shot.id, shot.attempts + 1, min(2.0**shot.attempts, 300))
            except Unreachable:
                self.outbox.shot_failed(shot.id, shot.attempts + 1, min(2.0**shot.attempts, 300))
                return  # the server is away: no point trying the next ones now
            else:
                self.outbox.shot_done(shot.id)

    def _status(self, online: bool = True) -> DeviceStatus:
        return DeviceStatus(
            device=self.creds.device_id,
            online=online,
            gallery_version=self.store.version,
            software=__version__,
            last_sync=self.store.last_sync,
            outbox=self.outbox.pending(),
            outbox_dropped=sum(self.outbox.dropped().values()),
            entrances=self._entrance_states() if online else {},
            rule_uses=self.store.local_uses(),
        )

    def publish_status(self, force: bool = False) -> bool:
        """On a change, and every `status_every_s` (which also marks the device current
        while the sync channel is up and not behind the server's head)."""
        if not self.connected.is_set():
            return False
        now = time.monotonic()
        with self._lock:
            behind = self._head is not None and (self.store.version or -1) < self._head
            last = self._last_status
        due = last is None or now - last[1] >= self.status_every_s
        if due and not behind and self.store.version is not None:
            self.store.touch_sync()
        status = self._status()
        key = status.model_dump_json(exclude={"time", "last_sync"})
        if not force and not due and last is not None and last[0] == key:
            return False
        self._client.publish(self.topics.status, status.model_dump_json(), qos=1, retain=True)
        with self._lock:
            self._last_status = (key, now)
        return True

    def flush(self, timeout_s: float) -> bool:
        """Until every event is acknowledged and every best shot uploaded, or `timeout_s`;
        True when the outbox is empty."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.outbox.pending() == 0 and self.outbox.waiting_shots() == 0:
                return True
            time.sleep(0.1)
        return self.outbox.pending() == 0 and self.outbox.waiting_shots() == 0
