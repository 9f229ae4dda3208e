"""Accelerated model variants: the FP32 graph rewrites are exact, INT8 stays close to FP32.

Correctness only; speed is the business of `facegate bench models` / `bench stream`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from facegate.config import EngineConfig
from facegate.engine import FaceEngine
from facegate.errors import ConfigError
from facegate.models import onnx_prep, quantize
from facegate.models.arcface import _dynamic_batch
from facegate.models.files import SFACE


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def _toy(rng: np.random.Generator) -> onnx.ModelProto:
    """Conv-BN-PRelu -> depthwise Conv-BN-Relu -> Conv-BN-PRelu -> BN -> Dropout -> Flatten ->
    Gemm -> BN: every pattern the rewrites touch, slopes on both sides of 1."""
    c1, c2 = 8, 16

    def t(name, arr):
        return numpy_helper.from_array(np.asarray(arr, np.float32), name)

    def bn(name, c):
        return [
            t(f"{name}_g", rng.uniform(0.5, 2, c)),
            t(f"{name}_b", rng.normal(0, 1, c)),
            t(f"{name}_m", rng.normal(0, 1, c)),
            t(f"{name}_v", rng.uniform(0.2, 3, c)),
        ]

    inits = [
        t("w1", rng.normal(0, 0.5, (c1, 3, 3, 3))),
        *bn("bn1", c1),
        t("s1", np.linspace(-0.4, 1.3, c1).reshape(c1, 1, 1)),
        t("w2", rng.normal(0, 0.5, (c1, 1, 3, 3))),
        *bn("bn2", c1),
        t("w3", rng.normal(0, 0.5, (c2, c1, 1, 1))),
        *bn("bn3", c2),
        t("s3", rng.uniform(-0.3, 0.6, (c2, 1, 1))),
        *bn("bn4", c2),
        t("wf", rng.normal(0, 0.1, (10, c2 * 8 * 8))),
        t("bf", rng.normal(0, 1, 10)),
        *bn("bn5", 10),
        t("ratio", np.array(0.4)),
    ]

    def bnn(name, x, y):
        return helper.make_node(
            "BatchNormalization", [x, *(f"{name}_{k}" for k in "gbmv")], [y], epsilon=1e-3
        )

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        bnn("bn1", "c1", "b1"),
        helper.make_node("PRelu", ["b1", "s1"], ["p1"], name="prelu1"),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=c1, name="conv2"),
        bnn("bn2", "c2", "b2"),
        helper.make_node("Relu", ["b2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["c3"], name="conv3"),
        bnn("bn3", "c3", "b3"),
        helper.make_node("PRelu", ["b3", "s3"], ["p3"], name="prelu3"),
        bnn("bn4", "p3", "b4"),
        helper.make_node("Dropout", ["b4", "ratio"], ["d4"]),
        helper.make_node("Flatten", ["d4"], ["f4"]),
        helper.make_node("Gemm", ["f4", "wf", "bf"], ["g5"], transB=1),
        bnn("bn5", "g5", "y"),
    ]
    graph = helper.make_graph(
        nodes,
        "toy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


@pytest.fixture(scope="module")
def toy() -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    model = _toy(rng)
    x = rng.normal(0, 1, (4, 3, 8, 8)).astype(np.float32)
    return model, x, _run(model, x)


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    return m


def test_fold_batchnorm_is_exact(toy) -> None:
    model, x, ref = toy
    m = _copy(model)
    assert quantize.fold_batchnorm(m) == 5  # 3 after Convs, 1 before and 1 after the Gemm
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    assert "BatchNormalization" not in ops and "Dropout" not in ops
    np.testing.assert_allclose(_run(m, x), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("compact", [False, True])
def test_prelu_rewrite_is_exact(toy, compact: bool) -> None:
    model, x, ref = toy
    m = _copy(model)
    assert quantize.rewrite_prelu(m, compact=compact) == 2
    onnx.checker.check_model(m)
    assert "PRelu" not in [n.op_type for n in m.graph.node]
    np.testing.assert_allclose(_run(m, x), ref, rtol=1e-4, atol=1e-4)


def test_prelu_on_a_non_channel_slope_is_left_alone() -> None:
    s = numpy_helper.from_array(np.full(4, 0.25, np.float32), "s")  # [W]: not per channel
    graph = helper.make_graph(
        [helper.make_node("PRelu", ["x", "s"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 3, 4])],
        [s],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert quantize.rewrite_prelu(m) == 0


def test_equalisation_keeps_the_function(toy) -> None:
    model, x, ref = toy
    m = _copy(model)
    quantize.fold_batchnorm(m)
    before = [numpy_helper.to_array(t).copy() for t in m.graph.initializer]
    batches = [{"x": x[:2]}, {"x": x[2:]}]
    assert quantize.equalize(m, batches, threads=1) == 3  # conv1->conv2->conv3->gemm
    after = [numpy_helper.to_array(t) for t in m.graph.initializer]
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
    np.testing.assert_allclose(_run(m, x), ref, rtol=1e-3, atol=1e-3)


def test_equalisation_evens_out_channel_ranges(toy) -> None:
    model, x, _ = toy
    m = _copy(model)
    quantize.fold_batchnorm(m)
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
    out = _run(q, x)
    cos = np.sum(out * ref, 1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.98


# -- the shipped models ---------------------------------------------------------------------


def _plain_sface(cache_dir: Path) -> Path:
    def base(m: onnx.ModelProto) -> None:
        onnx_prep.fold_constant_weights(m)
        _dynamic_batch(m)

    return onnx_prep.prepared_path(SFACE.verified_path(), cache_dir, "plain-test", base)


def test_prepared_sface_matches_the_plain_graph(
    engine: FaceEngine, cache_dir: Path, hopper, astronaut
) -> None:
    """The FP32 rewrites must not move embeddings: calibration.json and galleries depend on
    them (cosine > 0.9999 against weights-folded-only SFace)."""
    emb = engine.embedder("sface")
    path = next(
        p
        for p in (cache_dir / "prepared").glob("face_recognition_sface*.onnx")
        if f"-v{onnx_prep.PREP_VERSION}" in p.name and "-b-int8-" not in p.name
    )
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert "BatchNormalization" not in ops
    if quantize.nchwc_available():
        assert "PRelu" not in ops
    crops = [engine.align(img, engine.detect(img)[0]) for img in (hopper, astronaut)]
    crops += [np.ascontiguousarray(c[:, ::-1]) for c in crops]
    plain = onnx_prep.session(_plain_sface(cache_dir), 1)
    x = np.stack(crops)[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)
    ref = plain.run(None, {"data": x})[0]
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    ours = emb.embed_crops(crops)
    assert np.einsum("ij,ij->i", ours, ref).min() > 0.9999


def test_calibration_crops_are_deterministic(cache_dir: Path) -> None:
    a = quantize.calibration_face_crops(cache_dir, total=8)
    b = quantize.calibration_face_crops(cache_dir, total=8)
    assert len(a) == 8 and all(c.shape == (112, 112, 3) for c in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_calibration_id_follows_the_folder(tmp_path: Path, hopper) -> None:
    import cv2

    assert quantize.calibration_id(None) == "demo"
    cv2.imwrite(str(tmp_path / "a.jpg"), hopper)
    first = quantize.calibration_id(tmp_path)
    cv2.imwrite(str(tmp_path / "b.png"), hopper)
    assert first.startswith("dir") and quantize.calibration_id(tmp_path) != first


def test_precision_is_validated() -> None:
    assert EngineConfig(precision="int8").precision == "int8"
    with pytest.raises(ValueError):
        EngineConfig(precision="int4")
    with pytest.raises(ConfigError):
        from facegate.config import load_config

        load_config({"engine": {"precision": "fp16"}})


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
