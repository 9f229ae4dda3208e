"""Detection around tracks: the same faces as a full detection, on smaller inputs, and a full
detection whenever a region could miss someone."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.models.base import Face
from facegate.runtime.regions import RegionConfig, RegionDetector
from facegate.runtime.tracker import Tracker, iou
from tests.conftest import approach


class Recording:
    """The real detector, remembering the size of every image it was given."""

    def __init__(self, detector) -> None:
        self.detector = detector
        self.name = detector.name
        self.sizes: list[tuple[int, int]] = []

    def prepare(self):
        return self

    def detect(self, bgr: np.ndarray) -> list[Face]:
        self.sizes.append(bgr.shape[:2])
        return self.detector.detect(bgr)


def place(photo: np.ndarray, canvas_hw: tuple[int, int], x0: int, y0: int, h: int) -> np.ndarray:
    import cv2

    w = int(photo.shape[1] * h / photo.shape[0])
    canvas = np.full((*canvas_hw, 3), (70, 90, 110), np.uint8)
    canvas[y0 : y0 + h, x0 : x0 + w] = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def follow(det: RegionDetector, frames: list[np.ndarray], fps: float = 10.0):
    tracker = Tracker()
    found = []
    for k, frame in enumerate(frames):
        t = k / fps
        faces = det.detect(frame, t, tracker.tracks.values())
        tracker.update(faces, t)
        found.append(faces)
    return found


def test_tracked_face_is_found_as_a_full_detection_finds_it_on_a_smaller_input(engine, hopper):
    frames = approach(hopper, frames=12, size=(1280, 720))
    rec = Recording(engine.detector)
    det = RegionDetector(rec, RegionConfig(full_every_s=10), max_side=640)
    found = follow(det, frames)
    full = [engine.detect(f) for f in frames]
    assert det.full_frames == 1 and det.region_frames == 11
    for mine, ref in zip(found, full, strict=True):
        assert len(mine) == len(ref) == 1
        assert iou(mine[0].bbox, ref[0].bbox) > 0.85
        side = ref[0].size
        assert np.abs(mine[0].landmarks - ref[0].landmarks).max() < 0.06 * side
    full_px = 640 * 360
    assert all(h * w < 0.6 * full_px for h, w in rec.sizes[1:])


def test_someone_walking_in_behind_is_found_within_full_every_s(engine, hopper, astronaut):
    first = place(hopper, (720, 1280), 100, 150, 400)
    both = first.copy()
    both[150:550, 800:1200] = place(astronaut, (400, 400), 0, 0, 400)
    frames = [first] * 3 + [both] * 10
    det = RegionDetector(engine.detector, RegionConfig(full_every_s=0.5), max_side=640)
    found = follow(det, frames, fps=10)
    counts = [len(f) for f in found]
    assert counts[:3] == [1, 1, 1]
    first_seen = counts.index(2)
    assert 3 <= first_seen <= 3 + 5  # within 0.5 s at 10 processed frames per second
    assert all(c == 2 for c in counts[first_seen:])


def test_a_face_that_left_its_region_is_found_by_a_full_detection_of_the_same_frame(engine, hopper):
    here = place(hopper, (720, 1280), 50, 100, 300)
    there = place(hopper, (720, 1280), 900, 300, 300)  # jumped across the frame
    det = RegionDetector(engine.detector, RegionConfig(full_every_s=10), max_side=640)
    found = follow(det, [here, here, there])
    assert det.full_frames == 2 and det.region_frames == 1
    (face,) = found[2]
    assert face.center[0] > 900


def test_disabled_is_a_full_detection_every_frame(engine, hopper):
    frames = approach(hopper, frames=4, size=(1280, 720))
    det = RegionDetector(engine.detector, RegionConfig(enabled=False), max_side=640)
    follow(det, frames)
    assert det.full_frames == 4 and det.region_frames == 0


@pytest.mark.parametrize("gray", [False, True])
def test_regions_accept_what_the_engine_accepts(engine, hopper, gray):
    import cv2

    frames = approach(hopper, frames=12, size=(1280, 720))[:3]
    if gray:
        frames = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    det = RegionDetector(engine.detector, RegionConfig(full_every_s=10), max_side=640)
    found = follow(det, frames)
    assert [len(f) for f in found] == [1, 1, 1] and det.region_frames == 2


def test_a_crowd_is_detected_in_full(engine, hopper, astronaut):
    frame = place(hopper, (720, 1280), 20, 150, 300)
    frame[150:450, 450:750] = place(astronaut, (300, 300), 0, 0, 300)
    frame[150:450, 900:1200] = place(astronaut, (300, 300), 0, 0, 300)
    det = RegionDetector(engine.detector, RegionConfig(full_every_s=10), max_side=640)
    found = follow(det, [frame] * 4)
    assert [len(f) for f in found] == [3, 3, 3, 3]
    assert det.full_frames == 4 and det.region_frames == 0
