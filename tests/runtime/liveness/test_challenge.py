"""The challenge check: a prompted blink passes, a challenge not done in time fails."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.models.base import Face
from facegate.runtime.liveness import (
    ChallengeCheck,
    ChallengeConfig,
    LivenessConfig,
    PolicyLiveness,
    eye_aspect_ratio,
)
from tests.runtime.liveness.helpers import face_points_3d


class ScriptedLandmarks:
    """Landmarks with the eyes opening and closing as scripted (eye aspect ratio per call)."""

    def __init__(self, ears: list[float]) -> None:
        self.ears = list(ears)
        base = face_points_3d()[:, :2] * 30 + [320, 240]
        self.base = base

    def __call__(self, image, bbox) -> np.ndarray:
        ear = self.ears.pop(0) if self.ears else 0.3
        lm = self.base.copy()
        for a in (36, 42):
            c = lm[a : a + 6].mean(0)
            width = np.linalg.norm(lm[a + 3] - lm[a])
            for i, sign in ((1, -1), (2, -1), (4, 1), (5, 1)):
                lm[a + i, 1] = c[1] + sign * ear * width / 2
        return lm


def test_blink_challenge_prompts_and_passes() -> None:
    prompts = []
    now = [0.0]
    lm = ScriptedLandmarks([0.3, 0.31, 0.12, 0.1, 0.3])
    assert eye_aspect_ratio(lm(None, None)) == pytest.approx(0.3, abs=0.01)
    lm.ears = [0.3, 0.31, 0.12, 0.1, 0.3]
    ch = ChallengeCheck(
        ChallengeConfig(after_s=0.5),
        lm,
        prompt=lambda t, s: prompts.append(s),
        clock=lambda: now[0],
    )
    pol = PolicyLiveness(LivenessConfig(checks=["challenge"]), {"challenge": ch}, ch)
    face = Face(np.array([250, 170, 140, 170], np.float32), np.zeros((5, 2), np.float32), 0.9)
    img = np.zeros((480, 640, 3), np.uint8)
    for _ in range(12):
        pol.observe(5, img, face)
        now[0] += 0.2
    assert prompts == ["Please blink"]
    v = pol.verdict(5)
    assert v.checked and v.live is True, v.to_dict()


def test_challenge_not_done_in_time_fails() -> None:
    now = [0.0]
    ch = ChallengeCheck(
        ChallengeConfig(after_s=0.0, timeout_s=1.0),
        ScriptedLandmarks([0.3] * 50),
        clock=lambda: now[0],
    )
    pol = PolicyLiveness(LivenessConfig(checks=["challenge"]), {"challenge": ch}, ch)
    face = Face(np.array([250, 170, 140, 170], np.float32), np.zeros((5, 2), np.float32), 0.9)
    for _ in range(10):
        pol.observe(1, np.zeros((480, 640, 3), np.uint8), face)
        now[0] += 0.25
    v = pol.verdict(1)
    assert v.checked and v.live is False and "not done" in v.note
