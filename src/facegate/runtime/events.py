"""What the runtime decides and records: one `DoorEvent` per decision, shared by the
decision stage, the door adapters, the journal and the `--json` output."""

from __future__ import annotations

import time
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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("snapshot")
        d["decision"] = self.decision.value
        d["scores"] = {k: round(float(v), 4) for k, v in self.scores.items()}
        if self.time_to_open_ms is not None:
            d["time_to_open_ms"] = round(self.time_to_open_ms, 1)
        return d
