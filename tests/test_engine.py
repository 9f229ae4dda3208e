"""The engine on real faces: detection, alignment, embeddings, calibrated comparison."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facegate import FaceEngine
from facegate.config import EngineConfig


@pytest.fixture(scope="module")
def engine(cache_dir) -> FaceEngine:
    """Every shipped recogniser (the default config lists SFace and reid; dlib is added)."""
    return FaceEngine(EngineConfig(cache_dir=cache_dir).with_model("dlib").with_model("sface"))


def test_detects_the_astronaut(engine: FaceEngine, astronaut: np.ndarray) -> None:
    faces = engine.detect(astronaut)
    assert len(faces) == 1
    f = faces[0]
    x, y, w, h = f.bbox
    assert 150 < x < 210 and 40 < y < 100 and 70 < w < 120 and 90 < h < 140
    assert f.score > 0.8 and f.landmarks.shape == (5, 2)
    inside = (f.landmarks >= [x, y]) & (f.landmarks <= [x + w, y + h])
    assert inside.all()
    le, re, nose = f.landmarks[:3]
    assert le[0] < nose[0] < re[0], "landmark order: image-left eye, image-right eye, nose"


def test_two_faces_sorted_by_size(engine: FaceEngine, two_people: np.ndarray) -> None:
    small = cv2.resize(two_people[:, two_people.shape[1] // 2 :], None, fx=0.5, fy=0.5)
    canvas = two_people.copy()
    canvas[: small.shape[0], : small.shape[1]] = small  # a third, smaller face
    faces = engine.detect(canvas)
    assert len(faces) >= 3
    assert [f.area for f in faces] == sorted((f.area for f in faces), reverse=True)


@pytest.mark.parametrize("size", [(250, 250), (480, 640), (720, 1280), (1080, 1920)])
def test_any_input_size(engine: FaceEngine, astronaut: np.ndarray, size: tuple) -> None:
    h, w = size
    canvas = np.full((h, w, 3), 90, np.uint8)
    face = cv2.resize(astronaut, (min(h, w), min(h, w)))
    canvas[: face.shape[0], : face.shape[1]] = face
    faces = engine.detect(canvas)
    assert len(faces) == 1
    expected = engine.detect(face)[0].bbox
    np.testing.assert_allclose(faces[0].bbox, expected, atol=0.08 * min(h, w))


def test_gray_and_bgra_inputs(engine: FaceEngine, hopper: np.ndarray) -> None:
    gray = cv2.cvtColor(hopper, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(hopper, cv2.COLOR_BGR2BGRA)
    f_bgr, f_gray, f_bgra = (engine.detect(x)[0] for x in (hopper, gray, bgra))
    np.testing.assert_allclose(f_bgra.bbox, f_bgr.bbox, atol=1e-3)
    np.testing.assert_allclose(f_gray.bbox, f_bgr.bbox, atol=6)
    e_bgr = engine.embed(hopper, f_bgr)
    assert engine.compare(e_bgr, engine.embed(gray, f_gray)) > 0.8


def test_no_face_in_a_blank_image(engine: FaceEngine) -> None:
    assert engine.detect(np.full((480, 640, 3), 128, np.uint8)) == []


@pytest.mark.parametrize("model", ["sface", "reid", "dlib"])
def test_same_person_matches_and_stranger_does_not(
    engine: FaceEngine,
    hopper: np.ndarray,
    hopper_reshot: np.ndarray,
    astronaut: np.ndarray,
    model: str,
) -> None:
    def emb(img: np.ndarray) -> np.ndarray:
        return engine.embed(img, engine.detect(img)[0], model=model)

    a, b, c = emb(hopper), emb(hopper_reshot), emb(astronaut)
    for v in (a, b, c):
        assert v.shape == ((256,) if model == "reid" else (128,))
        assert abs(float(np.linalg.norm(v)) - 1) < 1e-4
    t = engine.threshold(model, 1e-4)
    assert engine.compare(a, b) > t
    assert engine.compare(a, c) < engine.threshold(model, 1e-3)
    assert engine.compare(a, b) == pytest.approx(engine.compare(b, a))


def test_flip_averaging_changes_little(engine: FaceEngine, hopper: np.ndarray) -> None:
    face = engine.detect(hopper)[0]
    plain = engine.embed(hopper, face, flip=False)
    flipped = engine.embed(hopper, face, flip=True)
    assert 0.85 < engine.compare(plain, flipped) < 0.99999


def test_embed_faces_batches_every_face(engine: FaceEngine, two_people: np.ndarray) -> None:
    faces = engine.detect(two_people)
    batch = engine.embed_faces(two_people, faces)
    single = np.stack([engine.embed(two_people, f) for f in faces])
    np.testing.assert_allclose(batch, single, atol=1e-4)


def test_compare_refuses_embeddings_of_different_size(engine: FaceEngine) -> None:
    with pytest.raises(ValueError, match="differ in size"):
        engine.compare(np.ones(128), np.ones(512))


def test_thresholds_are_calibrated_and_ordered(engine: FaceEngine) -> None:
    for model in ("sface", "reid", "dlib"):
        t3, t4, t5 = (engine.threshold(model, f) for f in (1e-3, 1e-4, 1e-5))
        assert t3 < t4 < t5 < 1.0
        assert "LFW" in engine.calibration(model).source


def test_fusion_puts_models_on_one_scale(
    cache_dir, hopper: np.ndarray, hopper_reshot: np.ndarray, astronaut: np.ndarray
) -> None:
    engine = FaceEngine(EngineConfig(cache_dir=cache_dir, fusion=True))

    def scores(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        fx, fy = engine.detect(x)[0], engine.detect(y)[0]
        return {
            m: engine.compare(engine.embed(x, fx, m), engine.embed(y, fy, m))
            for m in engine.model_names
        }

    t = engine.fusion_calibration().threshold(1e-4)
    assert engine.fuse(scores(hopper, hopper_reshot)) > t
    assert engine.fuse(scores(hopper, astronaut)) < t
    with pytest.raises(ValueError, match="missing"):
        engine.fuse({"sface": 0.5})


def test_dlib_chip_is_its_own_alignment(engine: FaceEngine, hopper: np.ndarray) -> None:
    face = engine.detect(hopper)[0]
    assert engine.align(hopper, face, model="dlib").shape == (150, 150, 3)
    assert engine.align(hopper, face, model="sface").shape == (112, 112, 3)
