"""ArcFace-layout recognisers: the shipped SFace as OpenCV runs it, a user's own ONNX through
the config, a wrong layout refused."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from facegate.config import EngineConfig, RecognizerConfig
from facegate.engine import FaceEngine
from facegate.errors import ModelError
from facegate.models.align import align_arcface


def test_sface_graph_has_one_input_after_preparation(engine: FaceEngine) -> None:
    emb = engine.embedder("sface")
    sess = emb._session
    assert [i.name for i in sess.get_inputs()] == ["data"]


def test_sface_embedding_matches_opencv_recognizer(
    engine: FaceEngine, astronaut: np.ndarray, cache_dir: Path
) -> None:
    """Same weights, OpenCV's own alignment and pre-processing: same embedding."""
    face = engine.detect(astronaut)[0]
    ours = engine.embed(astronaut, face, model="sface")
    prepared = engine.embedder("sface").path  # not an INT8 file another test cached
    rec = cv2.FaceRecognizerSF.create(str(prepared), "")
    row = np.concatenate([face.bbox, face.landmarks.ravel(), [face.score]]).astype(np.float32)
    crop = rec.alignCrop(astronaut, row)
    np.testing.assert_allclose(crop.astype(int), align_arcface(astronaut, face.landmarks), atol=1)
    ref = rec.feature(crop).ravel()
    assert float(ours @ (ref / np.linalg.norm(ref))) > 0.999


def tiny_arcface(path: Path, with_normalisation: bool) -> Path:
    """A small ArcFace-layout model: [N,3,112,112] -> 16-d, fixed random weights."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(16, 3, 8, 8)).astype(np.float32)
    nodes, inits = [], [numpy_helper.from_array(w, "w")]
    x = "input.1"
    if with_normalisation:
        inits += [
            numpy_helper.from_array(np.array([127.5], np.float32), "m"),
            numpy_helper.from_array(np.array([1 / 128], np.float32), "s"),
        ]
        nodes += [
            helper.make_node("Sub", [x, "m"], ["c"]),
            helper.make_node("Mul", ["c", "s"], ["n"]),
        ]
        x = "n"
    nodes += [
        helper.make_node("Conv", [x, "w"], ["f"], strides=[8, 8]),
        helper.make_node("Relu", ["f"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["emb"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [None, 3, 112, 112])],
        [helper.make_tensor_value_info("emb", TensorProto.FLOAT, [None, 16])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("inside", [False, True])
def test_user_arcface_model_through_config(
    tmp_path: Path, astronaut: np.ndarray, inside: bool
) -> None:
    path = tiny_arcface(tmp_path / "mine.onnx", with_normalisation=inside)
    engine = FaceEngine.from_config(
        {
            "cache_dir": str(tmp_path / "cache"),
            "model": "mine",
            "recognizers": [
                {
                    "name": "mine",
                    "kind": "arcface_onnx",
                    "path": str(path),
                    "thresholds": {1e-3: 0.9, 1e-5: 0.95},
                }
            ],
        }
    )
    face = engine.detect(astronaut)[0]
    emb = engine.embed(astronaut, face)
    assert emb.shape == (16,) and abs(np.linalg.norm(emb) - 1) < 1e-5
    # what the user's model sees: the aligned crop, RGB, normalised outside unless inside
    crop = align_arcface(astronaut, face.landmarks)[..., ::-1].transpose(2, 0, 1)[None]
    x = crop.astype(np.float32) if inside else (crop.astype(np.float32) - 127.5) / 127.5
    raw = ort.InferenceSession(str(path)).run(None, {"input.1": x})[0][0]
    np.testing.assert_allclose(emb, raw / np.linalg.norm(raw), atol=1e-5)
    assert engine.threshold(fmr=1e-3) == 0.9
    assert 0.9 < engine.threshold(fmr=1e-4) < 0.95  # interpolated in log-FMR


def test_user_model_with_wrong_layout_is_refused(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["y"])],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12288])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "bad.onnx"))
    cfg = EngineConfig(
        cache_dir=tmp_path,
        model="bad",
        recognizers=[RecognizerConfig(name="bad", kind="arcface_onnx", path=tmp_path / "bad.onnx")],
    )
    with pytest.raises(ModelError, match=r"\[N,3,112,112\]"):
        FaceEngine(cfg).embedder()
