"""The planar-motion check: a flat photo or screen moves as a plane, a head does not.

Tests that must run everywhere use Grace Hopper's photo (matplotlib) rendered two ways by the
same code: as a flat sheet moved in front of the camera (what a print or a screen does), and
as a relief with a face-shaped depth map turning its head (a crude 3D head). Tests that need
the shared models or data skip with the reason when they are absent.
"""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from facegate.models.base import Face
from facegate.runtime.liveness import MotionConfig, PlanarMotionCheck
from tests.conftest import require_data
from tests.runtime.liveness.helpers import video_frames

# -- rendered clips: a flat sheet vs a relief turning its head -------------------------------


def relief_views(
    photo: np.ndarray,
    face: Face,
    n: int = 16,
    depth: float = 1.0,
    size: tuple[int, int] = (320, 240),
) -> list[np.ndarray]:
    """The photo as a relief turning its head from one side to the other while coming closer;
    depth=0 is the flat photo moved the same way (a print). The relief is about as deep as a
    head: a dome 0.6 face widths deep with a nose 0.3 face widths high. Rendered by inverse
    mapping (a few fixed-point iterations for the depth), on a small frame to stay fast."""
    x, y, bw, bh = (float(v) for v in face.bbox)
    cx, cy = x + bw / 2, y + bh * 0.55
    nose = face.landmarks[2]
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dome = np.sqrt(np.clip(1 - ((xx - cx) / (0.6 * bw)) ** 2 - ((yy - cy) / (0.7 * bh)) ** 2, 0, 1))
    bump = np.exp(
        -(((xx - nose[0]) / (0.1 * bw)) ** 2 + ((yy - nose[1] + 0.05 * bh) / (0.22 * bh)) ** 2)
    )
    D = (depth * bw * (0.6 * dome + 0.3 * bump)).astype(np.float32)  # towards the camera
    W, H = size
    uu, vv = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    frames = []
    for k in range(n):
        t = k / (n - 1)
        yaw = math.radians(-25 + 50 * t)
        s = min((0.5 + 0.35 * t) * 160 / bw, 0.8 * H / bh)  # face ~80 px to ~135 px wide
        ox, oy = W / 2 + 15 * math.sin(4 * t), H / 2 + 5
        # output (u, v) <- source (x, y): u = ox + s((x - cx) cos + D sin), v = oy + s(y - cy)
        sy = (vv - oy) / s + cy
        sx = (uu - ox) / (s * math.cos(yaw)) + cx
        for _ in range(3):
            d = cv2.remap(D, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            sx = ((uu - ox) / s - d * math.sin(yaw)) / math.cos(yaw) + cx
        frames.append(
            cv2.remap(
                photo,
                sx,
                sy,
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=(90, 110, 130),
            )
        )
    return frames


def motion_verdict(engine, frames: list[np.ndarray], cfg: MotionConfig | None = None):
    check = PlanarMotionCheck(cfg or MotionConfig(every=1))
    for k, img in enumerate(frames):
        faces = engine.detect(img)
        if faces:
            check.observe(1, img, faces[0], k)
    return check.verdict(1)


@pytest.fixture(scope="module")
def hopper_face(engine, hopper) -> Face:
    return engine.detect(hopper)[0]


def test_relief_shows_parallax_a_flat_photo_does_not(engine, hopper, hopper_face) -> None:
    """The same photo moved the same way: as a flat sheet it is judged planar; as a relief
    (depth like a head's) it shows several times the parallax per unit of motion."""
    cfg = MotionConfig(every=1, min_pairs=4)
    flat = motion_verdict(engine, relief_views(hopper, hopper_face, depth=0.0), cfg)
    relief = motion_verdict(engine, relief_views(hopper, hopper_face, depth=1.0), cfg)
    assert flat.checked and flat.live is False, flat.to_dict()
    assert relief.evidence["ratio"] > 2 * flat.evidence["ratio"], (relief.to_dict(), flat.to_dict())
    json.dumps([relief.to_dict(), flat.to_dict()])  # evidence is plain JSON


@pytest.mark.data
def test_real_head_is_live_replayed_video_is_not_caught_by_motion(engine) -> None:
    """A real person in front of a webcam moves as a head; the same person replayed on a
    screen moves as a head too (the planar check cannot see a video replay: the passive
    model's job)."""
    video = require_data("video") / "apfol_liveness"
    live = motion_verdict(engine, video_frames(video / "real2.webm", limit=75), MotionConfig())
    assert live.checked and live.live is True, live.to_dict()
    replay = motion_verdict(engine, video_frames(video / "fake2.webm", limit=75), MotionConfig())
    assert replay.live is not False, replay.to_dict()


def test_standing_still_is_undecided(engine, hopper, hopper_face) -> None:
    frames = [cv2.GaussianBlur(hopper, (0, 0), 0.3 + 0.01 * k) for k in range(16)]
    canvas = [cv2.copyMakeBorder(f, 40, 40, 40, 40, cv2.BORDER_REPLICATE) for f in frames]
    v = motion_verdict(engine, canvas)
    assert not v.checked and v.live is None
    assert "too little motion" in v.note


def test_pairs_whose_alignment_did_not_converge_are_no_evidence() -> None:
    """Misplaced landmarks (a face cut by the photo's edge, half hidden by another) leave an
    alignment the flow cannot close in one pass: such a pair's residual is the failed
    alignment, not parallax, so it must not make a photo look live."""

    def verdict(pairs, **cfg):
        check = PlanarMotionCheck(MotionConfig(**cfg))
        st = check._tracks.get(1)
        st.looks = 9
        st.pairs.extend(pairs)
        return check.verdict(1)

    unconverged = [(0.4, 0.05, 0.3)] * 8  # (motion, residual, second-pass correction)
    v = verdict(unconverged, max_correction=10.0)
    assert v.checked and v.live is True  # what the check said before the gate
    v = verdict(unconverged)
    assert not v.checked and v.evidence["unaligned_pairs"] == 8, v.to_dict()
    assert v.evidence["moved_pairs"] == 0 and "too little motion" in v.note
    v = verdict(unconverged + [(0.2, 0.002, 0.01)] * 6)
    assert v.checked and v.live is False and v.evidence["unaligned_pairs"] == 8, v.to_dict()
    # landmarks that fail on half the pairs are not trusted to vouch for a live face ...
    headlike = [(0.3, 0.03, 0.01)] * 8
    v = verdict(unconverged + headlike)
    assert not v.checked and "landmarks unreliable" in v.note, v.to_dict()
    # ... an occasional failure is fine
    v = verdict(unconverged[:2] + headlike)
    assert v.checked and v.live is True and v.evidence["unaligned_pairs"] == 2, v.to_dict()
