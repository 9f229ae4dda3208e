"""`facegate run`: one entrance from its config sections, on this machine, until the source
ends or Ctrl-C. The entrance itself is assembled by `runtime.entrance.Entrance`, as
everywhere else; this module adds what only the command line has: the gallery and journal
files, and printing events."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from facegate.engine import FaceEngine
from facegate.gallery.store import SQLiteGallery, gallery_vault
from facegate.models.config import EngineConfig
from facegate.runtime.config import RuntimeConfig
from facegate.runtime.entrance import Entrance
from facegate.runtime.events import DoorEvent
from facegate.runtime.journal import Journal
from facegate.runtime.memory import pin_mmap_threshold
from facegate.runtime.pipeline import RunStats

log = logging.getLogger("facegate.runtime")


def journal_path(rc: RuntimeConfig, gallery: Path) -> Path:
    """The configured journal, else `journal.sqlite` next to the gallery."""
    return rc.journal.path or gallery.with_name("journal.sqlite")


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


def run_entrance(
    rc: RuntimeConfig,
    engine_config: EngineConfig,
    *,
    gallery: Path,
    max_frames: int | None = None,
    printer: Callable[[DoorEvent], None] | None = None,
) -> RunStats:
    """Run the entrance until the source ends (files) or `max_frames`; Ctrl-C stops it."""
    pin_mmap_threshold()  # before frames flow: see runtime/memory.py
    engine = FaceEngine(engine_config)
    with ExitStack() as stack:
        vault = gallery_vault(gallery) if gallery.is_file() else None  # None: store says why
        store = stack.enter_context(SQLiteGallery(gallery, create=False, vault=vault))
        journal = stack.enter_context(
            Journal(rc.journal, journal_path(rc, gallery), vault=vault)  # sealed snapshots
        )
        entrance = stack.enter_context(
            Entrance(rc, engine, store, journal=journal, sinks=[printer] if printer else [])
        )
        try:
            entrance.run(max_frames)
        except KeyboardInterrupt:
            log.info("stopped by user")
        return entrance.stats
