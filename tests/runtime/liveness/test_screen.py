"""The screen-edge check (`runtime/liveness/screen.py`): a straight border that moves with the
face under a still camera is an attack; a face moving past a static door frame is not, and a
moving camera (every edge moves) is no evidence; the policy never waits for this veto."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facegate.models.base import Face
from facegate.runtime.liveness import (
    LivenessConfig,
    LivenessVerdict,
    PolicyLiveness,
    ScreenConfig,
    ScreenEdgeCheck,
)

W, H = 640, 480
FACE = 100.0  # face width in the frame


def face_sprite(hopper: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Grace Hopper's head scaled to a 100 px face, with a soft oval mask (no straight photo
    edge), and the face centre in sprite coordinates."""
    x, y, w, h = 182.6, 120.0, 170.0, 212.5  # YuNet's box on the demo photo
    s = FACE / w
    img = cv2.resize(hopper, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    cx, cy = (x + w / 2) * s, (y + h / 2) * s
    mask = np.zeros(img.shape[:2], np.float32)
    cv2.ellipse(mask, (round(cx), round(cy)), (62, 80), 0, 0, 360, 1.0, -1)
    return img, cv2.GaussianBlur(mask, (0, 0), 4), (cx, cy)


def scene(rng: np.random.Generator, width: int = W, height: int = H) -> np.ndarray:
    """A wall with texture (blotches a camera can see move) and a door frame: long static
    vertical edges."""
    blotch = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 6)
    blotch = 150 + 40 * blotch / blotch.std()
    img = cv2.cvtColor(np.clip(blotch, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    for x in (width // 2 - 220, width // 2 + 200):
        cv2.rectangle(img, (x, 20), (x + 18, height), (60, 50, 40), -1)
    return img


def paste(frame, sprite, mask, at) -> None:
    h, w = sprite.shape[:2]
    x, y = round(at[0]), round(at[1])
    roi = frame[y : y + h, x : x + w].astype(np.float32)
    m = mask[..., None]
    frame[y : y + h, x : x + w] = (roi * (1 - m) + sprite.astype(np.float32) * m).astype(np.uint8)


def run(check: ScreenEdgeCheck, frames, centres) -> LivenessVerdict:
    for t, (img, (cx, cy)) in enumerate(zip(frames, centres, strict=True)):
        box = np.array([cx - FACE / 2, cy - 0.62 * FACE, FACE, 1.25 * FACE], np.float32)
        check.observe(1, img, Face(box, np.zeros((5, 2), np.float32), 0.9), t)
    return check.verdict(1)


def path(n: int = 24) -> list[tuple[float, float]]:
    return [(200 + 9 * k, 200 + 2 * k) for k in range(n)]


def test_a_border_moving_with_the_face_is_a_screen(hopper) -> None:
    rng = np.random.default_rng(0)
    back = scene(rng)
    img, _, (fcx, fcy) = face_sprite(hopper)
    # a phone: the photo inside a black bezel, the whole device held and moved
    bez = 12
    dev = cv2.copyMakeBorder(img, bez, bez, bez, bez, cv2.BORDER_CONSTANT, value=(15, 15, 15))
    frames, centres = [], []
    for cx, cy in path():
        f = back.copy()
        paste(f, dev, np.ones(dev.shape[:2], np.float32), (cx - fcx - bez, cy - fcy - bez))
        frames.append(f)
        centres.append((cx, cy))
    v = run(ScreenEdgeCheck(ScreenConfig()), frames, centres)
    assert v.checked and v.live is False, v.to_dict()
    assert v.evidence["locked_pairs"] >= 4 and "moved with the face" in v.note


def test_a_face_walking_past_a_door_frame_is_no_screen(hopper) -> None:
    rng = np.random.default_rng(1)
    back = scene(rng)
    img, mask, (fcx, fcy) = face_sprite(hopper)
    frames, centres = [], []
    for cx, cy in path():
        f = back.copy()
        paste(f, img, mask, (cx - fcx, cy - fcy))
        frames.append(f)
        centres.append((cx, cy))
    v = run(ScreenEdgeCheck(ScreenConfig()), frames, centres)
    assert not v.checked and v.live is None
    assert v.evidence["pairs"] >= 10 and v.evidence["locked_pairs"] == 0, v.to_dict()


def test_a_moving_camera_is_no_evidence(hopper) -> None:
    """A hand-held camera: the door frame and the face shift together in the image."""
    rng = np.random.default_rng(2)
    big = scene(rng, W + 300, H + 100)
    img, mask, (fcx, fcy) = face_sprite(hopper)
    paste(big, img, mask, (W // 2 + 150 - fcx, H // 2 + 50 - fcy))
    frames, centres = [], []
    for k in range(24):
        ox, oy = 9 * k, 2 * k
        frames.append(np.ascontiguousarray(big[50 + oy : 50 + oy + H, ox : ox + W]))
        centres.append((W // 2 + 150 - ox, H // 2 - oy))
    v = run(ScreenEdgeCheck(ScreenConfig()), frames, centres)
    assert not v.checked and v.evidence["pairs"] == 0, v.to_dict()


class Fixed:
    def __init__(self, name: str, v: LivenessVerdict, vouches: bool = True) -> None:
        self.name, self.v, self.vouches = name, v, vouches

    def observe(self, *a) -> None:
        pass

    def verdict(self, track_id) -> LivenessVerdict:
        return self.v

    def forget(self, track_id) -> None:
        pass


@pytest.mark.parametrize(
    ("screen", "expect"),
    [
        (LivenessVerdict(False, None, "screen", note="no screen edge"), (True, True)),
        (LivenessVerdict(True, False, "screen", note="edge"), (True, False)),
    ],
)
def test_the_policy_never_waits_for_the_veto(screen, expect) -> None:
    live = LivenessVerdict(True, True, "x", 0.9)
    pol = PolicyLiveness(
        LivenessConfig(),
        {
            "passive": Fixed("passive", live),
            "motion": Fixed("motion", live),
            "screen": Fixed("screen", screen, vouches=False),
        },
    )
    v = pol.verdict(1)
    assert (v.checked, v.live) == expect
    if v.live:
        assert v.method == "passive+motion"
