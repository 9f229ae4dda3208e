"""The idle gate: an empty doorway should cost almost nothing.

An intercom watches an empty scene most of the day, and running the face detector on every
frame of it is most of the idle CPU (a 720p frame: ~1-2 ms to decode, ~10-30 ms to shrink and
detect). Before detection, each frame is shrunk to a small grey thumbnail and compared with a
background of the empty scene; detection runs only when

- a face is being tracked (a visit in progress is never gated), or
- the thumbnail changed: enough cells differ from the background by more than sensor noise
  and lighting drift allow (someone walking in), or
- the last detection is `full_every_s` old: a guaranteed full detection, so a person who
  walks in unseen by the gate (or stands still) is found within that time; after `quiet_s`
  with no face seen, the period grows to `full_every_idle_s`.

The background follows slow lighting drift (an exponential average, `drift`), and is reset to
the current view whenever a detection finds nobody: a light switched on costs a few
detections, not a minute of them. Cost of the gate itself: one `cv2.resize` of the frame to
the thumbnail (INTER_AREA averages 20x20-pixel blocks of a 1280-wide frame, which also averages
sensor noise away) and a subtraction of two tiny arrays: well under a millisecond.
Measured by `facegate bench idle` (docs/performance.md).
"""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from facegate.schema import StrictModel


class IdleConfig(StrictModel):
    enabled: bool = Field(True, description="skip detection on frames of an unchanged scene")
    thumb_width: int = Field(64, ge=16, le=320, description="width of the compared thumbnail")
    pixel_delta: float = Field(
        10.0, gt=0, description="grey levels a thumbnail cell must change by to count"
    )
    min_changed: float = Field(
        0.004, gt=0, lt=1, description="share of changed cells that wakes the detector"
    )
    drift: float = Field(0.05, gt=0, le=1, description="background update per gated frame")
    full_every_s: float = Field(1.0, gt=0, description="a full detection at least this often")
    quiet_s: float = Field(30.0, ge=0, description="no face for this long: the scene is quiet")
    full_every_idle_s: float = Field(
        2.0, gt=0, description="a full detection at least this often in a quiet scene"
    )


class IdleGate:
    """Says, per frame, whether the detector must run; see the module docstring."""

    def __init__(self, cfg: IdleConfig | None = None) -> None:
        self.cfg = cfg or IdleConfig()
        self._background: np.ndarray | None = None
        self._frame: np.ndarray | None = None  # this frame, shrunk only if the gate needs it
        self._thumb: np.ndarray | None = None
        self._last_detect_t = float("-inf")
        self._last_face_t: float | None = None  # or, before any face, the first frame's time

    def thumbnail(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        tw = min(self.cfg.thumb_width, w)
        th = max(1, round(h * tw / w))
        small = cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return small.astype(np.float32)

    def changed(self, thumb: np.ndarray) -> bool:
        """Whether the view differs from the empty scene beyond noise and drift."""
        bg = self._background
        if bg is None or bg.shape != thumb.shape:
            return True
        diff = np.abs(thumb - bg)
        return float((diff > self.cfg.pixel_delta).mean()) >= self.cfg.min_changed

    def _current_thumb(self) -> np.ndarray:
        if self._thumb is None:
            assert self._frame is not None
            self._thumb = self.thumbnail(self._frame)
        return self._thumb

    def should_detect(self, image: np.ndarray, t: float, tracking: bool) -> bool:
        """Call once per frame before detection; `tracking`: a face is being followed (then
        nothing is shrunk or compared: the visit's frames cost the gate nothing)."""
        if self._last_face_t is None:
            self._last_face_t = t  # a gate that just started has not seen a quiet scene yet
        self._frame, self._thumb = image, None
        if not self.cfg.enabled or tracking:
            return self._detecting(t)
        thumb = self._current_thumb()
        if self.changed(thumb):
            return self._detecting(t)
        quiet = t - self._last_face_t >= self.cfg.quiet_s
        period = self.cfg.full_every_idle_s if quiet else self.cfg.full_every_s
        if t - self._last_detect_t >= period:
            return self._detecting(t)
        # unchanged and gated: let the background follow slow drift
        assert self._background is not None  # changed() is True while there is none
        self._background += self.cfg.drift * (thumb - self._background)
        return False

    def _detecting(self, t: float) -> bool:
        self._last_detect_t = t
        return True

    def after_detection(self, t: float, found_faces: bool) -> None:
        """What the detector found on the frame it was run on."""
        if found_faces:
            self._last_face_t = t
        elif self.cfg.enabled and self._frame is not None:
            # nobody there: this is what empty looks like now
            self._background = self._current_thumb().copy()
