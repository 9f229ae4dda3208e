"""Real faces that ship in PyPI wheels, for the demo and for tests that must run anywhere."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facegate.errors import FaceGateError


def grace_hopper_path() -> Path:
    try:
        import matplotlib
    except ImportError:
        raise FaceGateError("the demo needs matplotlib: pip install 'facegate[demo]'") from None
    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def astronaut_bgr() -> np.ndarray:
    try:
        from skimage import data
    except ImportError:
        raise FaceGateError("the demo needs scikit-image: pip install 'facegate[demo]'") from None
    return np.ascontiguousarray(data.astronaut()[..., ::-1])


def demo_images() -> tuple[bytes, bytes, bytes]:
    """(Grace Hopper photo, the same photo re-shot: smaller, darker, rotated, JPEG again,
    a stranger) as encoded images, so the demo goes through the real decode path."""
    hopper_file = grace_hopper_path()
    hopper = hopper_file.read_bytes()
    img = cv2.imdecode(np.frombuffer(hopper, np.uint8), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 8, 0.8)
    again = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    again = cv2.convertScaleAbs(again, alpha=0.75, beta=10)
    ok1, again_jpg = cv2.imencode(".jpg", again, [cv2.IMWRITE_JPEG_QUALITY, 70])
    ok2, stranger = cv2.imencode(".png", astronaut_bgr())
    if not (ok1 and ok2):
        raise FaceGateError("could not encode the demo images")
    return hopper, again_jpg.tobytes(), stranger.tobytes()
