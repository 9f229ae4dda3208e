"""Shared by the model tests: a toy graph with every pattern the FP32 rewrites and the INT8
equalisation touch, and a way to run it."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def toy_model(rng: np.random.Generator) -> onnx.ModelProto:
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
    model = toy_model(rng)
    x = rng.normal(0, 1, (4, 3, 8, 8)).astype(np.float32)
    return model, x, run(model, x)


def copy_model(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    return m
