"""The screen-edge check (model-free, a veto): a long straight edge next to the face that moves
with the face while the camera's view stays put is the border of something held up to the
camera - a phone's or tablet's bezel, a photo's edge - not part of a scene a person walks
through.

On every `every`-th frame of a track the region around the face (`window` face widths either
side, scaled so the face is 40 px wide) is searched for straight segments (OpenCV's line
segment detector) at least `min_length` face widths long that do not cross the face. Each is
kept as a line twice: in the face's frame (angle, distance from the face centre in face widths)
and in the image (angle, distance from the origin in pixels). Each new look is compared with
the looks 1, 2 and 4 back, when the face moved enough in the image between them (`min_shift`):

- a line **locked to the face** is one found again at the same place relative to the face but
  not at the same place in the image, where a scene edge would have stayed (door frames,
  furniture), and far enough from where such a static edge would appear relative to the moved
  face (`margin`) for the two to be told apart;
- the pair only counts when the camera's view is still (`static_border`: most cells along the
  frame's border did not change): a hand-held camera moves every edge with a face standing still
  in the world, a door camera does not.

A track with at least `min_locked` pairs showing a locked line, and at least `min_share` of its
counted pairs, is an attack. The check never vouches for a face (`vouches = False`): a face with
no screen edge near it may still be a screen filling the view, so its verdict is unchecked and
the policy does not wait for it. About 2-3 ms per look.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from facegate.models.base import Face
from facegate.runtime.liveness.base import LivenessVerdict, _Tracks, due
from facegate.runtime.liveness.config import ScreenConfig

_FACE_PX = 40.0  # face width in a look's pixels
_THUMB_W = 160  # width of the frame thumbnail the border test reads
_CELL = 8  # border cell size in thumbnail pixels


@dataclass
class _Look:
    cx: float
    cy: float
    fw: float
    lines: np.ndarray  # (k, 4): angle [0, pi), rho in face widths, rho in image px, length
    thumb: np.ndarray  # gray float32 thumbnail of the frame


@dataclass
class _ScreenState:
    seen: int = 0
    n_looks: int = 0
    looks: deque = field(default_factory=lambda: deque(maxlen=5))  # the last few, for pairs
    pairs: int = 0  # pairs that moved enough under a still camera
    locked: int = 0  # of those, pairs with a line locked to the face
    final: LivenessVerdict | None = None


def _match(a: np.ndarray, lines: np.ndarray, col: int, tol: float, angle_tol: float) -> bool:
    """Is line `a` among `lines` (same angle within `angle_tol`, same rho in column `col`
    within `tol`)? Angles wrap at pi, where the sign of rho flips."""
    if not len(lines):
        return False
    d = lines[:, 0] - a[0]
    flip = np.abs(d) > math.pi / 2
    d = np.where(flip, d - np.sign(d) * math.pi, d)
    rho = np.where(flip, -lines[:, col], lines[:, col])
    return bool(np.any((np.abs(d) < angle_tol) & (np.abs(rho - a[col]) < tol)))


class ScreenEdgeCheck:
    """Straight edges that move with the face under a still camera: see the module doc."""

    name = "screen"
    vouches = False  # a veto: an attack verdict denies, no verdict never holds the door

    def __init__(self, cfg: ScreenConfig) -> None:
        self.cfg = cfg
        self._tracks = _Tracks(_ScreenState)
        self._lsd = None
        self.looks = 0

    def _detector(self):
        if self._lsd is None:
            self._lsd = cv2.createLineSegmentDetector()
        return self._lsd

    def observe(self, track_id: int, image: np.ndarray, face: Face, t: int) -> None:
        st = self._tracks.get(track_id)
        if not due(st, st.final is not None, self.cfg.every, face, self.cfg.min_face_px):
            return
        look = self.look(image, face)
        self.looks += 1
        st.n_looks += 1
        for off in (1, 2, 4):
            if len(st.looks) >= off:
                self._compare(st, st.looks[-off], look)
        st.looks.append(look)
        if st.locked >= self.cfg.min_locked and st.locked >= self.cfg.min_share * st.pairs:
            st.final = LivenessVerdict(
                True,
                False,
                self.name,
                evidence=self._evidence(st),
                note="a straight edge moved with the face (a screen's or photo's border)",
            )

    def look(self, image: np.ndarray, face: Face) -> _Look:
        x, y, w, h = (float(v) for v in face.bbox)
        cx, cy = x + w / 2, y + h / 2
        s = _FACE_PX / max(w, 1.0)
        half = self.cfg.window * _FACE_PX
        size = round(2 * half)
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        m = np.array([[s, 0, half - cx * s], [0, s, half - cy * s]])
        win = cv2.warpAffine(gray, m, (size, size), flags=cv2.INTER_AREA)
        inside = cv2.warpAffine(
            np.full(gray.shape[:2], 255, np.uint8), m, (size, size), flags=cv2.INTER_NEAREST
        )
        segs = self._detector().detect(win)[0]
        lines = []
        for x0, y0, x1, y1 in segs.reshape(-1, 4) if segs is not None else ():
            dx, dy = x1 - x0, y1 - y0
            length = math.hypot(dx, dy) / _FACE_PX
            if length < self.cfg.min_length:
                continue
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            if not inside[min(size - 1, max(0, int(my))), min(size - 1, max(0, int(mx)))]:
                continue  # the image's own border, not an object's
            # closest point of the segment to the face centre
            u = max(0.0, min(1.0, ((half - x0) * dx + (half - y0) * dy) / (dx * dx + dy * dy)))
            if math.hypot(x0 + u * dx - half, y0 + u * dy - half) / _FACE_PX < 0.55:
                continue  # through the face
            theta = math.atan2(dy, dx) % math.pi
            nx, ny = -math.sin(theta), math.cos(theta)
            rho_face = ((x0 - half) * nx + (y0 - half) * ny) / _FACE_PX
            rho_img = ((x0 - half) / s + cx) * nx + ((y0 - half) / s + cy) * ny
            lines.append((theta, rho_face, rho_img, length))
        tw = _THUMB_W
        th = max(_CELL, round(gray.shape[0] * tw / gray.shape[1]))
        thumb = cv2.resize(gray, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32)
        return _Look(cx, cy, w, np.array(lines, np.float64).reshape(-1, 4), thumb)

    def _still_camera(self, a: _Look, b: _Look) -> bool:
        """Most cells along the frame's border (two cells deep) did not change."""
        d = cv2.absdiff(a.thumb, b.thumb)
        h, w = d.shape
        n = still = 0
        for y in range(0, h - _CELL + 1, _CELL):
            for x in range(0, w - _CELL + 1, _CELL):
                if _CELL * 2 <= y < h - 2 * _CELL and _CELL * 2 <= x < w - 2 * _CELL:
                    continue
                n += 1
                still += float(d[y : y + _CELL, x : x + _CELL].mean()) < self.cfg.still_level
        return n > 0 and still >= self.cfg.static_border * n

    def _compare(self, st: _ScreenState, a: _Look, b: _Look) -> None:
        cfg = self.cfg
        shift = math.hypot(b.cx - a.cx, b.cy - a.cy) / a.fw + abs(math.log(b.fw / a.fw))
        if shift < cfg.min_shift or not self._still_camera(a, b):
            return
        st.pairs += 1
        tol = math.radians(cfg.angle_tol_deg)
        for line in b.lines:
            theta, rho_face, rho_img, _ = line
            nx, ny = -math.sin(theta), math.cos(theta)
            static_rho = (rho_img - (a.cx * nx + a.cy * ny)) / a.fw  # a scene edge, in a's face
            if abs(static_rho - rho_face) < cfg.margin:
                continue  # a static edge would sit there too: no evidence either way
            if _match(line, a.lines, 1, cfg.rho_tol, tol) and not _match(
                line, a.lines, 2, cfg.static_px, tol
            ):
                st.locked += 1
                return

    def _evidence(self, st: _ScreenState) -> dict:
        return {"looks": st.n_looks, "pairs": st.pairs, "locked_pairs": st.locked}

    def verdict(self, track_id: int) -> LivenessVerdict:
        st = self._tracks.peek(track_id)
        if st is None:
            return LivenessVerdict(False, None, self.name, note="not looked at yet")
        if st.final is not None:
            return st.final
        return LivenessVerdict(
            False,
            None,
            self.name,
            evidence=self._evidence(st),
            note=f"no screen edge moved with the face ({st.locked} of {st.pairs} pairs)",
        )

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id)
