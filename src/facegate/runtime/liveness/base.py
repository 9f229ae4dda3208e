"""The liveness stage's contract: the verdict every check and policy returns
(`LivenessVerdict`), the stage's interface (`Liveness`) and a check's (`_Check`), the explicit
absence of a check (`NoLiveness`), and the bounded per-track state the checks keep (`_Tracks`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from facegate.models.base import Face

Prompt = Callable[[int, str], None]  # (track id, text to show/say at the door)

#: Tracks whose state a check (`_Tracks`) or the policy remembers at most; the oldest is
#: dropped first. The pipeline forgets every ended track, so this only bounds a caller that
#: skips `forget()`, and is far more faces than a door sees at once. 64, not 256: an undecided
#: track of the motion check keeps up to `motion.window` views (a 141x141 gray crop and its
#: grid, about 20-25 KB each: 0.4 MB per track at the default window of 16, 1.5 MB at the
#: largest, 64).
MAX_TRACKS = 64


@dataclass(frozen=True)
class LivenessVerdict:
    checked: bool  # False: no check ran (no model, or not enough evidence yet)
    live: bool | None  # None when undecided
    method: str
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    required: bool = False  # the entrance policy wants a decided verdict before opening

    def to_dict(self) -> dict[str, Any]:
        d = {"checked": self.checked, "live": self.live, "method": self.method}
        if self.score is not None:
            d["score"] = round(self.score, 4)
        if self.evidence:
            d["evidence"] = self.evidence
        if self.note:
            d["note"] = self.note
        if self.required:
            d["required"] = True
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

    def describe(self) -> dict[str, Any]:
        return {"checks": [], "note": self.NOTE}


class _Check(Protocol):
    name: str

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None: ...

    def verdict(self, track_id: int) -> LivenessVerdict: ...

    def forget(self, track_id: int) -> None: ...


def due(st: Any, done: bool, every: int, face: Face, min_face_px: float) -> bool:
    """Whether a check looks at this frame of a track (`st.seen` counts its frames): every
    `every`-th frame until the check is `done`; a face too small to judge is looked at again
    on the next frame instead of waiting `every` more."""
    st.seen += 1
    if done or (st.seen - 1) % every:
        return False
    if face.size < min_face_px:
        st.seen -= 1
        return False
    return True


class _Tracks:
    """Per-track state with a bound on how many tracks are remembered (forget() may be
    skipped by a caller; the oldest track is dropped first)."""

    def __init__(self, factory: Callable[[], Any], max_tracks: int = MAX_TRACKS) -> None:
        self.factory = factory
        self.max_tracks = max_tracks
        self.items: OrderedDict[int, Any] = OrderedDict()

    def get(self, track_id: int) -> Any:
        st = self.items.get(track_id)
        if st is None:
            st = self.items[track_id] = self.factory()
            while len(self.items) > self.max_tracks:
                self.items.popitem(last=False)
        return st

    def peek(self, track_id: int) -> Any:
        return self.items.get(track_id)

    def pop(self, track_id: int) -> None:
        self.items.pop(track_id, None)
