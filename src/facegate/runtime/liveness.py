"""Liveness seam: is the face in front of the camera a live person, or a photo or a screen?

The stage sees every tracked detection (`observe`) and gives a per-track verdict. Until a real
presentation-attack detector is configured, the default `NoLiveness` checks nothing and says
so in every verdict ("checked": false), so no event ever claims a face was live when nobody
looked. The decision policy decides whether an unchecked face may open the door.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from facegate.models.base import Face


@dataclass(frozen=True)
class LivenessVerdict:
    checked: bool  # False: no check ran (no model, or not enough evidence yet)
    live: bool | None  # None when undecided
    method: str
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"checked": self.checked, "live": self.live, "method": self.method}
        if self.score is not None:
            d["score"] = round(self.score, 4)
        if self.evidence:
            d["evidence"] = self.evidence
        if self.note:
            d["note"] = self.note
        return d


class Liveness(Protocol):
    name: str

    def observe(self, track_id: int, image: np.ndarray, face: Face) -> None: ...

    def verdict(self, track_id: int) -> LivenessVerdict: ...

    def forget(self, track_id: int) -> None: ...


class NoLiveness:
    """The explicit absence of a check."""

    name = "none"
    NOTE = "no presentation-attack detection configured: a photo or screen is not detected"

    def observe(self, track_id: int, image: np.ndarray, face: Face) -> None:
        return None

    def verdict(self, track_id: int) -> LivenessVerdict:
        return LivenessVerdict(False, None, self.name, note=self.NOTE)

    def forget(self, track_id: int) -> None:
        return None
