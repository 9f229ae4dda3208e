"""Image pieces shared by the rendered door visits (`facegate_bench.clips`) and the rendered
presentation attacks (`facegate_bench.attacks`): input photos and backgrounds brought to BGR, smooth
random signals, pre-filtered sprite pyramids, the part of the frame a warped sprite covers,
and the ground-truth face box clipped to the frame.

Both renderers draw everything from the caller's `rng` in a fixed order: these helpers draw
exactly what the code they replaced drew, so a seed still reproduces the same clip.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Box = tuple[float, float, float, float]


def as_bgr(image: np.ndarray, what: str = "image", *, min_side: int = 0) -> np.ndarray:
    """Gray, gray (h, w, 1), BGR or BGRA uint8 as contiguous BGR uint8; ValueError naming
    `what` otherwise (wrong dtype, shape, or a side shorter than `min_side`)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"{what} must be uint8, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif not (img.ndim == 3 and img.shape[2] == 3):
        raise ValueError(f"{what} must be gray or BGR, got shape {img.shape}")
    if min(img.shape[:2]) < min_side:
        raise ValueError(f"{what} {img.shape[1]}x{img.shape[0]} is too small")
    return np.ascontiguousarray(img)


def fit_background(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop a caller's background (gray or BGR, any size) to cover the
    frame."""
    img = as_bgr(image, "background")
    h, w = img.shape[:2]
    s = max(width / w, height / h)
    nw, nh = max(width, round(w * s)), max(height, round(h * s))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(img[y0 : y0 + height, x0 : x0 + width])


def wave(rng: np.random.Generator, t: np.ndarray, freq: tuple[float, float]) -> np.ndarray:
    """A smooth random signal within [-1, 1]: two sinusoids of random frequency and phase."""
    f = rng.uniform(*freq, 2)
    ph = rng.uniform(0, 2 * math.pi, 2)
    return (
        np.sin(2 * math.pi * f[0] * t + ph[0]) + 0.5 * np.sin(2 * math.pi * f[1] * t + ph[1])
    ) / 1.5


def pyramid(sprite: np.ndarray, max_levels: int) -> list[np.ndarray]:
    """The sprite and up to `max_levels - 1` half-size copies (pre-filtered, so a distant
    face is sampled from a smaller copy instead of aliasing)."""
    levels = [sprite]
    while min(levels[-1].shape[:2]) > 48 and len(levels) < max_levels:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def pyramid_level(scale: float, levels: int, max_shrink: float = 1.0) -> int:
    """The pyramid level to warp from when the warp scales level 0 by `scale`: the smallest
    copy the warp still shrinks by at most `max_shrink` (level 0 when enlarging)."""
    level = 0
    while level + 1 < levels and scale * 2 ** (level + 1) <= max_shrink:
        level += 1
    return level


def warp_bounds(
    corners: np.ndarray, frame_shape: tuple[int, ...], pad: int = 0
) -> tuple[int, int, int, int] | None:
    """The frame region (x0, y0, x1, y1) covered by a warped sprite whose corners land at
    `corners` ((k, 2) frame coordinates), grown by `pad` and clipped to the frame; None when
    it misses the frame."""
    h, w = frame_shape[:2]
    x0 = max(0, math.floor(corners[:, 0].min()) - pad)
    y0 = max(0, math.floor(corners[:, 1].min()) - pad)
    x1 = min(w, math.ceil(corners[:, 0].max()) + pad)
    y1 = min(h, math.ceil(corners[:, 1].max()) + pad)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def visible_box(box: Box, width: int, height: int) -> Box | None:
    """The box clipped to the frame, or None when less than half of the face is in view (no
    detector can be expected to find it then)."""
    x, y, w, h = box
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(width), x + w), min(float(height), y + h)
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) < 0.5 * w * h:
        return None
    return (x0, y0, x1 - x0, y1 - y0)
