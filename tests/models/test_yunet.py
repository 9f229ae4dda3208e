"""The YuNet detector: our decoding of its raw outputs matches OpenCV's."""

from __future__ import annotations

import cv2
import numpy as np

from facegate.engine import FaceEngine
from facegate.models.files import YUNET


def test_yunet_decoding_matches_opencv(engine: FaceEngine, astronaut: np.ndarray) -> None:
    """Our decoding of the raw outputs against OpenCV's own FaceDetectorYN on the same file."""
    h, w = astronaut.shape[:2]
    ref = cv2.FaceDetectorYN.create(str(YUNET.verified_path()), "", (w, h), 0.6, 0.3)
    _, rows = ref.detect(astronaut)
    ours = engine.detect(astronaut)
    assert rows is not None and len(ours) == len(rows) == 1
    np.testing.assert_allclose(ours[0].bbox, rows[0, :4], atol=0.5)
    np.testing.assert_allclose(ours[0].landmarks.ravel(), rows[0, 4:14], atol=0.5)
