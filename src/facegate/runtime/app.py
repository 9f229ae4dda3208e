"""Assemble one entrance from the config and run it: what `facegate run` (and later the
server) calls. Owns every resource it opens and closes them in reverse order."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from facegate.config import FaceGateConfig, RuntimeConfig
from facegate.engine import FaceEngine
from facegate.errors import ConfigError
from facegate.gallery.store import SQLiteGallery
from facegate.runtime.access import AccessPolicy
from facegate.runtime.doors import DoorActuator, build_door
from facegate.runtime.doors.base import Door
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.journal import Journal, JournalError
from facegate.runtime.liveness import (
    NoLiveness,
    PolicyLiveness,
    build_liveness,
    door_prompt,
    liveness_checks,
    startup_summary,
)
from facegate.runtime.memory import pin_mmap_threshold
from facegate.runtime.pipeline import RunStats, Runtime
from facegate.runtime.sources import VirtualClock, WallClock, source_from_config

log = logging.getLogger("facegate.runtime")


def journal_path(cfg: FaceGateConfig, gallery: Path) -> Path:
    """The configured journal, else `journal.sqlite` next to the gallery."""
    return cfg.runtime.journal.path or gallery.with_name("journal.sqlite")


def json_printer(stream=None) -> Callable[[DoorEvent], None]:
    def sink(event: DoorEvent) -> None:
        print(json.dumps(event.to_dict()), file=stream or sys.stdout, flush=True)

    return sink


def human_printer(stream=None) -> Callable[[DoorEvent], None]:
    def sink(event: DoorEvent) -> None:
        who = f" {event.person}" if event.person else ""
        tto = f" in {event.time_to_open_ms:.0f} ms" if event.time_to_open_ms else ""
        track = f"track {event.track}: " if event.track is not None else ""
        print(
            f"[{event.entrance}] {track}{event.decision.value}{who}{tto} - {event.reason}",
            file=stream or sys.stdout,
            flush=True,
        )

    return sink


def entrance_liveness(
    rc: RuntimeConfig, engine: FaceEngine, door: Door
) -> NoLiveness | PolicyLiveness:
    """The entrance's liveness stage, built the one way `facegate run` and the server's
    runtimes share: challenges are prompted through the door adapter, and the start-up log
    says what is checked (a warning when no passive PAD model is configured)."""
    liveness = build_liveness(rc.liveness, engine, prompt=door_prompt(door, rc.entrance))
    (log.info if "passive" in liveness_checks(liveness) else log.warning)(
        "[%s] %s", rc.entrance, startup_summary(liveness)
    )
    return liveness


def run_entrance(
    cfg: FaceGateConfig,
    *,
    gallery: Path,
    max_frames: int | None = None,
    printer: Callable[[DoorEvent], None] | None = None,
) -> RunStats:
    """Run the entrance until the source ends (files) or `max_frames`; Ctrl-C stops it."""
    rc = cfg.runtime
    if rc.source is None:
        raise ConfigError("no source: give --source or runtime.source.uri in the config")
    pin_mmap_threshold()  # before frames flow: see runtime/memory.py
    engine = FaceEngine(cfg.engine)
    with ExitStack() as stack:
        store = stack.enter_context(SQLiteGallery(gallery, create=False))
        journal = stack.enter_context(Journal(rc.journal, journal_path(cfg, gallery)))
        deleted = journal.enforce_retention()
        if any(deleted):
            log.info("retention removed %d events and %d snapshots", *deleted)
        runtime_ref: list[Runtime] = []

        def emit(event: DoorEvent) -> None:
            if runtime_ref:
                runtime_ref[0].emit(event)

        def on_status(kind: str, detail: str) -> None:
            decision = Decision.SOURCE_LOST if kind == "lost" else Decision.SOURCE_RESTORED
            emit(DoorEvent(decision, rc.entrance, detail))

        door_adapter = build_door(rc.door, rc.entrance)
        actuator = DoorActuator(door_adapter, pulse_s=rc.door.pulse_s, on_error=emit)
        stack.callback(actuator.close)
        clock = VirtualClock() if rc.source.pace in ("simulated", "fast") else WallClock()
        source = source_from_config(rc.source, clock, on_status=on_status)
        stack.callback(source.close)

        def record(event: DoorEvent) -> None:
            try:
                journal.record(event)
            except JournalError as exc:  # the door keeps working; the log keeps the event
                log.error("journal: %s; event was %s", exc, event.to_dict())

        def door(event: DoorEvent) -> None:
            if event.decision is Decision.OPEN:
                actuator.request_open(event)

        sinks = [door, record] + ([printer] if printer else [])
        liveness = entrance_liveness(rc, engine, door_adapter)
        runtime = Runtime(
            entrance=rc.entrance,
            engine=engine,
            store=store,
            source=source,
            clock=clock,
            decision=rc.decision,
            quality=rc.quality,
            access=AccessPolicy(rc.access),
            sinks=sinks,
            liveness=liveness,
        )
        runtime.tracker.max_age_s = rc.track_max_age_s
        runtime_ref.append(runtime)
        runtime.every(rc.gallery_reload_s, runtime.reload_gallery)
        runtime.every(rc.retention_every_s, journal.enforce_retention)
        try:
            runtime.run(max_frames)
        except KeyboardInterrupt:
            log.info("stopped by user")
        return runtime.stats
