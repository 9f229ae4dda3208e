"""A month-long entrance process stays small: shots keep a crop not the frame, the warm path
needs no graph-editing toolchain, glibc hands frames back."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from facegate.engine import FaceEngine
from facegate.runtime.decision import Shot
from facegate.runtime.memory import pin_mmap_threshold, release_free_memory
from facegate.runtime.quality import QualityConfig, assess


def _big_frame(face_img: np.ndarray) -> np.ndarray:
    frame = np.full((1080, 1920, 3), 90, np.uint8)
    h, w = face_img.shape[:2]
    frame[300 : 300 + h, 700 : 700 + w] = face_img
    return frame


def test_a_shot_keeps_a_small_copy_that_embeds_like_the_frame(engine: FaceEngine, hopper) -> None:
    frame = _big_frame(hopper)
    face = engine.detect(frame)[0]
    q = assess(face, engine.align(frame, face), QualityConfig())
    shot = Shot.cut(frame, face, q)
    assert not np.shares_memory(shot.image, frame)
    assert shot.image.nbytes < frame.nbytes / 4
    for model in engine.model_names:  # the fast model and the confirming one
        a = engine.embed(frame, face, model)
        b = engine.embed(shot.image, shot.face, model)
        assert float(a @ b) > 0.999, model


def test_a_shot_at_the_frame_edge_is_clipped_not_padded(engine: FaceEngine, hopper) -> None:
    frame = _big_frame(hopper)
    face = engine.detect(frame)[0]
    q = assess(face, engine.align(frame, face), QualityConfig())
    shot = Shot.cut(frame, face, q, margin=10.0)  # more context than the frame has
    assert shot.image.shape == frame.shape
    np.testing.assert_allclose(shot.face.bbox, face.bbox)


def test_cached_models_load_without_onnx(engine: FaceEngine) -> None:
    """The `onnx` package (15 MB resident, ~60 ms to import) is for building preparations;
    an entrance starting on a warm cache must not import it."""
    engine.embedder()  # make sure this cache is warm
    engine.detector.prepare()
    code = (
        "import sys\n"
        "from facegate.config import EngineConfig\n"
        "from facegate.engine import FaceEngine\n"
        f"e = FaceEngine(EngineConfig(cache_dir={str(engine.cache_dir)!r}))\n"
        "e.detector.prepare(); e.embedder()\n"
        "print('onnx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_glibc_takes_the_malloc_settings() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc malloc settings are Linux-only")
    assert pin_mmap_threshold() is True
    release_free_memory()  # must not raise
