"""One entrance, assembled once: the only place that wires an entrance together.

`facegate run`, the server's entrance runtimes, the door and stream benchmarks (and the edge
agent) all build an `Entrance` from the entrance's `RuntimeConfig`, a `FaceEngine` and a
gallery store, then `start()` (warm-up), `step()` or `run()`, and `close()`. What differs
between them comes in as arguments, never by reaching into the parts afterwards:

- `source` / `clock`: a ready source (a benchmark's rendered clip, a test's frames) instead
  of `rc.source`; otherwise the source is opened from the config on the clock its pace
  runs on (`sources.clock_for`: one rule for everyone);
- `access`: the server's `DbAccessPolicy` instead of the YAML rules;
- `journal`: where events are recorded (retention then runs from the same scheduler);
- `actuator`: a door adapter that outlives the runtime (the server's, for manual opens);
  otherwise one is built from `rc.door` and closed with the entrance;
- `sinks`: more consumers of every event (the CLI's printer, the server's metrics).

The order of assembly matters and is the reason this exists: the event bus comes first, so
an outage the camera reports the moment it is opened reaches the journal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from facegate.engine import FaceEngine
from facegate.errors import ConfigError
from facegate.gallery.store import GalleryStore
from facegate.runtime.access import AccessPolicy
from facegate.runtime.config import RuntimeConfig
from facegate.runtime.doors import DoorActuator, build_door
from facegate.runtime.doors.base import Door
from facegate.runtime.events import Decision, DoorEvent, EventBus, Sink
from facegate.runtime.journal import Journal, JournalError
from facegate.runtime.liveness import (
    Liveness,
    build_liveness,
    door_prompt,
    liveness_checks,
    startup_summary,
)
from facegate.runtime.pipeline import RunStats, Runtime
from facegate.runtime.scheduler import Scheduler
from facegate.runtime.sources import CameraSource, Clock, Source, clock_for, source_from_config

log = logging.getLogger("facegate.runtime")


def entrance_liveness(rc: RuntimeConfig, engine: FaceEngine, door: Door) -> Liveness:
    """The entrance's liveness stage: challenges are prompted through the door adapter, and
    the start-up log says what is checked (a warning when the passive check is left out)."""
    liveness = build_liveness(rc.liveness, engine, prompt=door_prompt(door, rc.entrance))
    (log.info if "passive" in liveness_checks(liveness) else log.warning)(
        "[%s] %s", rc.entrance, startup_summary(liveness)
    )
    return liveness


class Entrance:
    def __init__(
        self,
        rc: RuntimeConfig,
        engine: FaceEngine,
        store: GalleryStore,
        *,
        source: Source | None = None,
        clock: Clock | None = None,
        access: AccessPolicy | None = None,
        journal: Journal | None = None,
        actuator: DoorActuator | None = None,
        liveness: Liveness | None = None,
        sinks: Iterable[Sink] = (),
    ) -> None:
        if source is None and rc.source is None:
            raise ConfigError("no source: give --source or runtime.source.uri in the config")
        self.config = rc
        self.name = rc.entrance
        self._journal = journal
        self._stopping = False
        self._stack = ExitStack()
        self.events = EventBus([self._command_door, self._record, *sinks])
        try:
            if actuator is None:
                door = build_door(rc.door, rc.entrance)
                actuator = DoorActuator(door, pulse_s=rc.door.pulse_s, on_done=self._door_done)
                self._stack.callback(actuator.close)
            self.actuator = actuator
            if source is None:
                assert rc.source is not None
                clock = clock or clock_for(rc.source.pace)
                source = source_from_config(rc.source, clock, on_status=self._source_status)
            elif clock is None:
                raise ValueError("a ready source needs the clock it runs on")
            self._stack.callback(source.close)
            self.source, self.clock = source, clock
            self.liveness = liveness or entrance_liveness(rc, engine, actuator.door)
            access = access or AccessPolicy(rc.access)
            self.scheduler = Scheduler()
            self.runtime = Runtime(
                entrance=rc.entrance,
                engine=engine,
                store=store,
                source=source,
                clock=clock,
                decision=rc.decision,
                quality=rc.quality,
                liveness=self.liveness,
                access=access,
                events=self.events,
                scheduler=self.scheduler,
                track_max_age_s=rc.track_max_age_s,
                idle=rc.idle,
                regions=rc.regions,
            )
        except BaseException:
            self._stack.close()
            raise
        self.scheduler.every(rc.gallery_reload_s, self.runtime.reload_gallery, "gallery reload")
        self.scheduler.every(rc.gallery_reload_s, access.refresh, "access rules refresh")
        if journal is not None:
            self.scheduler.every(rc.retention_every_s, self._retention, "journal retention")

    # -- events -----------------------------------------------------------------------------

    def _command_door(self, event: DoorEvent) -> None:
        if event.decision is Decision.OPEN:
            self.actuator.request_open(event)

    def _record(self, event: DoorEvent) -> None:
        if self._journal is None:
            return
        try:
            self._journal.record(event)
        except JournalError as exc:  # the door keeps working; the log keeps the event
            log.error("journal: %s; event was %s", exc, event.to_dict())

    def _door_done(self, event: DoorEvent, outcome: dict[str, Any]) -> None:
        """The door's outcome of an open, onto the open's own event (and its journal row)."""
        if self._journal is None:
            event.settle(outcome)
            return
        try:
            self._journal.settle_door(event, outcome)
        except JournalError as exc:
            log.error("journal: %s; door outcome was %s for %s", exc, outcome, event.to_dict())

    def _source_status(self, kind: str, detail: str) -> None:
        decision = Decision.SOURCE_LOST if kind == "lost" else Decision.SOURCE_RESTORED
        self.events.emit(DoorEvent(decision, self.name, detail))

    def _retention(self) -> None:
        assert self._journal is not None
        deleted = self._journal.enforce_retention()
        if any(deleted):
            log.info("[%s] retention removed %d events and %d snapshots", self.name, *deleted)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Before the first frame: warm every model this entrance uses, apply retention."""
        if self._journal is not None:
            self._retention()
        self.runtime.warm_up()

    def step(self) -> bool:
        """One frame (and any periodic work that is due); False when the source has ended."""
        return not self._stopping and self.runtime.step()

    def run(self, max_frames: int | None = None) -> RunStats:
        """`start()`, then frames until the source ends, `max_frames`, or `stop()`."""
        self.start()
        return self.runtime.run(max_frames)

    def stop(self) -> None:
        """From any thread: the next `step()` returns False, so the loop driving this entrance
        ends. A camera is closed at once (safe from another thread), which also ends a wait
        for a camera that is away; a file is closed by `close()` on the loop's own thread."""
        self._stopping = True
        if isinstance(self.source, CameraSource):
            self.source.close()

    def close(self) -> None:
        """Close what this entrance opened, in reverse order (source, then its own door)."""
        self._stack.close()

    def __enter__(self) -> Entrance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> RunStats:
        return self.runtime.stats
