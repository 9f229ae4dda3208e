"""INT8 stays close to FP32: equalisation keeps the function and evens out channel ranges, the
quantised toy graph and the shipped SFace embed like FP32, calibration crops are deterministic.

Correctness only; speed is the business of `facegate bench models` / `bench stream`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from facegate.config import EngineConfig
from facegate.engine import FaceEngine
from facegate.errors import ConfigError
from facegate.models import quantize, rewrite
from tests.models.conftest import copy_model, run


def test_equalisation_keeps_the_function(toy) -> None:
    model, x, ref = toy
    m = copy_model(model)
    rewrite.fold_batchnorm(m)
    before = [numpy_helper.to_array(t).copy() for t in m.graph.initializer]
    batches = [{"x": x[:2]}, {"x": x[2:]}]
    assert quantize.equalize(m, batches, threads=1) == 3  # conv1->conv2->conv3->gemm
    after = [numpy_helper.to_array(t) for t in m.graph.initializer]
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
    np.testing.assert_allclose(run(m, x), ref, rtol=1e-3, atol=1e-3)


def test_equalisation_evens_out_channel_ranges(toy) -> None:
    model, x, _ = toy
    m = copy_model(model)
    rewrite.fold_batchnorm(m)
    batches = [{"x": x}]
    out = next(n.output[0] for n in m.graph.node if n.name == "conv1")  # feeds a depthwise
    before = quantize.channel_ranges(m, [out], batches, threads=1)[out]
    quantize.equalize(m, batches, threads=1)
    after = quantize.channel_ranges(m, [out], batches, threads=1)[out]
    assert after.max() / after.min() < 1.01 < before.max() / before.min()


def test_toy_int8_is_close_to_fp32(toy) -> None:
    model, x, ref = toy
    rng = np.random.default_rng(1)
    calib = [{"x": rng.normal(0, 1, (8, 3, 8, 8)).astype(np.float32)} for _ in range(4)]
    q = quantize.quantize_int8(model, calib, threads=1)
    ops = {n.op_type for n in q.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and "PRelu" not in ops
    out = run(q, x)
    cos = np.sum(out * ref, 1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.98


def test_precision_is_validated() -> None:
    assert EngineConfig(precision="int8").precision == "int8"
    with pytest.raises(ValueError):
        EngineConfig(precision="int4")
    with pytest.raises(ConfigError):
        from facegate.config import load_config

        load_config({"engine": {"precision": "fp16"}})


# -- the shipped models ------------------------------------------------------------------------


def test_calibration_crops_are_deterministic(cache_dir: Path) -> None:
    a = quantize.calibration_face_crops(cache_dir, total=8)
    b = quantize.calibration_face_crops(cache_dir, total=8)
    assert len(a) == 8 and all(c.shape == (112, 112, 3) for c in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="session")
def int8_engine(cache_dir: Path) -> FaceEngine:
    return FaceEngine(EngineConfig(cache_dir=cache_dir, precision="int8"))


@pytest.mark.slow
def test_int8_sface_is_cached_and_close_to_fp32(
    int8_engine: FaceEngine, engine: FaceEngine, cache_dir: Path, hopper, hopper_reshot, astronaut
) -> None:
    emb8 = int8_engine.embedder("sface")
    assert emb8.variant == "int8" and emb8.version == engine.version("sface")
    built = sorted((cache_dir / "prepared").glob("face_recognition_sface*-b-int8-*.onnx"))
    assert len(built) == 1
    ops = {n.op_type for n in onnx.load(str(built[0])).graph.node}
    assert "QuantizeLinear" in ops and "PRelu" not in ops
    mtime = built[0].stat().st_mtime_ns
    FaceEngine(EngineConfig(cache_dir=cache_dir, precision="int8")).embedder("sface")
    assert built[0].stat().st_mtime_ns == mtime  # a second start builds nothing

    imgs = (hopper, hopper_reshot, astronaut)
    crops = [engine.align(img, engine.detect(img)[0]) for img in imgs]
    e32 = engine.embedder("sface").embed_crops(crops)
    e8 = emb8.embed_crops(crops)
    assert np.einsum("ij,ij->i", e8, e32).min() > 0.98
    t = engine.threshold("sface", 1e-4)
    assert float(e8[0] @ e8[1]) > t > float(e8[0] @ e8[2])  # same person / a stranger
