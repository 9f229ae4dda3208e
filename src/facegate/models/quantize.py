"""INT8 model variant (`precision: int8`): equalisation, quantisation and calibration images.

`quantize_static` from ONNX Runtime, QDQ format, per-channel signed 8-bit weights with
`reduce_range` (7 bits: no u8*s8 pair-sum saturation on AVX2 without VNNI, the same integer
results on every x86 and ARM kernel), unsigned 8-bit activations with min/max ranges from
calibration images. The FP32 graph is first folded by `rewrite.py` (BatchNormalization), and
its PRelus rewritten after equalisation (compact where every slope is below 1; the QLinear
kernels have no PRelu). Before quantising, `equalize` rescales the channels of every
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
from onnx import helper

from facegate.errors import ModelError
from facegate.models.onnx_prep import IMAGE_SUFFIXES
from facegate.models.rewrite import Graph, attr, channel_slope, fold_batchnorm, rewrite_prelu

# -- equalisation ----------------------------------------------------------------------------


def _links(
    gr: Graph,
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
            nxt.op_type == "Relu" or (nxt.op_type == "PRelu" and channel_slope(gr, nxt) is not None)
        ):
            act, nxt = nxt, gr.only_consumer(nxt.output[0])
        flat = None
        if nxt is not None and nxt.op_type == "Flatten" and int(attr(nxt, "axis", 1)) == 1:
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
            and bool(attr(nxt, "transB", 0))
            and not attr(nxt, "transA", 0)
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
    gr = Graph(model)
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
        group_b = int(attr(b, "group", 1)) if b.op_type == "Conv" else 1
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
    gr = Graph(model)
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
