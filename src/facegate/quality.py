"""Face quality measures shared by enrolment and the live runtime's best-shot choice."""

from __future__ import annotations

import cv2
import numpy as np

from facegate.models.base import Face


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
