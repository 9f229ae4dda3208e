"""The challenge check (optional, for high-security entrances): the door's display or speaker
is asked to prompt "please blink" or "please turn your head", and the eyes (eye aspect ratio)
or the head (nose against the face outline) must do it within a time limit. Required by the
entrance's checks, or a fallback the policy asks for when the other checks stay undecided.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from facegate.models.base import Face
from facegate.models.shape68 import Landmarks68
from facegate.runtime.liveness.base import LivenessVerdict, Prompt, _Tracks
from facegate.runtime.liveness.config import ChallengeConfig
from facegate.runtime.liveness.geometry import eye_aspect_ratio, head_turn

log = logging.getLogger("facegate.liveness")


@dataclass
class _ChallengeState:
    first_t: float | None = None
    asked_t: float | None = None
    seen: int = 0
    base: float | None = None  # open-eye EAR or frontal turn at the prompt
    closed: bool = False
    extreme: float = 0.0
    result: bool | None = None
    done_note: str = ""


class ChallengeCheck:
    """Ask for a blink or a head turn through the door's prompt hook and watch for it."""

    name = "challenge"
    TEXT: ClassVar[dict[str, str]] = {
        "blink": "Please blink",
        "turn": "Please turn your head to the side",
    }

    def __init__(
        self,
        cfg: ChallengeConfig,
        landmarks: Landmarks68,
        prompt: Prompt | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.cfg = cfg
        self.landmarks = landmarks
        self.prompt = prompt
        self.clock = clock or time.monotonic
        self._tracks = _Tracks(_ChallengeState)

    def wanted(self, track_id: int) -> bool:
        st = self._tracks.peek(track_id)
        return st is not None and st.asked_t is not None

    def ask(self, track_id: int) -> None:
        st = self._tracks.get(track_id)
        if st.asked_t is not None:
            return
        st.asked_t = self.clock()
        text = self.TEXT[self.cfg.kind]
        log.info("track %d: challenge %r", track_id, text)
        if self.prompt is not None:
            try:
                self.prompt(track_id, text)
            except Exception:  # the door's display failing must not stop the check
                log.exception("challenge prompt failed")

    def track_age(self, track_id: int) -> float:
        st = self._tracks.peek(track_id)
        return 0.0 if st is None or st.first_t is None else self.clock() - st.first_t

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None:
        st = self._tracks.get(track_id)
        now = self.clock()
        if st.first_t is None:
            st.first_t = now
        if st.asked_t is None or st.result is not None:
            return
        if now - st.asked_t > self.cfg.timeout_s:
            st.result = False
            st.done_note = f"{self.cfg.kind} not done within {self.cfg.timeout_s:g} s"
            return
        if face.size < self.cfg.min_face_px:
            return
        lm = self.landmarks(image, face.bbox)
        if not np.isfinite(lm).all():
            return
        if self.cfg.kind == "blink":
            ear = eye_aspect_ratio(lm)
            if ear <= self.cfg.ear_closed:
                st.closed = True
            elif st.closed and ear >= self.cfg.ear_open:
                st.result, st.done_note = True, "blinked"
        else:
            turn = head_turn(lm)
            if st.base is None:
                st.base = turn
            st.extreme = max(st.extreme, abs(turn - st.base))
            if st.extreme >= self.cfg.turn:
                st.result, st.done_note = True, "turned the head"

    def verdict(self, track_id: int) -> LivenessVerdict:
        st = self._tracks.peek(track_id)
        ev = {"kind": self.cfg.kind}
        if st is None or st.asked_t is None:
            return LivenessVerdict(False, None, self.name, evidence=ev, note="not asked yet")
        if st.result is None:
            return LivenessVerdict(
                False,
                None,
                self.name,
                evidence=ev,
                note=f"waiting for the visitor to {self.cfg.kind}",
            )
        return LivenessVerdict(True, st.result, self.name, evidence=ev, note=st.done_note)

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id)
