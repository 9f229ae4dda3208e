"""The tracker keeps one identity per walking face and ends tracks that leave."""

from __future__ import annotations

import numpy as np

from facegate.models.base import Face
from facegate.runtime.tracker import Tracker, iou


def face(x: float, y: float, s: float) -> Face:
    return Face(np.array([x, y, s, s], np.float32), np.zeros((5, 2), np.float32), 0.9)


def test_iou() -> None:
    a = np.array([0, 0, 10, 10], np.float32)
    assert iou(a, a) == 1.0
    assert abs(iou(a, np.array([5, 0, 10, 10], np.float32)) - 50 / 150) < 1e-6
    assert iou(a, np.array([20, 20, 5, 5], np.float32)) == 0.0


def test_a_face_walking_up_keeps_its_track() -> None:
    tr = Tracker()
    ids = set()
    for k in range(20):  # grows from 40 to 230 px at 15 fps, drifting right
        s = 40 + 10 * k
        out, ended = tr.update([face(200 + 3 * k - s / 2, 150 - s / 4, s)], k / 15)
        ids |= {t.id for t, _ in out}
        assert not ended
    assert ids == {1}
    assert tr.tracks[1].hits == 20 and tr.tracks[1].first_t == 0.0


def test_two_people_two_tracks_and_ending() -> None:
    tr = Tracker(max_age_s=0.5)
    out, _ = tr.update([face(0, 0, 80), face(400, 0, 80)], 0.0)
    assert sorted(t.id for t, _ in out) == [1, 2]
    out, _ = tr.update([face(405, 2, 82), face(3, 1, 81)], 0.1)
    assert {t.id: float(f.bbox[0]) for t, f in out} == {1: 3.0, 2: 405.0}
    out, ended = tr.update([face(6, 2, 82)], 0.3)
    assert [t.id for t, _ in out] == [1] and not ended
    _, ended = tr.update([face(9, 2, 82)], 0.7)
    assert [t.id for t in ended] == [2]
    assert [t.id for t in tr.flush()] == [1]


def test_a_new_face_far_away_is_a_new_track() -> None:
    tr = Tracker()
    tr.update([face(0, 0, 80)], 0.0)
    out, _ = tr.update([face(500, 300, 80)], 0.07)
    assert [t.id for t, _ in out] == [2]
