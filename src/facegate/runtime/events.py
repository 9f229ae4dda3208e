"""What the runtime decides and records: one `DoorEvent` per decision, shared by the
decision stage, the door adapters, the journal and the `--json` output."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class Decision(StrEnum):
    OPEN = "open"  # a resident, allowed here now, live: the door was commanded
    DENY = "deny"  # recognised but not allowed (rules), or failed liveness (attack)
    UNKNOWN = "unknown"  # a face nobody in the gallery matches
    # system events (no face): the camera went away / came back, a door adapter failed
    SOURCE_LOST = "source_lost"
    SOURCE_RESTORED = "source_restored"
    DOOR_ERROR = "door_error"


@dataclass
class DoorEvent:
    decision: Decision
    entrance: str
    reason: str
    time: float = field(default_factory=time.time)  # wall clock, seconds since the epoch
    track: int | None = None
    person: str | None = None
    person_id: int | None = None
    scores: dict[str, float] = field(default_factory=dict)
    liveness: dict[str, Any] = field(default_factory=dict)
    time_to_open_ms: float | None = None
    snapshot: np.ndarray | None = field(default=None, repr=False)  # best-shot BGR crop
    snapshot_path: str | None = None  # set by the journal once written
    # the runtime clock's reading when decided (stream seconds on a replay); not journalled
    clock_t: float | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("snapshot")
        d.pop("clock_t")
        d["decision"] = self.decision.value
        d["scores"] = {k: round(float(v), 4) for k, v in self.scores.items()}
        if self.time_to_open_ms is not None:
            d["time_to_open_ms"] = round(self.time_to_open_ms, 1)
        return d


Sink = Callable[[DoorEvent], object]

log = logging.getLogger("facegate.runtime")


class EventBus:
    """Hands every event to every sink, from any thread, and counts them by decision.

    Made before anything that can report (a camera's reconnect thread reports an outage the
    moment it is opened), so no event is lost while the rest of an entrance is assembled.
    A failing sink (journal, door, printer) is logged and never stops the others or the door.
    """

    def __init__(self, sinks: Iterable[Sink] = ()) -> None:
        self._sinks = list(sinks)
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def emit(self, event: DoorEvent) -> None:
        with self._lock:
            self.counts[event.decision.value] = self.counts.get(event.decision.value, 0) + 1
        for sink in self._sinks:
            try:
                sink(event)
            except Exception:
                log.exception("event sink %r failed for %s", sink, event.decision.value)
