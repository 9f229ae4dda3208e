"""Shared fixtures: real faces shipped by PyPI wheels, the shared evaluation data when present."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.config import EngineConfig
from facegate.demo import astronaut_bgr, grace_hopper_path
from facegate.engine import FaceEngine

REPO = Path(__file__).resolve().parents[1]

try:  # one rule for the data's place: $FACEGATE_DATA, else ../shared/data beside the checkout
    from facegate_bench.data import data_root as shared_data_dir
except ImportError:  # the product alone (`make test` installs both): no shared data

    def shared_data_dir() -> Path:
        pytest.skip("facegate-bench is not installed (pip install -e ./bench): no shared data")


def require_data(sub: str) -> Path:
    path = shared_data_dir() / sub
    if not path.exists():
        pytest.skip(f"evaluation data {path} is absent (set FACEGATE_DATA to ../shared/data)")
    return path


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def engine(cache_dir: Path) -> FaceEngine:
    return FaceEngine(EngineConfig(cache_dir=cache_dir))


@pytest.fixture(scope="session")
def hopper_path() -> Path:
    return grace_hopper_path()


@pytest.fixture(scope="session")
def hopper(hopper_path: Path) -> np.ndarray:
    return cv2.imread(str(hopper_path))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return astronaut_bgr()


@pytest.fixture(scope="session")
def hopper_reshot(hopper: np.ndarray) -> np.ndarray:
    """The same person in a different rendition: rotated, smaller, darker, JPEG-compressed."""
    h, w = hopper.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -10, 0.75)
    img = cv2.warpAffine(hopper, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    img = cv2.convertScaleAbs(img, alpha=0.7, beta=15)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


@pytest.fixture(scope="session")
def two_people(hopper: np.ndarray, astronaut: np.ndarray) -> np.ndarray:
    """Grace Hopper and Eileen Collins side by side, faces of similar size."""
    a = cv2.resize(astronaut, (hopper.shape[0], hopper.shape[0]))
    return np.ascontiguousarray(np.concatenate([hopper, a], axis=1))


def write_image(path: Path, image: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), image)
    return path


def approach(photo: np.ndarray, frames: int = 24, size=(640, 480)) -> list[np.ndarray]:
    """A person walking up: the photo grows from 35 % to 85 % of the frame height."""
    w, h = size
    out = []
    for k in range(frames):
        s = 0.35 + 0.5 * k / (frames - 1)
        ph = int(h * s)
        pw = int(photo.shape[1] * ph / photo.shape[0])
        img = cv2.resize(photo, (pw, ph), interpolation=cv2.INTER_AREA)
        canvas = np.full((h, w, 3), (70, 90, 110), np.uint8)
        x0 = int((w - pw) / 2 + 40 * np.sin(k / 5))
        x0, y0 = max(0, x0), h - ph
        canvas[y0 : y0 + ph, x0 : x0 + min(pw, w - x0)] = img[:, : min(pw, w - x0)]
        out.append(canvas)
    return out
