"""FP32 graph rewrites that suit ONNX Runtime's CPU kernels, and the graph helpers INT8 shares.

Exact up to float rounding and part of the normal FP32 preparation (`optimize_fp32`, applied by
`ArcFaceONNX` at every precision; `PREP_VERSION` 2 introduced them). INT8 (`quantize.py`) starts
from the same folding and rewrites.

- `fold_batchnorm`: Conv -> BatchNormalization into the Conv; BatchNormalization -> (Dropout) ->
  Flatten -> Gemm and Gemm -> BatchNormalization into the Gemm (ORT folds neither Gemm case).
- `rewrite_prelu`: ORT runs a per-channel PRelu as a slow broadcast kernel in NCHW, and the NCHWc
  layout that makes its convolutions fast is converted back and forth around every PRelu (SFace:
  27 times; an ORT profile showed those PRelus as expensive as all 27 convolutions together).
  PRelu(x) = x + (1 - s) * Relu(-x) is written as two 1x1 depthwise Convs (weight -1, then the
  per-channel 1 - s) and an Add: ORT fuses the Relu and the Add into those Convs and the whole
  network stays in NCHWc. `Relu(x) + s * Min(x, 0)` (the first try) kept the reorders. Applied
  on x86 only, where ORT has NCHWc kernels.

Measured (docs/performance.md): SFace embeddings unchanged, cosine > 0.9999 against the graph
with only its weights folded (tested, so thresholds and galleries stay valid); with the weight
folding of `onnx_prep`, FaceGate FP32 embeds a face in 14.09 ms against 28.25 ms for the shipped
file as a user runs it in ORT (one thread), and in 24.3 ms against 42.1 ms on an AVX2-only CPU.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from facegate.models.onnx_prep import nchwc_available

# -- small graph helpers -------------------------------------------------------------------


class Graph:
    """Initializer values, producers and consumers of a graph, kept in step with edits."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.g = model.graph
        self.inits = {t.name: t for t in self.g.initializer}
        self.refresh()

    def refresh(self) -> None:
        self.producer = {o: n for n in self.g.node for o in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in self.g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.outputs = {o.name for o in self.g.output}

    def const(self, name: str) -> np.ndarray | None:
        t = self.inits.get(name)
        return None if t is None else numpy_helper.to_array(t)

    def set_const(self, name: str, value: np.ndarray) -> None:
        t = numpy_helper.from_array(np.ascontiguousarray(value.astype(np.float32)), name)
        if name in self.inits:
            self.inits[name].CopyFrom(t)
        else:
            self.g.initializer.append(t)
            self.inits[name] = self.g.initializer[-1]

    def only_consumer(self, name: str) -> onnx.NodeProto | None:
        """The single node reading `name`, if it is not also a graph output."""
        cons = self.consumers.get(name, [])
        return cons[0] if len(cons) == 1 and name not in self.outputs else None

    def unique(self, base: str) -> str:
        name, k = base, 0
        taken = self.inits.keys() | self.producer.keys()
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        return name


def attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    g = model.graph
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


def _bn_affine(gr: Graph, bn: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray] | None:
    """(a, b) with BN(x) = a * x + b per channel, or None if its parameters are not constant."""
    vals = [gr.const(i) for i in bn.input[1:5]]
    if any(v is None for v in vals):
        return None
    gamma, beta, mean, var = (v.astype(np.float64) for v in vals)
    a = gamma / np.sqrt(var + float(attr(bn, "epsilon", 1e-5)))
    return a, beta - mean * a


# -- FP32 rewrites ---------------------------------------------------------------------------


def fold_batchnorm(model: onnx.ModelProto) -> int:
    """Fold inference BatchNormalization into the neighbouring Conv / Gemm; returns the count."""
    gr = Graph(model)
    folded = 0
    for n in [n for n in gr.g.node if n.op_type == "Dropout" and len(n.output) == 1]:
        for c in gr.consumers.get(n.output[0], []):  # inference Dropout is the identity
            c.input[:] = [n.input[0] if i == n.output[0] else i for i in c.input]
        if n.output[0] not in gr.outputs:
            gr.g.node.remove(n)
        gr.refresh()
    for n in [n for n in gr.g.node if n.op_type == "Constant"]:  # e.g. a Dropout's ratio
        if not any(gr.consumers.get(o) or o in gr.outputs for o in n.output):
            gr.g.node.remove(n)
    gr.refresh()
    for bn in [n for n in gr.g.node if n.op_type == "BatchNormalization"]:
        ab = _bn_affine(gr, bn)
        if ab is None:
            continue
        a, b = ab
        src = gr.producer.get(bn.input[0])
        if (
            src is not None
            and src.op_type in ("Conv", "Gemm")
            and gr.only_consumer(bn.input[0]) is bn
            and _fold_after(gr, src, a, b)
        ):
            src.output[0] = bn.output[0]
        elif not _fold_into_following_gemm(gr, bn, a, b):
            continue
        gr.g.node.remove(bn)
        gr.refresh()
        folded += 1
    _drop_unused_initializers(model)
    return folded


def _fold_after(gr: Graph, node: onnx.NodeProto, a: np.ndarray, b: np.ndarray) -> bool:
    """y = a * (W x + c) + b for a Conv (channel axis 0 of W) or a Gemm with transB=1."""
    w = gr.const(node.input[1])
    if w is None or (
        node.op_type == "Gemm" and (not attr(node, "transB", 0) or attr(node, "transA", 0))
    ):
        return False
    if w.shape[0] != a.size:
        return False
    bias_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
    c = gr.const(bias_name) if bias_name else np.zeros(a.size, np.float32)
    if c is None or c.size != a.size:
        return False
    if node.op_type == "Gemm":
        beta, alpha = float(attr(node, "beta", 1.0)), float(attr(node, "alpha", 1.0))
        c, w = c * beta, w * alpha
        for at in list(node.attribute):
            if at.name in ("alpha", "beta"):
                node.attribute.remove(at)
    shape = (-1,) + (1,) * (w.ndim - 1)
    w_name = gr.unique(node.input[1] + "_bnfold")
    b_name = gr.unique((bias_name or node.name or node.output[0]) + "_bnfold_bias")
    gr.set_const(w_name, w.astype(np.float64) * a.reshape(shape))
    gr.set_const(b_name, c.astype(np.float64).reshape(-1) * a + b)
    node.input[1] = w_name
    if len(node.input) > 2:
        node.input[2] = b_name
    else:
        node.input.append(b_name)
    return True


def _fold_into_following_gemm(gr: Graph, bn: onnx.NodeProto, a: np.ndarray, b: np.ndarray) -> bool:
    """BN -> Flatten -> Gemm(transB=1): scale the Gemm's columns, shift its bias."""
    flat = gr.only_consumer(bn.output[0])
    if flat is None or flat.op_type != "Flatten" or int(attr(flat, "axis", 1)) != 1:
        return False
    gemm = gr.only_consumer(flat.output[0])
    if (
        gemm is None
        or gemm.op_type != "Gemm"
        or not attr(gemm, "transB", 0)
        or attr(gemm, "transA", 0)
        or gemm.input[0] != flat.output[0]
    ):
        return False
    w = gr.const(gemm.input[1])
    if w is None or w.shape[1] % a.size:
        return False
    bias_name = gemm.input[2] if len(gemm.input) > 2 and gemm.input[2] else None
    c = gr.const(bias_name) if bias_name else np.zeros(w.shape[0], np.float32)
    if c is None:
        return False
    beta = float(attr(gemm, "beta", 1.0))
    hw = w.shape[1] // a.size
    wa = w.astype(np.float64)
    new_c = c.astype(np.float64).reshape(-1) * beta + float(attr(gemm, "alpha", 1.0)) * (
        wa @ np.repeat(b, hw)
    )
    w_name = gr.unique(gemm.input[1] + "_bnfold")
    b_name = gr.unique((bias_name or gemm.output[0]) + "_bnfold_bias")
    gr.set_const(w_name, wa * np.repeat(a, hw)[None, :])
    gr.set_const(b_name, new_c)
    for at in list(gemm.attribute):
        if at.name == "beta":
            gemm.attribute.remove(at)
    gemm.input[1] = w_name
    if len(gemm.input) > 2:
        gemm.input[2] = b_name
    else:
        gemm.input.append(b_name)
    flat.input[0] = bn.input[0]
    return True


def channel_slope(gr: Graph, node: onnx.NodeProto) -> np.ndarray | None:
    """Per-channel slope of a PRelu on an NCHW tensor (shape [C,1,1] or [1,C,1,1])."""
    s = gr.const(node.input[1])
    if s is None or s.ndim not in (3, 4) or any(d != 1 for d in s.shape[-2:]):
        return None
    if s.ndim == 4 and s.shape[0] != 1:
        return None
    src = gr.producer.get(node.input[0])  # rank 4 is certain after a Conv / BN
    if src is None or src.op_type not in ("Conv", "BatchNormalization"):
        return None
    return s.reshape(-1).astype(np.float32)


def rewrite_prelu(model: onnx.ModelProto, compact: bool = False) -> int:
    """PRelu(x) -> x + Conv1x1dw(Relu(Conv1x1dw(x, -1)), 1 - s); returns how many.

    `compact` (for INT8, one quantised tensor fewer): x + Relu(Conv1x1dw(x, s - 1)) where
    every slope is below 1 (then (1 - s) * Relu(-x) = Relu((s - 1) * x)).
    """
    gr = Graph(model)
    count = 0
    for node in [n for n in gr.g.node if n.op_type == "PRelu"]:
        s = channel_slope(gr, node)
        if s is None:
            continue
        c = s.size
        base = gr.unique((node.name or node.output[0]) + "_pr")
        w_neg, w_scale = base + "_wneg", base + "_wscale"
        x, y = node.input[0], node.output[0]
        if compact and (s < 1).all():
            gr.set_const(w_scale, (s - 1.0).reshape(c, 1, 1, 1))
            new = [
                helper.make_node(
                    "Conv",
                    [x, w_scale],
                    [base + "_neg"],
                    name=base + "_neg",
                    group=c,
                    kernel_shape=[1, 1],
                ),
                helper.make_node("Relu", [base + "_neg"], [base + "_relu"], name=base + "_relu"),
                helper.make_node("Add", [x, base + "_relu"], [y], name=base + "_add"),
            ]
        else:
            gr.set_const(w_neg, -np.ones((c, 1, 1, 1), np.float32))
            gr.set_const(w_scale, (1.0 - s).reshape(c, 1, 1, 1))
            new = _prelu_nchwc(base, x, y, w_neg, w_scale, c)
        idx = list(gr.g.node).index(node)
        gr.g.node.remove(node)
        for k, n in enumerate(new):
            gr.g.node.insert(idx + k, n)
        gr.refresh()
        count += 1
    _drop_unused_initializers(model)
    return count


def _prelu_nchwc(
    base: str, x: str, y: str, w_neg: str, w_scale: str, c: int
) -> list[onnx.NodeProto]:
    return [
        helper.make_node(
            "Conv", [x, w_neg], [base + "_neg"], name=base + "_neg", group=c, kernel_shape=[1, 1]
        ),
        helper.make_node("Relu", [base + "_neg"], [base + "_relu"], name=base + "_relu"),
        helper.make_node(
            "Conv",
            [base + "_relu", w_scale],
            [base + "_scaled"],
            name=base + "_scale",
            group=c,
            kernel_shape=[1, 1],
        ),
        helper.make_node("Add", [base + "_scaled", x], [y], name=base + "_add"),
    ]


def optimize_fp32(model: onnx.ModelProto, *, prelu: bool | None = None) -> None:
    """The FP32 rewrites for this machine (PRelu only where NCHWc exists)."""
    fold_batchnorm(model)
    if nchwc_available() if prelu is None else prelu:
        rewrite_prelu(model)
