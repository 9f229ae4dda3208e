"""The FP32 graph rewrites are exact: on a toy graph with every pattern they touch, and on the
shipped SFace against its weights-folded-only graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from facegate.engine import FaceEngine
from facegate.models import onnx_prep, rewrite
from facegate.models.arcface import _dynamic_batch
from facegate.models.files import SFACE
from tests.models.conftest import copy_model, run


def test_fold_batchnorm_is_exact(toy) -> None:
    model, x, ref = toy
    m = copy_model(model)
    assert rewrite.fold_batchnorm(m) == 5  # 3 after Convs, 1 before and 1 after the Gemm
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    assert "BatchNormalization" not in ops and "Dropout" not in ops
    np.testing.assert_allclose(run(m, x), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("compact", [False, True])
def test_prelu_rewrite_is_exact(toy, compact: bool) -> None:
    model, x, ref = toy
    m = copy_model(model)
    assert rewrite.rewrite_prelu(m, compact=compact) == 2
    onnx.checker.check_model(m)
    assert "PRelu" not in [n.op_type for n in m.graph.node]
    np.testing.assert_allclose(run(m, x), ref, rtol=1e-4, atol=1e-4)


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
    assert rewrite.rewrite_prelu(m) == 0


# -- the shipped model -------------------------------------------------------------------------


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
    if onnx_prep.nchwc_available():
        assert "PRelu" not in ops
    crops = [engine.align(img, engine.detect(img)[0]) for img in (hopper, astronaut)]
    crops += [np.ascontiguousarray(c[:, ::-1]) for c in crops]
    plain = onnx_prep.session(_plain_sface(cache_dir), 1)
    x = np.stack(crops)[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)
    ref = plain.run(None, {"data": x})[0]
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    ours = emb.embed_crops(crops)
    assert np.einsum("ij,ij->i", ours, ref).min() > 0.9999
