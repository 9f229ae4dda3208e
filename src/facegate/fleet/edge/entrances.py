"""The entrances of an edge device: each one a `runtime.entrance.Entrance` on its own thread,
assembled exactly as `facegate run` and the server assemble theirs (same decisions), with
the device's pieces passed in: the `EdgeStore` as gallery, the edge access policy, the local
journal, and a sink that puts every event into the outbox.

Why the device builds each door adapter itself (as the server does): the adapter outlives
the runtime, so a remote open works whether or not the camera is up, and its outcome
(`on_done`) is what settles an open in the journal and, before it goes up, in the outbox.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from pydantic import ValidationError

from facegate.engine import FaceEngine
from facegate.errors import FaceGateError
from facegate.fleet.edge.outbox import Outbox
from facegate.fleet.edge.policy import EdgeAccessPolicy
from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.protocol import EntranceRecord, EntranceState, EventRecord
from facegate.runtime.config import RuntimeConfig
from facegate.runtime.doors import DoorActuator, build_door
from facegate.runtime.entrance import Entrance
from facegate.runtime.events import Decision, DoorEvent, Sink
from facegate.runtime.journal import Journal, JournalError

log = logging.getLogger("facegate.edge")

#: an open waits this long (plus its pulse) for the door's outcome before it goes up anyway
DOOR_OUTCOME_WAIT_S = 15.0


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def event_record(event: DoorEvent, event_id: str) -> EventRecord:
    """What goes up for a door event: everything but the picture (that follows over HTTP)."""
    return EventRecord(
        id=event_id,
        entrance=event.entrance,
        time=float(event.time),
        decision=event.decision.value,
        person=event.person,
        person_id=event.person_id,
        reason=event.reason,
        track=event.track,
        scores={k: round(float(v), 4) for k, v in event.scores.items()},
        liveness=json.loads(json.dumps(event.liveness, default=_plain)),
        door=event.door,
    )


def jpeg(image: np.ndarray | None, quality: int) -> bytes | None:
    if image is None or not isinstance(image, np.ndarray) or image.size == 0:
        return None
    try:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    except cv2.error:
        return None
    return buf.tobytes() if ok else None


class EventSink:
    """Every event of every entrance into the outbox; an open held until its door outcome."""

    def __init__(self, outbox: Outbox, jpeg_quality: int = 85) -> None:
        self.outbox = outbox
        self.jpeg_quality = jpeg_quality
        self._lock = threading.Lock()
        self._held: dict[int, tuple[str, DoorEvent]] = {}  # id(event) -> (event id, event)

    def __call__(self, event: DoorEvent) -> None:
        event_id = uuid.uuid4().hex
        shot = jpeg(event.snapshot, self.jpeg_quality)
        with self._lock:  # `settled` sets event.door before it takes this lock
            hold = event.decision is Decision.OPEN and event.door is None
            if hold:
                self._held[id(event)] = (event_id, event)
            self.outbox.add(
                event_record(event, event_id),
                shot,
                hold_s=DOOR_OUTCOME_WAIT_S + 5.0 if hold else 0.0,
            )

    def settled(self, event: DoorEvent) -> None:
        """The door outcome is on `event`: the held row goes up in its final form."""
        with self._lock:
            held = self._held.pop(id(event), None)
            if held is not None:
                self.outbox.settle(event_record(event, held[0]))


@dataclass
class EntranceWorker:
    record: EntranceRecord
    rc: RuntimeConfig | None
    actuator: DoorActuator | None
    state: EntranceState = field(default_factory=lambda: EntranceState(state="stopped"))
    entrance: Entrance | None = None
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    failed: bool = False

    def set(self, state: str, detail: str = "") -> None:
        since = self.state.since if state == self.state.state else time.time()
        self.state = EntranceState(state=state, since=since, detail=detail)


class EdgeEntrances:
    """Starts, restarts and stops the device's entrances from the records in the store."""

    def __init__(
        self,
        engine: FaceEngine,
        store: EdgeStore,
        policy: EdgeAccessPolicy,
        journal: Journal,
        sink: EventSink,
        base: RuntimeConfig,
        *,
        override: Callable[[RuntimeConfig], RuntimeConfig] | None = None,
        printer: Sink | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.policy = policy
        self.journal = journal
        self.sink = sink
        self.base = base
        self.override = override
        self.printer = printer
        self.workers: dict[str, EntranceWorker] = {}
        self._lock = threading.Lock()

    def states(self) -> dict[str, EntranceState]:
        with self._lock:
            return {name: w.state for name, w in self.workers.items()}

    def reconcile(self) -> None:
        """Bring the running entrances in line with the store: new ones started, changed
        ones restarted, removed ones stopped."""
        records = {e.name: e for e in self.store.entrances()}
        with self._lock:
            current = dict(self.workers)
        for name, w in current.items():
            if name not in records or records[name] != w.record:
                self.stop(name)
        for name, rec in records.items():
            if name not in self.workers:
                self.start(rec)

    def start(self, rec: EntranceRecord) -> EntranceWorker:
        try:
            rc = rec.runtime_config(self.base)
            if self.override is not None:
                rc = self.override(rc)
        except (ValidationError, FaceGateError) as exc:
            w = EntranceWorker(rec, None, None)
            w.set("error", f"settings from the server do not validate: {exc}")
            w.failed = True
            log.error("entrance %s: %s", rec.name, w.state.detail)
        else:
            actuator = DoorActuator(
                build_door(rc.door, rc.entrance), pulse_s=rc.door.pulse_s, on_done=self._door_done
            )
            w = EntranceWorker(rec, rc, actuator)
            if not rec.enabled:
                w.set("disabled")
            elif rc.source is None:
                w.set("no_source", "set a camera or video file to watch")
            else:
                w.set("starting")
                w.thread = threading.Thread(
                    target=self._loop, args=(w,), name=f"entrance-{rec.name}", daemon=True
                )
        with self._lock:
            self.workers[rec.name] = w
        if w.thread is not None:
            w.thread.start()
        return w

    def stop(self, name: str, timeout: float = 10.0) -> None:
        with self._lock:
            w = self.workers.pop(name, None)
        if w is None:
            return
        w.stop.set()
        if w.entrance is not None:
            w.entrance.stop()
        if w.thread is not None:
            w.thread.join(timeout)
            if w.thread.is_alive():
                log.error("entrance %s did not stop within %g s", name, timeout)
        if w.actuator is not None:
            w.actuator.close()

    def restart(self, name: str) -> None:
        with self._lock:
            w = self.workers.get(name)
        if w is not None:
            self.stop(name)
            self.start(w.record)

    def stop_all(self) -> None:
        for name in list(self.workers):
            self.stop(name)

    def running(self) -> bool:
        """True while any entrance thread is still going."""
        with self._lock:
            return any(w.thread is not None and w.thread.is_alive() for w in self.workers.values())

    # -- doors and events -------------------------------------------------------------------

    def _door_done(self, event: DoorEvent, outcome: dict[str, Any]) -> None:
        try:
            self.journal.settle_door(event, outcome)
        except JournalError as exc:
            event.settle(outcome)
            log.error("journal: %s; door outcome was %s for %s", exc, outcome, event.to_dict())
        self.sink.settled(event)

    def open_door(self, entrance: str | None, reason: str, by: str) -> bool:
        """A remote open: through the entrance's door adapter, journalled, sent up."""
        with self._lock:
            if entrance is None and len(self.workers) == 1:
                entrance = next(iter(self.workers))
            w = self.workers.get(entrance or "")
        if w is None or w.actuator is None:
            log.warning("open refused: no entrance %r on this device", entrance)
            return False
        event = DoorEvent(
            Decision.OPEN,
            w.record.name,
            f"remote open by {by or 'the server'}: {reason}",
            liveness={"checked": False, "manual": True},
        )
        queued = w.actuator.request_open(event)
        for sink in (self._journal_record, self.sink, self.printer):
            if sink is not None:
                try:
                    sink(event)
                except Exception:
                    log.exception("recording the remote open failed")
        return queued

    def _journal_record(self, event: DoorEvent) -> None:
        try:
            self.journal.record(event)
        except JournalError as exc:
            log.error("journal: %s; event was %s", exc, event.to_dict())

    def _state_sink(self, w: EntranceWorker) -> Sink:
        def sink(event: DoorEvent) -> None:
            if event.decision is Decision.SOURCE_LOST:
                w.set("source_lost", event.reason)
            elif event.decision is Decision.SOURCE_RESTORED:
                w.set("running", event.reason)

        return sink

    # -- the thread -------------------------------------------------------------------------

    def _loop(self, w: EntranceWorker) -> None:
        assert w.rc is not None and w.actuator is not None
        sinks: list[Sink] = [self.sink, self._state_sink(w)]
        if self.printer is not None:
            sinks.append(self.printer)
        try:
            with Entrance(
                w.rc,
                self.engine,
                self.store,
                access=self.policy,
                journal=self.journal,
                actuator=w.actuator,
                sinks=sinks,
            ) as entrance:
                w.entrance = entrance
                if w.stop.is_set():
                    return
                entrance.start()
                w.set("running", f"watching {entrance.source.name}")
                while not w.stop.is_set() and entrance.step():
                    pass
                if not w.stop.is_set():
                    w.set("ended", "the source ended (a file played to its end)")
        except FaceGateError as exc:
            log.error("entrance %s: %s", w.record.name, exc)
            w.set("error", str(exc))
            w.failed = True
        except Exception as exc:  # a bug shows in the status, never takes the device down
            log.exception("entrance %s failed", w.record.name)
            w.set("error", f"internal error: {exc!r}")
            w.failed = True
