"""The 68-point landmark model without dlib's runtime: same trees, same answers within dlib's
own sensitivity, one parse cached, bad files named."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.errors import ModelError
from facegate.models.files import DLIB_SHAPE68, PackagedFile
from facegate.models.shape68 import Shape68, parse_dlib_shape_predictor


@pytest.fixture(scope="module")
def shape68(cache_dir: Path) -> Shape68:
    return Shape68(cache_dir=cache_dir).prepare()


def _faces(engine, images):
    """(gray image, dlib-style square box) for the largest YuNet face of each image."""
    out = []
    for img in images:
        x, y, w, h = (float(v) for v in engine.detect(img)[0].bbox)
        s = 1.09 * w
        x0, y0 = x + w / 2 - 0.03 * w - s / 2, y + h / 2 + 0.043 * h - s / 2
        out.append(
            (
                cv2.cvtColor(img, cv2.COLOR_BGR2GRAY),
                (round(x0), round(y0), round(x0 + s), round(y0 + s)),
            )
        )
    return out


def test_landmarks_agree_with_dlib_closer_than_dlib_with_itself(
    shape68: Shape68, engine, hopper, hopper_reshot, astronaut
) -> None:
    """Not bit-identical (a tree comparing two nearly equal pixels may go either way on the
    last bit of the shape), but closer to dlib than dlib is to itself when the face box moves
    by one pixel - the jitter a detector's box has from frame to frame anyway."""
    import dlib

    def theirs(gray, box):
        return np.array(
            [(p.x, p.y) for p in reference(gray, dlib.rectangle(*box)).parts()], np.float32
        )

    reference = dlib.shape_predictor(str(DLIB_SHAPE68.verified_path()))
    ours_vs_dlib, dlib_vs_dlib = [], []
    for gray, box in _faces(engine, (hopper, hopper_reshot, astronaut)):
        ours, ref = shape68(gray, box), theirs(gray, box)
        assert ours.shape == (68, 2) and ours.dtype == np.float32
        assert np.linalg.norm(ref[36:42].mean(0) - ref[42:48].mean(0)) > 20  # a real face
        moved = theirs(gray, tuple(v + 1 for v in box))
        ours_vs_dlib.append(np.abs(ours - ref).mean())
        dlib_vs_dlib.append(np.abs(moved - ref).mean())
        assert np.abs(ours - ref).max() <= 4
    assert np.mean(ours_vs_dlib) <= np.mean(dlib_vs_dlib), (ours_vs_dlib, dlib_vs_dlib)


def test_off_image_boxes_and_tiny_images_still_answer(shape68: Shape68) -> None:
    gray = np.full((40, 50), 128, np.uint8)
    pts = shape68(gray, (-30, -30, 60, 60))  # pixels outside the image read as 0, as dlib
    assert np.isfinite(pts).all() and pts.shape == (68, 2)
    with pytest.raises(ValueError, match="grayscale"):
        shape68(np.zeros((10, 10, 3), np.uint8), (0, 0, 9, 9))


def test_prepared_once_and_reused(shape68: Shape68, cache_dir: Path) -> None:
    built = sorted((cache_dir / "prepared").glob("shape_predictor_68*-ert-*.npz"))
    assert len(built) == 1
    mtime = built[0].stat().st_mtime_ns
    again = Shape68(cache_dir=cache_dir).prepare()
    assert built[0].stat().st_mtime_ns == mtime
    gray = np.random.default_rng(0).integers(0, 255, (120, 120), dtype=np.uint8)
    np.testing.assert_array_equal(
        again(gray, (10, 10, 100, 100)), shape68(gray, (10, 10, 100, 100))
    )


class _LocalFile(PackagedFile):
    """A packaged model file that resolves to a path of the test's (the real ones resolve
    inside their wheel)."""

    def locate(self) -> Path:
        return Path(self.relpath)


def test_a_damaged_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="truncated"):
        parse_dlib_shape_predictor(DLIB_SHAPE68.verified_path().read_bytes()[:5000])
    bad = tmp_path / "shape_predictor_68_face_landmarks.dat"
    bad.write_bytes(b"\x01\x02" + bytes(100))  # version 2: not a model this code knows
    damaged = _LocalFile(
        "face_recognition_models",
        str(bad),
        hashlib.sha256(bad.read_bytes()).hexdigest(),
        "face_recognition_models",
    )
    with pytest.raises(ModelError, match="cannot parse dlib shape predictor"):
        Shape68(damaged, cache_dir=tmp_path / "cache").prepare()


def test_a_damaged_prepared_file_or_an_unwritable_cache_is_a_clear_error(
    shape68: Shape68, cache_dir: Path, tmp_path: Path
) -> None:
    built = next((cache_dir / "prepared").glob("shape_predictor_68*-ert-*.npz"))
    broken = tmp_path / "broken"
    (broken / "prepared").mkdir(parents=True)
    (broken / "prepared" / built.name).write_bytes(built.read_bytes()[:1000])  # cut short
    with pytest.raises(ModelError, match="delete it to rebuild"):
        Shape68(cache_dir=broken).prepare()

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    with pytest.raises(ModelError, match="cannot write prepared model"):
        Shape68(cache_dir=blocked).prepare()
    assert not list(tmp_path.rglob("*.tmp.npz"))  # nothing half-written left behind
