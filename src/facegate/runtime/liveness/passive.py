"""The passive check (on by default): a presentation-attack model (MiniFASNet layout,
`facegate.models.pad`: the pair shipped with FaceGate, or the user's `liveness.model`) scored
on every `every`-th frame of a track until it has `samples` scores; their mean against a
threshold (`passive_threshold`: the configured one, else the model's default, chosen per track
on NUAA subjects and real clips, docs/liveness.md). About 12 ms per scored frame (both models).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from facegate.errors import ConfigError
from facegate.models.base import Face
from facegate.runtime.liveness.base import LivenessVerdict, _Tracks, due
from facegate.runtime.liveness.config import PassiveConfig

if TYPE_CHECKING:  # the model module is imported only when a passive check is built
    from facegate.models.pad import MiniFASNet


@dataclass
class _PassiveState:
    seen: int = 0
    scores: deque = field(default_factory=lambda: deque(maxlen=64))


class PassiveCheck:
    """A PAD model scored on every `every`-th frame until `samples` scores; mean decides."""

    name = "passive"

    def __init__(self, model: MiniFASNet, cfg: PassiveConfig, threshold: float) -> None:
        self.model = model
        self.cfg = cfg
        self.threshold = threshold
        self._tracks = _Tracks(_PassiveState)
        self.looks = 0  # frames scored, all tracks (for cost figures)

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None:
        st = self._tracks.get(track_id)
        done = len(st.scores) >= self.cfg.samples
        if not due(st, done, self.cfg.every, face, self.cfg.min_face_px):
            return
        st.scores.append(float(self.model.score(image, [face])[0]))
        self.looks += 1

    def verdict(self, track_id: int) -> LivenessVerdict:
        st = self._tracks.peek(track_id)
        n = len(st.scores) if st else 0
        ev: dict[str, Any] = {"frames": n, "threshold": round(self.threshold, 4)}
        if n == 0:
            return LivenessVerdict(False, None, self.name, evidence=ev, note="no frame scored yet")
        score = float(np.mean(st.scores))
        ev["scores"] = [round(s, 4) for s in st.scores]
        if n < self.cfg.samples:
            return LivenessVerdict(
                False, None, self.name, score, ev, note=f"{n} of {self.cfg.samples} frames scored"
            )
        return LivenessVerdict(True, score >= self.threshold, self.name, score, ev)

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id)


def passive_threshold(model: MiniFASNet, cfg: PassiveConfig) -> float:
    """The configured threshold; else the known model's per-frame one at `target_bpcer`;
    else the known model's default (track-level) one."""
    if cfg.threshold is not None:
        return cfg.threshold
    if cfg.target_bpcer is not None:
        t = model.known_threshold(cfg.target_bpcer)
    else:
        t = model.default_threshold()
    if t is None:
        at = f" at BPCER {cfg.target_bpcer:g}" if cfg.target_bpcer is not None else ""
        raise ConfigError(
            f"PAD model {model.path} has no measured threshold{at}: "
            "set liveness.passive.threshold (measure it with `facegate eval pad`)"
        )
    return t
