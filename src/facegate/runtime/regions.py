"""Detection around the faces being followed: a visit's frames cost a fraction of a full one.

At an intercom the face fills a large part of the frame and moves little between two
processed frames, yet a full detection shrinks the whole frame to 640 px and runs YuNet on
all of it. While faces are tracked, this detector runs YuNet only on a region around each
track's predicted box (the box plus `margin` box sides on every side), cut from the full
frame and shrunk so the face is at most `face_px` in the detector's input (never finer than
the full detection would see it: small faces keep exactly the full detection's scale, large
ones are detected on a downscaled cut, where YuNet finds them as well).

The whole frame is still detected

- when nothing is tracked (new visitors are found as before; the idle gate decides whether
  such frames are detected at all),
- at least every `full_every_s` while tracking, so a second person walking in behind the
  first is found within that time,
- whenever a track's region holds no face (it turned away, left, or moved faster than the
  margin allows): the same frame is then detected in full, so no face is lost by looking in
  the wrong place. Faces under `must_find_px` (40 px) are exempt: below the quality gate's 60 px
  they are never decided on, and in a crowd (the shared 1080p clip) YuNet finds some of them only
  with the whole frame's context; they wait for the next full detection,
- when more than `max_tracks` faces are followed: an intercom sees one or two people; in a
  crowd (the shared 1080p clip, 5-7 faces) the regions overlap, a region finds a neighbour
  instead of its own face, and they cost as much as the whole frame (measured: 0.96 of the
  faces >= 60 px found, no faster),
- when the regions together would cost more than `max_share` of a full detection.

A track that was not seen on the last detection (turned away, or flickering at the detector's
threshold) gets no region: the next full detection looks for it.

Measured by `facegate bench detect` (docs/performance.md): per processed frame of the shared
720p and 1080p clips against `cv2.FaceDetectorYN` on the whole frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import Field

from facegate.imageio import to_bgr
from facegate.models.base import Detector, Face
from facegate.runtime.tracker import Track, iou
from facegate.schema import StrictModel

#: Smallest face size a region gives the detector: a cut has little context around a small
#: face, and YuNet found 1080p crowd faces of 12-15 px in the full detection's input but not
#: in their cuts (measured on the shared 1080p clip).
MIN_FACE_PX = 32.0


class RegionConfig(StrictModel):
    enabled: bool = Field(True, description="between full detections, detect around tracks")
    full_every_s: float = Field(0.5, gt=0, description="a full detection at least this often")
    margin: float = Field(
        0.75, ge=0.25, description="the region adds this many box sides on every side"
    )
    face_px: float = Field(96.0, ge=32, description="largest face size the detector is given")
    max_tracks: int = Field(
        2, ge=1, description="more faces followed than this (a crowd): detect the whole frame"
    )
    must_find_px: float = Field(
        40.0,
        ge=0,
        description="a tracked face this big missing from its region: detect the whole frame",
    )
    max_share: float = Field(
        0.6, gt=0, le=1, description="regions costlier than this share of a full detection: full"
    )


@dataclass
class _Region:
    x0: int
    y0: int
    x1: int
    y1: int
    scale: float

    def input_px(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0) * self.scale**2


class RegionDetector:
    """Full detections, or detections in regions around tracks; see the module docstring."""

    def __init__(self, detector: Detector, cfg: RegionConfig | None, max_side: int) -> None:
        self.detector = detector
        self.cfg = cfg or RegionConfig()
        self.max_side = max_side  # the full detection's shrink (engine.detector.max_side)
        self._last_full_t = float("-inf")
        self._last_t = float("-inf")  # the last frame detected, in full or in regions
        self.full_frames = 0
        self.region_frames = 0

    def detect(self, image: np.ndarray, t: float, tracks: Iterable[Track]) -> list[Face]:
        """Faces in a frame (gray, BGR or BGRA), largest first, given the tracks alive
        before it."""
        image = to_bgr(image)
        # a track not seen on the last detection is coasting (turned away, flickering at the
        # detector's threshold): the next full detection looks for it
        live = [tr for tr in tracks if tr.last_t >= self._last_t]
        self._last_t = t
        if (
            not self.cfg.enabled
            or not live
            or len(live) > self.cfg.max_tracks
            or t - self._last_full_t >= self.cfg.full_every_s
        ):
            return self._full(image, t)
        regions = self._regions(image.shape[0], image.shape[1], live, t)
        if regions is None:
            return self._full(image, t)
        faces: list[Face] = []
        for tr, r in zip(live, regions, strict=True):
            found = self._in_region(image, r)
            if not found and tr.face.size >= self.cfg.must_find_px:
                return self._full(image, t)  # a face seen a frame ago is not where expected
            faces.extend(found)
        self.region_frames += 1
        return _distinct(faces)

    def _full(self, image: np.ndarray, t: float) -> list[Face]:
        self._last_full_t = t
        self.full_frames += 1
        return self.detector.detect(image)

    def _full_scale(self, h: int, w: int) -> float:
        return min(1.0, self.max_side / max(h, w)) if self.max_side else 1.0

    def _regions(self, h: int, w: int, tracks: list[Track], t: float) -> list[_Region] | None:
        """One region per track (overlapping ones are detected separately and their faces
        de-duplicated); None when a full detection is as cheap."""
        full = self._full_scale(h, w)
        regions: list[_Region] = []
        for tr in tracks:
            x, y, bw, bh = (float(v) for v in tr.predict(t))
            side = max(bw, bh)
            if side <= 1:
                return None
            m = self.cfg.margin * side
            r = _Region(
                max(0, int(x - m)),
                max(0, int(y - m)),
                min(w, int(np.ceil(x + bw + m))),
                min(h, int(np.ceil(y + bh + m))),
                min(1.0, max(full, MIN_FACE_PX / side), self.cfg.face_px / side),
            )
            if r.x1 - r.x0 < 8 or r.y1 - r.y0 < 8:  # predicted off the frame
                return None
            regions.append(r)
        if sum(r.input_px() for r in regions) > self.cfg.max_share * h * w * full**2:
            return None
        return regions

    def _in_region(self, image: np.ndarray, r: _Region) -> list[Face]:
        cut = image[r.y0 : r.y1, r.x0 : r.x1]
        cw = max(1, round((r.x1 - r.x0) * r.scale))
        ch = max(1, round((r.y1 - r.y0) * r.scale))
        small = cv2.resize(cut, (cw, ch), interpolation=cv2.INTER_AREA)
        sx, sy = (r.x1 - r.x0) / cw, (r.y1 - r.y0) / ch
        scale = np.array([sx, sy], np.float32)
        offset = np.array([r.x0, r.y0], np.float32)
        out = []
        for f in self.detector.detect(small):
            box = np.concatenate([f.bbox[:2] * scale + offset, f.bbox[2:] * scale])
            out.append(Face(box.astype(np.float32), (f.landmarks * scale + offset), f.score))
        return out


def _distinct(faces: list[Face], max_iou: float = 0.5) -> list[Face]:
    """Largest first, a face found in two overlapping regions kept once (the higher score)."""
    out: list[Face] = []
    for f in sorted(faces, key=lambda f: f.score, reverse=True):
        if all(iou(f.bbox, g.bbox) < max_iou for g in out):
            out.append(f)
    out.sort(key=lambda f: f.area, reverse=True)
    return out
