"""Face quality: the measures enrolment and the runtime share, and the runtime's gate.

Which detections count as evidence: big enough, sharp, frontal, well exposed. A blurred,
turned or backlit face gives low, noisy scores; letting it vote only adds false rejects
(and, at scale, false accepts). Each track keeps its best shot by `score`. Enrolment uses
the same `sharpness` on the same aligned crop, so one threshold scale serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import Field

from facegate.models.base import Face
from facegate.schema import StrictModel


def sharpness(aligned_bgr: np.ndarray) -> float:
    """Variance of the Laplacian on the aligned face: resolution-independent because the
    crop is always the same size, so one threshold serves every camera."""
    gray = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def brightness(aligned_bgr: np.ndarray) -> float:
    """Mean grey level of the central face area (0-255)."""
    h, w = aligned_bgr.shape[:2]
    centre = aligned_bgr[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    return float(cv2.cvtColor(centre, cv2.COLOR_BGR2GRAY).mean())


def frontalness(face: Face) -> float:
    """1.0 for a frontal face, falling towards 0 as the head turns (yaw from the landmarks):
    the nose tip's offset from the eyes' midline relative to the eye distance."""
    le, re, nose = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    eye_dist = float(np.linalg.norm(re - le))
    if eye_dist < 1e-3:
        return 0.0
    mid = (le + re) / 2
    offset = abs(float(nose[0] - mid[0])) / eye_dist
    return float(max(0.0, 1.0 - 2.0 * offset))


class QualityConfig(StrictModel):
    min_face_px: float = Field(40.0, ge=0, description="shorter side of the face box")
    min_sharpness: float = Field(15.0, ge=0, description="Laplacian variance, aligned 112 crop")
    min_frontal: float = Field(0.35, ge=0, le=1, description="1 = frontal, 0 = profile")
    min_brightness: float = Field(35.0, ge=0, le=255)
    max_brightness: float = Field(225.0, ge=0, le=255)


@dataclass(frozen=True)
class ShotQuality:
    size: float
    sharpness: float
    frontal: float
    brightness: float
    ok: bool
    why_not: str = ""

    @property
    def score(self) -> float:
        """Ranks shots of one track: size and sharpness saturate, pose multiplies."""
        return (min(self.size, 160.0) / 160.0 + min(self.sharpness, 300.0) / 300.0) * (
            0.5 + 0.5 * self.frontal
        )

    def to_dict(self) -> dict:
        return {
            "size": round(self.size, 1),
            "sharpness": round(self.sharpness, 1),
            "frontal": round(self.frontal, 2),
            "brightness": round(self.brightness, 1),
        }


def assess(face: Face, aligned: np.ndarray, cfg: QualityConfig) -> ShotQuality:
    """Judge one detection on its aligned 112x112 crop (the crop the embedder will use)."""
    size, sharp = face.size, sharpness(aligned)
    frontal, light = frontalness(face), brightness(aligned)
    why = ""
    if size < cfg.min_face_px:
        why = f"face {size:.0f} px < {cfg.min_face_px:.0f}"
    elif sharp < cfg.min_sharpness:
        why = f"blurry ({sharp:.0f} < {cfg.min_sharpness:.0f})"
    elif frontal < cfg.min_frontal:
        why = f"turned away (frontal {frontal:.2f})"
    elif not cfg.min_brightness <= light <= cfg.max_brightness:
        why = f"exposure {light:.0f} outside {cfg.min_brightness:.0f}-{cfg.max_brightness:.0f}"
    return ShotQuality(size, sharp, frontal, light, not why, why)
