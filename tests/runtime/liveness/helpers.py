"""Helpers the liveness tests share: the shared PAD model (skipped when absent), a generic
face's 68 points in 3D and their pinhole views, and the frames of a video file."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO


def shared_models_dir() -> Path:
    env = os.environ.get("FACEGATE_MODELS")
    return Path(env) if env else REPO.parent / "shared" / "models"


def require_pad_model() -> Path:
    path = shared_models_dir() / "minifasnet"
    if not path.is_dir():
        pytest.skip(f"PAD reference model {path} is absent (set FACEGATE_MODELS)")
    return path


def face_points_3d() -> np.ndarray:
    """68 points of a generic face, (x, y, depth) in inter-ocular units, depth towards the
    camera: jaw line far back, nose tip in front (the geometry, not a model of anyone)."""
    jaw = [
        (-2.0 * math.cos(a), 1.6 * math.sin(a) - 0.2, -1.2 * math.cos(a) ** 2)
        for a in np.linspace(0.15, math.pi - 0.15, 17)
    ]
    brows = [(x, -0.75, 0.15) for x in np.r_[np.linspace(-1.3, -0.3, 5), np.linspace(0.3, 1.3, 5)]]
    nose = [(0, y, z) for y, z in ((-0.5, 0.3), (-0.2, 0.5), (0.1, 0.7), (0.4, 0.9))]
    nostrils = [(x, 0.55, 0.5 - 0.3 * abs(x)) for x in np.linspace(-0.35, 0.35, 5)]
    eye = [(-1, 0), (-0.7, -0.12), (-0.3, -0.12), (0, 0), (-0.3, 0.1), (-0.7, 0.1)]
    eyes = [(x - 0.5 + 0.0, y, 0.1) for x, y in eye] + [(-x + 0.5, y, 0.1) for x, y in eye]
    eyes = [(x * 1.0, y, z) for x, y, z in eyes]
    mouth = [
        (0.8 * math.cos(a), 1.1 + 0.25 * math.sin(a), 0.35)
        for a in np.linspace(math.pi, 3 * math.pi, 20, endpoint=False)
    ]
    pts = np.array(jaw + brows + nose + nostrils + eyes + mouth, np.float64)
    assert pts.shape == (68, 3)
    return pts


def project(
    pts: np.ndarray, yaw: float, pitch: float, dist: float, f: float = 500.0, scale: float = 0.03
) -> np.ndarray:
    """Pinhole view of the points (inter-ocular distance = `scale` metres) at `dist` m."""
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    p = (pts * [1, 1, -1]) * scale @ (ry @ rx).T + [0, 0, dist]
    return f * p[:, :2] / p[:, 2:3] + [320, 240]


def video_frames(path: Path, max_fps: float = 15.0, limit: int = 400) -> list[np.ndarray]:
    """The first `limit` frames of a video file, thinned to at most `max_fps`."""
    from facegate.runtime.sources import open_source

    src = open_source(str(path), "fast")
    step = max(1, round(getattr(src, "fps", max_fps) / max_fps))
    frames: list[np.ndarray] = []
    try:
        k = 0
        while len(frames) < limit and (fr := src.read()) is not None:
            if k % step == 0:
                frames.append(fr.image)
            k += 1
    finally:
        src.close()
    return frames
