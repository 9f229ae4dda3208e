"""5-point similarity alignment onto the ArcFace 112x112 template (used by SFace / ArcFace)."""

from __future__ import annotations

import cv2
import numpy as np

#: InsightFace / OpenCV FaceRecognizerSF reference points for a 112x112 crop.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991) mapping src points onto dst; 2x3 matrix."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sv, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    var_s = (s**2).sum() / len(src)
    scale = (sv * np.diag(sign)).sum() / var_s
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def align_arcface(bgr: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """Warp the face to the canonical ArcFace crop (size 112, or a multiple of it)."""
    dst = ARCFACE_TEMPLATE * (size / 112.0)
    m = similarity_transform(landmarks, dst)
    return cv2.warpAffine(bgr, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
