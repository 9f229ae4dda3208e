"""Landmark geometry: homography fits and residuals, and a plane's landmarks against a head's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facegate.runtime.liveness import fit_homography, homography_residuals, pair_evidence
from tests.runtime.liveness.helpers import face_points_3d, project


def test_homography_fit_and_residuals() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((68, 2)) * 100
    H = np.array([[1.1, 0.1, 5], [0.05, 0.9, 3], [1e-3, 2e-4, 1]])
    b = cv2.perspectiveTransform(a.reshape(-1, 1, 2), H).reshape(-1, 2)
    np.testing.assert_allclose(fit_homography(a, b), H, atol=1e-6)
    assert homography_residuals(a, b) < 1e-6
    noisy = b + rng.normal(0, 1, b.shape)
    H2, _ = cv2.findHomography(a, noisy, 0)
    ref = cv2.perspectiveTransform(a.reshape(-1, 1, 2), H2).reshape(-1, 2)
    assert homography_residuals(a, noisy) == pytest.approx(
        np.sqrt(((ref - noisy) ** 2).sum(1).mean()), rel=0.02
    )
    batch = homography_residuals(np.stack([a, a]), np.stack([b, noisy]))
    assert batch.shape == (2,) and batch[0] < 1e-6 < batch[1]


def test_plane_fits_one_homography_a_head_does_not() -> None:
    pts = face_points_3d()
    flat = pts * [1, 1, 0]
    # coming straight closer gives the least parallax (the nose grows against the jaw line)
    for yaw, pitch, dist, least in (
        (15, 0, 0.8, 0.02),
        (0, 12, 0.8, 0.02),
        (0, 0, 0.45, 0.005),
        (-10, 8, 0.6, 0.02),
    ):
        head_res, head_motion = pair_evidence(
            project(pts, 0, 0, 1.0)[None], project(pts, yaw, pitch, dist)
        )
        flat_res, flat_motion = pair_evidence(
            project(flat, 0, 0, 1.0)[None], project(flat, yaw, pitch, dist)
        )
        assert flat_res[0] < 1e-6, "a plane's landmarks fit one homography exactly"
        assert head_res[0] > least, f"parallax expected at yaw {yaw} pitch {pitch} d {dist}"
        assert head_motion[0] > 0.05 and flat_motion[0] > 0.05
    # no motion, nothing to tell: both fit
    still, motion = pair_evidence(project(pts, 0, 0, 1.0)[None], project(pts, 0, 0, 1.0))
    assert still[0] < 1e-9 and motion[0] < 1e-9
