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
    # an open whose door adapter did not actuate (failed, timed out, dropped): the door stayed
    # shut. An `open` becomes this once the adapter reports; `door` on the event says why.
    OPEN_FAILED = "open_failed"
    DENY = "deny"  # recognised but not allowed (rules), or failed liveness (attack)
    UNKNOWN = "unknown"  # a face nobody in the gallery matches
    # system events (no face): the camera went away / came back; a door adapter failure not
    # tied to an open (journals before issue 15 recorded every door failure this way)
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
    # what the door did for an open: {"actuated": true} or {"actuated": false, "error": ...}
    # (plus "coalesced": true when it rode on an identical open); None while in flight
    door: dict[str, Any] | None = None
    journal_id: int | None = field(default=None, repr=False)  # the journal's row; not journalled
    # the runtime clock's reading when decided (stream seconds on a replay); not journalled
    clock_t: float | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("snapshot")
        d.pop("clock_t")
        d.pop("journal_id")
        d["decision"] = self.decision.value
        d["scores"] = {k: round(float(v), 4) for k, v in self.scores.items()}
        if self.time_to_open_ms is not None:
            d["time_to_open_ms"] = round(self.time_to_open_ms, 1)
        return d

    def settle(self, outcome: dict[str, Any]) -> None:
        """What the door adapter did for this open. One that did not actuate becomes
        `OPEN_FAILED` (fail-closed: the door stayed shut and nothing retries it later), so the
        event itself, not a second one beside it, says the visitor was not let in."""
        self.door = dict(outcome)
        if self.decision is Decision.OPEN and not outcome.get("actuated"):
            self.decision = Decision.OPEN_FAILED


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
