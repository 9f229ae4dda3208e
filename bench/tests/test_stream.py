"""Stream benchmark pieces that decide: votes and the baseline loops' enrolment matching."""

from __future__ import annotations

import numpy as np

from facegate.models.base import Face
from facegate_bench import stream


def test_votes_open_once_at_min_votes() -> None:
    v = stream.Votes(2)
    v.add("ann", 3)
    assert v.opened == {}
    v.add("bob", 4)
    v.add("ann", 7)
    v.add("ann", 9)
    assert v.opened == {"ann": 7}


def test_nearest_detection_to_the_enrolled_face() -> None:
    face = Face(np.array([100, 100, 50, 60], np.float32), np.zeros((5, 2), np.float32), 0.9)
    centres = np.array([[10.0, 10.0], [128.0, 131.0], [300.0, 120.0]])
    assert stream.nearest(centres, face) == 1


def test_shrink_keeps_small_frames() -> None:
    small = np.zeros((480, 640, 3), np.uint8)
    assert stream.shrink(small)[1] == 1.0
    big, s = stream.shrink(np.zeros((1080, 1920, 3), np.uint8))
    assert big.shape[:2] == (360, 640) and abs(s - 1 / 3) < 1e-9
