"""The motion check (model-free, on by default): does a track's face move as a plane (a
printed photo, a photo on a screen) or as a head? `PlanarMotionCheck` keeps a few views of
each track, aligns each new one with earlier ones by the landmarks' homography and measures
with dense optical flow the parallax no plane can have (class docstring: how). The 68-point
predictor runs on every `motion.every`-th frame (about 1-3 ms on one core).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from facegate.models.base import Face
from facegate.models.shape68 import Landmarks68
from facegate.runtime.liveness.base import LivenessVerdict, _Tracks, due
from facegate.runtime.liveness.config import MotionConfig
from facegate.runtime.liveness.geometry import (
    fit_homography,
    homography_residuals,
    interocular,
    pair_evidence,
)

#: Views are kept as gray crops scaled so the eyes are this far apart (pixels).
_CROP_IOD = 32.0
_CROP_HALF = 2.2  # crop half-size in inter-ocular distances around the landmarks' centre


@dataclass
class _View:
    n: int  # look number in the track
    lm: np.ndarray  # (68, 2) image coordinates
    crop: np.ndarray  # gray uint8, normalised scale
    T: np.ndarray  # image -> crop (3x3)
    grid: np.ndarray  # (k, 2) crop points inside the face, where parallax is measured


@dataclass
class _MotionState:
    seen: int = 0
    looks: int = 0
    views: deque = field(default_factory=deque)
    # (motion, residual, correction)
    pairs: deque = field(default_factory=lambda: deque(maxlen=256))
    max_motion: float = 0.0
    final: LivenessVerdict | None = None


def _texture(crop: np.ndarray) -> np.ndarray:
    """Gray high-pass of a crop: the texture that moves with the surface, without the smooth
    shading and glare that do not (a glare spot sliding over a photo is not parallax)."""
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    f = g.astype(np.float32)
    return np.clip(f - cv2.GaussianBlur(f, (0, 0), 6.0) + 128, 0, 255).astype(np.uint8)


class PlanarMotionCheck:
    """Model-free: does the face move as a plane (photo, screen) or as a head?

    On every `every`-th frame of a track the 68 landmarks are found in the face box and the
    view is kept (a small gray crop at a normalised scale). Each new view is compared with a
    few earlier ones: the homography that maps the earlier landmarks onto the new ones aligns
    the two views as well as any plane could; dense optical flow between the aligned views
    then shows what is left, and a homography fitted to that flow inside the face removes
    whatever alignment error is still planar. The remainder is parallax: a photo or a screen
    has none (however it is tilted), a head has some whenever it turns or comes closer.

    Per pair: motion (how much the view changed, from the landmarks) and residual (parallax,
    inter-ocular units). The landmarks alone are not used for the residual: dlib's predictor
    is not exactly consistent under perspective (it reads a tilted photo as a turned head),
    while the flow follows the texture. A pair whose alignment did not converge (the second
    flow pass still had to move it by more than `max_correction`: landmarks misplaced on a
    face cut by the photo's edge or half hidden by another) is no evidence either way. A
    track is decided once `min_pairs` pairs moved at least `min_motion`: the median of
    residual / motion over them is the score; live above `live_ratio`, planar (an attack)
    below `planar_ratio`.
    """

    name = "motion"

    def __init__(self, cfg: MotionConfig, landmarks: Landmarks68 | None = None) -> None:
        self.cfg = cfg
        self.landmarks = landmarks or Landmarks68()
        self._tracks = _Tracks(_MotionState)
        self._flow = None
        self.looks = 0  # views looked at, all tracks (for cost figures)

    def _dis(self):
        if self._flow is None:
            self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        return self._flow

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None:
        st = self._tracks.get(track_id)
        if not due(st, st.final is not None, self.cfg.every, face, self.cfg.min_face_px):
            return
        lm = self.landmarks(image, face.bbox)
        if not np.isfinite(lm).all() or interocular(lm) < 0.15 * face.size:
            return
        self.add(st, image, lm)

    def view(self, image: np.ndarray, lm: np.ndarray, n: int) -> _View:
        s = _CROP_IOD / max(interocular(lm), 1e-6)
        c = lm.mean(0)
        half = _CROP_HALF * _CROP_IOD
        size = round(2 * half)
        T = np.array([[s, 0, half - s * c[0]], [0, s, half - s * c[1]], [0, 0, 1.0]])
        crop = _texture(cv2.warpAffine(image, T[:2], (size, size), flags=cv2.INTER_LINEAR))
        lc = lm * s + (T[0, 2], T[1, 2])
        mask = np.zeros((size, size), np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(lc[:27].astype(np.float32)).astype(np.int32), 255)
        mask = cv2.erode(mask, np.ones((5, 5), np.uint8))
        ys, xs = np.nonzero(mask[2::4, 2::4])
        grid = np.stack([xs * 4 + 2, ys * 4 + 2], 1).astype(np.float32)
        return _View(n, lm, crop, T, grid)

    def pair(
        self, old: _View, image: np.ndarray, lm: np.ndarray
    ) -> tuple[float, float, float] | None:
        """(motion, residual, correction) between an earlier view and the current frame.

        The current frame is warped onto the earlier view by the landmarks' homography, the
        flow between them is measured, a homography is fitted to that flow (what a plane
        could still explain) and the frame warped again with it; the second flow's
        departure from a homography is the residual. The second pass removes the alignment
        error the landmarks leave (large on some photos), so a plane's residual is noise only.

        `correction` says whether that worked: how far (RMS over the face, inter-ocular units)
        the second pass still moved the alignment. It is tiny when the first pass converged
        (a plane's median is 0.005, a head's 0.03); when the landmarks were far off (a face cut
        by the photo's edge, or half hidden by another face, read at a different scale in
        every frame) the flow cannot bridge the gap in one pass, the correction stays large,
        and the residual measures the failed alignment, not parallax.
        """
        _, motion = pair_evidence(old.lm[None], lm)
        H = fit_homography(old.lm, lm)  # old image -> new image
        if H is None or len(old.grid) < 12:
            return None
        size = old.crop.shape[1], old.crop.shape[0]
        M = old.T @ np.linalg.inv(H)  # new image -> old crop
        grid = old.grid.astype(np.float64)
        g = old.grid.astype(np.int32)
        residual = correction = float("inf")
        for _ in range(2):
            warped = _texture(cv2.warpPerspective(image, M, size, flags=cv2.INTER_LINEAR))
            flow = self._dis().calc(old.crop, warped, None)
            moved = grid + flow[g[:, 1], g[:, 0]]
            H2 = fit_homography(old.grid, moved)  # old crop -> warped crop
            if H2 is None:
                return None
            planar = cv2.perspectiveTransform(grid[:, None], H2)[:, 0]
            correction = float(np.sqrt(((planar - grid) ** 2).sum(1).mean())) / _CROP_IOD
            residual = float(homography_residuals(old.grid, moved)) / _CROP_IOD
            M = np.linalg.inv(H2) @ M
        return float(motion[0]), residual, correction

    def add(self, st: _MotionState, image: np.ndarray, lm: np.ndarray) -> None:
        """Compare a new view with earlier ones, keep it, and decide when the evidence is in."""
        cfg = self.cfg
        self.looks += 1
        views = list(st.views)
        for off in cfg.offsets:
            if off <= len(views):
                r = self.pair(views[-off], image, lm)
                if r is not None:
                    st.pairs.append(r)
                    if r[2] <= cfg.max_correction:
                        st.max_motion = max(st.max_motion, r[0])
        st.views.append(self.view(image, lm, st.looks))
        st.looks += 1
        if len(st.views) > cfg.window:
            st.views.popleft()
        v = self._decide(st)
        if v.checked:
            st.final = v
            st.views.clear()

    def _decide(self, st: _MotionState) -> LivenessVerdict:
        cfg = self.cfg
        usable = [(m, r) for m, r, c in st.pairs if c <= cfg.max_correction]
        moved = [(m, r) for m, r in usable if m >= cfg.min_motion]
        ev: dict[str, Any] = {
            "views": st.looks,
            "pairs": len(st.pairs),
            "moved_pairs": len(moved),
            "max_motion": round(st.max_motion, 3),
        }
        unaligned = len(st.pairs) - len(usable)
        if unaligned:
            ev["unaligned_pairs"] = unaligned
        if moved:
            ratios = [r / m for m, r in moved]
            ratio = float(np.median(ratios))
            ev["residual"] = round(float(np.median([r for _, r in moved])), 4)
            ev["ratio"] = round(ratio, 4)
        if len(moved) >= cfg.min_pairs:
            trusted = unaligned <= cfg.max_unaligned * len(st.pairs)
            if ratio >= cfg.live_ratio and len(moved) >= cfg.min_live_pairs and trusted:
                return LivenessVerdict(True, True, self.name, ratio, ev)
            if ratio < cfg.planar_ratio:
                return LivenessVerdict(
                    True,
                    False,
                    self.name,
                    ratio,
                    ev,
                    note="the face moved as a flat photo or screen",
                )
            note = (
                "evidence mixed: more frames needed"
                if trusted
                else f"landmarks unreliable ({unaligned} of {len(st.pairs)} pairs of views "
                "could not be aligned): more frames needed"
            )
        elif st.looks < 2:
            note = "not enough frames yet"
        else:
            note = (
                f"too little motion to tell ({len(moved)} of {cfg.min_pairs} views moved "
                f"enough; largest viewpoint change {st.max_motion:.2f})"
            )
        if unaligned and len(moved) < cfg.min_pairs:
            note += (
                f"; {ev['unaligned_pairs']} pairs of views could not be aligned "
                "(landmarks misplaced)"
            )
        return LivenessVerdict(False, None, self.name, ev.get("ratio"), ev, note=note)

    def verdict(self, track_id: int) -> LivenessVerdict:
        st = self._tracks.peek(track_id)
        if st is None:
            return LivenessVerdict(False, None, self.name, note="face not seen large enough yet")
        return st.final or self._decide(st)

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id)
