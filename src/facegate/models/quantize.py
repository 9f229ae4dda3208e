"""Accelerated model variants: graph rewrites that suit ONNX Runtime's CPU kernels, and INT8.

FP32 rewrites (exact up to float rounding; part of the normal FP32 preparation):

- `fold_batchnorm`: Conv -> BatchNormalization into the Conv; BatchNormalization -> (Dropout) ->
  Flatten -> Gemm and Gemm -> BatchNormalization into the Gemm (ORT folds neither Gemm case).
- `rewrite_prelu`: ORT runs a per-channel PRelu as a slow broadcast kernel in NCHW, and the NCHWc
  layout that makes its convolutions fast is converted back and forth around every PRelu (SFace:
  27 times). PRelu(x) = x + (1 - s) * Relu(-x) is written as two 1x1 depthwise Convs (weight -1,
  then the per-channel 1 - s) and an Add: ORT fuses the Relu and the Add into those Convs and the
  whole network stays in NCHWc. Applied on x86 only, where ORT has NCHWc kernels.

INT8 (`precision: int8`): `quantize_static` from ONNX Runtime, QDQ format, per-channel signed
8-bit weights with `reduce_range` (7 bits: no u8*s8 pair-sum saturation on AVX2 without VNNI,
the same integer results on every x86 and ARM kernel), unsigned 8-bit activations with min/max
ranges from calibration images. Before quantising, `equalize` rescales the channels of every
Conv -> (PRelu|Relu) -> Conv/Gemm link so each channel of the activation tensor spans a similar
range (cross-layer equalisation with data ranges): a depthwise network quantised with one scale
per activation tensor otherwise loses the small channels. Rescaling is exact in real arithmetic
(PRelu and Relu are positively homogeneous) and free on the per-channel-quantised side.

Calibration images are regenerable by any user: the two demo photos shipped in PyPI wheels
(matplotlib's Grace Hopper, scikit-image's astronaut) under deterministic augmentation, or a
folder of the user's own face photos (`engine.int8_calibration`). No evaluation data is shipped.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import helper, numpy_helper

from facegate.errors import ModelError
from facegate.models.onnx_prep import (  # noqa: F401 - cache keys live with the cache
    IMAGE_SUFFIXES,
    QUANT_VERSION,
    calibration_id,
    nchwc_available,
)

# -- small graph helpers -------------------------------------------------------------------


class _Graph:
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


def _attr(node: onnx.NodeProto, name: str, default):
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


def _bn_affine(gr: _Graph, bn: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray] | None:
    """(a, b) with BN(x) = a * x + b per channel, or None if its parameters are not constant."""
    vals = [gr.const(i) for i in bn.input[1:5]]
    if any(v is None for v in vals):
        return None
    gamma, beta, mean, var = (v.astype(np.float64) for v in vals)
    a = gamma / np.sqrt(var + float(_attr(bn, "epsilon", 1e-5)))
    return a, beta - mean * a


# -- FP32 rewrites ---------------------------------------------------------------------------


def fold_batchnorm(model: onnx.ModelProto) -> int:
    """Fold inference BatchNormalization into the neighbouring Conv / Gemm; returns the count."""
    gr = _Graph(model)
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


def _fold_after(gr: _Graph, node: onnx.NodeProto, a: np.ndarray, b: np.ndarray) -> bool:
    """y = a * (W x + c) + b for a Conv (channel axis 0 of W) or a Gemm with transB=1."""
    w = gr.const(node.input[1])
    if w is None or (
        node.op_type == "Gemm" and (not _attr(node, "transB", 0) or _attr(node, "transA", 0))
    ):
        return False
    if w.shape[0] != a.size:
        return False
    bias_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
    c = gr.const(bias_name) if bias_name else np.zeros(a.size, np.float32)
    if c is None or c.size != a.size:
        return False
    if node.op_type == "Gemm":
        beta, alpha = float(_attr(node, "beta", 1.0)), float(_attr(node, "alpha", 1.0))
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


def _fold_into_following_gemm(gr: _Graph, bn: onnx.NodeProto, a: np.ndarray, b: np.ndarray) -> bool:
    """BN -> Flatten -> Gemm(transB=1): scale the Gemm's columns, shift its bias."""
    flat = gr.only_consumer(bn.output[0])
    if flat is None or flat.op_type != "Flatten" or int(_attr(flat, "axis", 1)) != 1:
        return False
    gemm = gr.only_consumer(flat.output[0])
    if (
        gemm is None
        or gemm.op_type != "Gemm"
        or not _attr(gemm, "transB", 0)
        or _attr(gemm, "transA", 0)
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
    beta = float(_attr(gemm, "beta", 1.0))
    hw = w.shape[1] // a.size
    wa = w.astype(np.float64)
    new_c = c.astype(np.float64).reshape(-1) * beta + float(_attr(gemm, "alpha", 1.0)) * (
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


def _channel_slope(gr: _Graph, node: onnx.NodeProto) -> np.ndarray | None:
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
    gr = _Graph(model)
    count = 0
    for node in [n for n in gr.g.node if n.op_type == "PRelu"]:
        s = _channel_slope(gr, node)
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


# -- equalisation ----------------------------------------------------------------------------


def _links(
    gr: _Graph,
) -> list[tuple[onnx.NodeProto, onnx.NodeProto | None, onnx.NodeProto, onnx.NodeProto | None]]:
    """(conv A, activation or None, consumer B, Flatten or None) where A's output channels
    reach B through nothing but a positively homogeneous activation."""
    out = []
    for a in gr.g.node:
        if a.op_type != "Conv" or gr.const(a.input[1]) is None:
            continue
        nxt = gr.only_consumer(a.output[0])
        act = None
        if nxt is not None and (
            nxt.op_type == "Relu"
            or (nxt.op_type == "PRelu" and _channel_slope(gr, nxt) is not None)
        ):
            act, nxt = nxt, gr.only_consumer(nxt.output[0])
        flat = None
        if nxt is not None and nxt.op_type == "Flatten" and int(_attr(nxt, "axis", 1)) == 1:
            flat, nxt = nxt, gr.only_consumer(nxt.output[0])
        if (
            nxt is None
            or nxt.op_type not in ("Conv", "Gemm")
            or len(nxt.input) < 2
            or gr.const(nxt.input[1]) is None
        ):
            continue
        feeds = flat.output[0] if flat is not None else (act or a).output[0]
        if nxt.input[0] != feeds:
            continue
        conv_b = nxt.op_type == "Conv" and flat is None
        gemm_b = (
            nxt.op_type == "Gemm"
            and flat is not None
            and bool(_attr(nxt, "transB", 0))
            and not _attr(nxt, "transA", 0)
        )
        if conv_b or gemm_b:
            out.append((a, act, nxt, flat))
    return out


def channel_ranges(
    model: onnx.ModelProto, names: Sequence[str], batches: Sequence[dict], threads: int = 2
) -> dict[str, np.ndarray]:
    """max |value| per channel (axis 1) of the named tensors over the calibration batches."""
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(helper.make_empty_tensor_value_info(n))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    ranges: dict[str, np.ndarray] = {}
    for feed in batches:
        for n, v in zip(names, sess.run(list(names), feed), strict=True):
            r = np.abs(v).max(axis=tuple(i for i in range(v.ndim) if i != 1))
            ranges[n] = r if n not in ranges else np.maximum(ranges[n], r)
    return ranges


def equalize(model: onnx.ModelProto, batches: Sequence[dict], threads: int = 2) -> int:
    """Rescale channels across Conv -> (PRelu|Relu) -> Conv/Gemm links; returns links done.

    Channel c of A's output is divided by d_c and B's input channel c multiplied by d_c. B
    depthwise: d_c = r_c / max(r), every channel then spans the largest range and B's
    per-channel weights absorb d_c exactly. Otherwise d_c = sqrt(r_c / w_c) with w_c the
    largest weight B applies to channel c, so activation and weight ranges meet halfway.
    """
    gr = _Graph(model)
    links = _links(gr)
    if not links:
        return 0
    ranges = channel_ranges(model, [a.output[0] for a, *_ in links], batches, threads)
    done = 0
    for a, _act, b, flat in links:
        r = ranges[a.output[0]].astype(np.float64)
        wa = gr.const(a.input[1]).astype(np.float64)
        wb = gr.const(b.input[1]).astype(np.float64)
        c = wa.shape[0]
        if r.size != c or not np.isfinite(r).all() or r.max() <= 0:
            continue
        r = np.maximum(r, 1e-6 * r.max())
        group_b = int(_attr(b, "group", 1)) if b.op_type == "Conv" else 1
        if b.op_type == "Conv" and group_b == c and wb.shape[1] == 1:  # depthwise
            d = r / r.max()
        elif b.op_type == "Conv" and group_b == 1 and wb.shape[1] == c:
            w = np.maximum(np.abs(wb).max(axis=(0, *range(2, wb.ndim))), 1e-12)
            d = np.sqrt(r / w)
            d = d / math.exp(float(np.mean(np.log(d))))
        elif b.op_type == "Gemm" and flat is not None and wb.shape[1] % c == 0:
            hw = wb.shape[1] // c
            w = np.maximum(np.abs(wb).reshape(wb.shape[0], c, hw).max(axis=(0, 2)), 1e-12)
            d = np.sqrt(r / w)
            d = d / math.exp(float(np.mean(np.log(d))))
        else:
            continue
        d = np.clip(d, 1e-4, 1e4)
        gr.set_const(a.input[1], wa / d.reshape((-1,) + (1,) * (wa.ndim - 1)))
        if len(a.input) > 2 and a.input[2]:
            gr.set_const(a.input[2], gr.const(a.input[2]).astype(np.float64) / d)
        if b.op_type == "Gemm":
            gr.set_const(b.input[1], wb * np.repeat(d, wb.shape[1] // c)[None, :])
        elif group_b == c:
            gr.set_const(b.input[1], wb * d.reshape(-1, 1, 1, 1))
        else:
            gr.set_const(b.input[1], wb * d.reshape(1, -1, *([1] * (wb.ndim - 2))))
        done += 1
    return done


def _unshare_link_weights(model: onnx.ModelProto) -> None:
    """Give every Conv/Gemm its own weight and bias initializers (equalisation edits them)."""
    gr = _Graph(model)
    seen: set[str] = set()
    for n in gr.g.node:
        if n.op_type not in ("Conv", "Gemm"):
            continue
        for k in range(1, len(n.input)):
            name = n.input[k]
            if not name or name not in gr.inits:
                continue
            if name in seen:
                new = gr.unique(name + "_own")
                gr.set_const(new, gr.const(name))
                n.input[k] = new
            seen.add(n.input[k])


# -- INT8 ------------------------------------------------------------------------------------


def quantize_int8(
    model: onnx.ModelProto,
    batches: Sequence[dict],
    *,
    threads: int = 2,
    prelu_rewrite: bool = True,
    compact: bool = True,
    moving_average: bool = True,
    exclude: Sequence[str] = (),
) -> onnx.ModelProto:
    """FP32 model (constant weights folded) -> equalised, QDQ INT8 model."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    m = onnx.ModelProto()
    m.CopyFrom(model)
    fold_batchnorm(m)
    _unshare_link_weights(m)
    equalize(m, batches, threads)
    if prelu_rewrite:
        rewrite_prelu(m, compact=compact)  # QLinear kernels have no PRelu
    m = onnx.shape_inference.infer_shapes(m)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(batches)

        def get_next(self) -> dict | None:
            return next(self._it, None)

    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # the calibrator's own sessions warn about batch sizes
    with tempfile.TemporaryDirectory(prefix="facegate-int8-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(m, str(src))
        try:
            quantize_static(
                str(src),
                str(dst),
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                reduce_range=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                nodes_to_exclude=list(exclude),
                extra_options={"CalibMovingAverage": moving_average},
            )
        except Exception as exc:  # the quantiser raises whatever its helpers raise
            raise ModelError(f"INT8 quantisation failed: {exc}") from None
        return onnx.load(str(dst))


# -- calibration images ----------------------------------------------------------------------


def demo_face_images() -> list[np.ndarray]:
    """The real face photos shipped in PyPI wheels (the demo extra): Grace Hopper, astronaut."""
    from facegate.demo import astronaut_bgr, grace_hopper_path

    hopper = cv2.imread(str(grace_hopper_path()), cv2.IMREAD_COLOR)
    if hopper is None:
        raise ModelError("cannot read matplotlib's grace_hopper.jpg for INT8 calibration")
    return [hopper, astronaut_bgr()]


def folder_images(folder: Path, limit: int = 400) -> list[np.ndarray]:
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ModelError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder} for calibration")
    images = []
    for p in files[:limit]:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is not None:
            images.append(img)
    return images


def _photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exposure, contrast, gamma, gray, blur, noise, JPEG: what an intercom camera does."""
    x = img.astype(np.float32)
    x = x * rng.uniform(0.55, 1.35) + rng.uniform(-25, 25)
    x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** rng.uniform(0.75, 1.35)
    out = np.clip(x + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.25:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.6, 1.6))
    if rng.random() < 0.4:
        noise = rng.normal(0, rng.uniform(1, 6), out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 90))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def augmented_face_crops(
    images: Sequence[np.ndarray],
    landmarks: Sequence[np.ndarray],
    per_face: int,
    seed: int = 0,
) -> list[np.ndarray]:
    """Aligned 112x112 crops with jittered alignment (roll, scale, shift, mirror) and camera
    effects; deterministic for a seed."""
    from facegate.models.align import align_arcface

    rng = np.random.default_rng(seed)
    crops = []
    for img, lm in zip(images, landmarks, strict=True):
        crops.append(align_arcface(img, lm))
        centre = lm.mean(0)
        for _ in range(per_face - 1):
            a = math.radians(rng.uniform(-12, 12))
            s = rng.uniform(0.9, 1.1)
            rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) * s
            eye = float(np.linalg.norm(lm[1] - lm[0]))
            jit = (lm - centre) @ rot.T + centre + rng.normal(0, 0.04 * eye, 2)
            crop = align_arcface(_photometric(img, rng), jit.astype(np.float32))
            if rng.random() < 0.5:
                crop = np.ascontiguousarray(crop[:, ::-1])
            crops.append(crop)
    return crops


def arcface_batches(
    crops: Sequence[np.ndarray], input_name: str, normalise_outside: bool, batch: int = 16
) -> list[dict]:
    """Crops (BGR uint8) as the network's input: RGB, NCHW float32, in batches."""
    x = np.stack(crops)[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)
    if normalise_outside:
        x = (x - 127.5) / 127.5
    return [{input_name: x[i : i + batch]} for i in range(0, len(x), batch)]


def _calibration_sources(folder: Path | None) -> list[np.ndarray]:
    return demo_face_images() if folder is None else folder_images(folder)


def calibration_face_crops(
    cache_dir: Path, folder: Path | None = None, total: int = 128
) -> list[np.ndarray]:
    """Aligned face crops to calibrate a recogniser: faces found by the FP32 detector in the
    demo photos (or `folder`), each augmented to about `total` crops in all."""
    from facegate.models.yunet import YuNet

    det = YuNet(cache_dir=cache_dir)
    images, marks = [], []
    for img in _calibration_sources(folder):
        faces = det.detect(img)
        if faces:
            images.append(img)
            marks.append(faces[0].landmarks)
    if not images:
        raise ModelError("INT8 calibration: no face found in the calibration images")
    return augmented_face_crops(images, marks, max(1, math.ceil(total / len(images))))
