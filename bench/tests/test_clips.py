"""Synthetic door visits: reproducible, well-formed, and the visitor's face is one a real detector
finds where the ground truth says it is (otherwise the door benchmark would time the renderer,
not the intercom)."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.tests.conftest import require_data
from facegate.engine import FaceEngine
from facegate_bench.clips import (
    LFW_FACE_BOX,
    MIN_VISIBLE_FACE_PX,
    VisitClip,
    make_background,
    render_visit,
    save_preview,
)

#: Grace Hopper's face in matplotlib's 512x600 sample sits at about (183, 120, 170, 213); this
#: square crop puts it where LFW's deep-funneled images have theirs (checked by a test below).
HOPPER_CROP = (50, 3, 425)  # x, y, side


def iou(a, b) -> float:
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


@pytest.fixture(scope="module")
def hopper_face(hopper: np.ndarray) -> np.ndarray:
    """Grace Hopper framed like an LFW image: 250x250 gray, face in the middle."""
    x, y, side = HOPPER_CROP
    gray = cv2.cvtColor(hopper, cv2.COLOR_BGR2GRAY)[y : y + side, x : x + side]
    return cv2.resize(gray, (250, 250), interpolation=cv2.INTER_AREA)


def visit(face: np.ndarray, seed: int, **kwargs) -> VisitClip:
    return render_visit(face, np.random.default_rng(seed), **kwargs)


def detection_hits(engine: FaceEngine, clip: VisitClip, frames: range) -> list[bool]:
    """Per frame: does a detection overlap the ground-truth face box at IoU > 0.3?"""
    hits = []
    for k in frames:
        box = clip.face_boxes[k]
        assert box is not None
        hits.append(any(iou(f.bbox, box) > 0.3 for f in engine.detect(clip.frames[k])))
    return hits


def test_hopper_crop_is_framed_like_lfw(engine: FaceEngine, hopper_face: np.ndarray) -> None:
    faces = engine.detect(hopper_face)
    assert faces, "no face in the Grace Hopper crop: HOPPER_CROP is off"
    assert iou(faces[0].bbox, LFW_FACE_BOX) > 0.7


def test_same_seed_same_clip_different_seed_different(hopper_face: np.ndarray) -> None:
    a, b, c = visit(hopper_face, 7), visit(hopper_face, 7), visit(hopper_face, 8)
    assert len(a.frames) == len(b.frames)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
    assert a.face_boxes == b.face_boxes and a.first_visible == b.first_visible
    assert not np.array_equal(a.frames[-1], c.frames[-1])
    assert a.face_boxes != c.face_boxes


def test_frames_are_bgr_uint8_of_one_size(hopper_face: np.ndarray) -> None:
    clip = visit(hopper_face, 1)
    assert len(clip.frames) == 30 and len(clip.face_boxes) == 30
    assert clip.fps == 15.0 and clip.duration_s == pytest.approx(2.0)
    for frame in clip.frames:
        assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
        assert frame.flags.c_contiguous

    bgr = cv2.cvtColor(cv2.resize(hopper_face, (300, 300)), cv2.COLOR_GRAY2BGR)
    small = visit(bgr, 2, size=(320, 240), fps=10.0, duration_s=1.5)
    assert len(small.frames) == 15
    assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for f in small.frames)


@pytest.mark.parametrize("seed", range(8))
def test_face_becomes_visible_and_grows(hopper_face: np.ndarray, seed: int) -> None:
    clip = visit(hopper_face, seed)
    n = len(clip.frames)
    assert 0 <= clip.first_visible < n - 5, "the face must be in view well before the end"
    boxes = clip.face_boxes[clip.first_visible :]
    assert all(b is not None for b in boxes), "once in view, the visitor stays in view"
    x, y, w, h = boxes[0]
    assert w >= MIN_VISIBLE_FACE_PX and x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480
    for k, box in enumerate(clip.face_boxes[: clip.first_visible]):
        # Before the clock starts the face is out of view, cut by an edge (its clipped box
        # touches it), or too small.
        if box is not None:
            bx, by, bw, bh = box
            cut = bx <= 0 or by <= 0 or bx + bw >= 640 or by + bh >= 480
            assert cut or bw < MIN_VISIBLE_FACE_PX, k
    widths = [b[2] for b in boxes]
    assert all(b > a for a, b in itertools.pairwise(widths)), "approaching"
    assert 130 <= widths[-1] <= 225
    assert widths[-1] > 2.3 * widths[0]


def test_given_background_is_used(hopper_face: np.ndarray) -> None:
    wall = np.full((100, 100), 120, np.uint8)  # flat gray, any size: scaled to cover the frame
    clip = visit(hopper_face, 3, background=wall)
    corner = clip.frames[-1][:40, :40].astype(np.float32)
    assert corner.std() < 10, "a flat background should stay flat apart from sensor noise"


@pytest.mark.parametrize("seed", range(6))
def test_generated_scene_contains_no_face(engine: FaceEngine, seed: int) -> None:
    for backlit in (False, True):
        scene = make_background(np.random.default_rng(seed), 640, 480, backlit)
        assert scene.shape == (480, 640, 3) and scene.dtype == np.uint8
        assert engine.detect(scene) == []


def test_rendered_face_is_detected_where_ground_truth_says(
    engine: FaceEngine, hopper_face: np.ndarray
) -> None:
    hits = []
    for seed in range(4):
        clip = visit(hopper_face, 100 + seed)
        n = len(clip.frames)
        hits += detection_hits(engine, clip, range(n - 3, n))
    assert sum(hits) >= 0.8 * len(hits), hits


@pytest.mark.data
def test_rendered_lfw_faces_are_detected(engine: FaceEngine) -> None:
    gray = require_data("lfw") / "gray"
    people = sorted(p for p in gray.iterdir() if p.is_dir())
    photos = [sorted(p.glob("*.jpg"))[0] for p in people[:: max(1, len(people) // 5)][:5]]
    hits = []
    for seed, path in enumerate(photos):
        face = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert face is not None, path
        clip = visit(face, 200 + seed)
        n = len(clip.frames)
        hits += detection_hits(engine, clip, range(n - 3, n))
    assert sum(hits) >= 0.8 * len(hits), list(zip(photos, hits[::3], strict=False))


def test_save_preview_writes_a_contact_sheet(hopper_face: np.ndarray, tmp_path: Path) -> None:
    clip = visit(hopper_face, 4)
    out = save_preview(clip, tmp_path / "sub" / "visit.png")
    sheet = cv2.imread(str(out))
    assert sheet is not None
    assert sheet.shape == (2 * 300, 3 * 400, 3)  # 6 tiles of 400x300, 3 per row


def test_bad_inputs_are_refused(hopper_face: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="uint8"):
        render_visit(hopper_face.astype(np.float32), rng)
    with pytest.raises(ValueError, match="too small"):
        render_visit(hopper_face, rng, size=(32, 32))
    with pytest.raises(ValueError, match="positive"):
        render_visit(hopper_face, rng, fps=0)
