"""face-reidentification-retail-0095 (Intel Open Model Zoo, Apache-2.0): the `face_reid` kind.

A MobileNetV2-style network with squeeze-excitation blocks and PReLU: 1.1 M parameters,
0.29 GMACs (SFace: 9.7 M, 0.57 GMACs), 256-d output. Shipped in FaceGate as
`weights/face_reid_0095/face_reid_0095_fp32.onnx` (Intel's FP16 IR converted to ONNX, FP32
weights; LICENSE and NOTICE beside it), sha256 checked at load.

Preprocessing, as the reference runs it (OpenCV Zoo style, next to the model):
- alignment: YuNet's 5 landmarks -> similarity transform (rotation, uniform scale, shift;
  `cv2.estimateAffinePartial2D`, LMedS) onto `TEMPLATE` in pixels of a 128x128 crop,
  `cv2.warpAffine` bilinear, black border;
- input: the crop as it is, **BGR, float32, raw 0-255**, NCHW [N,3,128,128], input `data`
  (no mean, no scaling, no channel swap: the graph does its own);
- output: [N,256,1,1] -> flatten, L2-normalise; compare by cosine. `flip` averages the
  normalised embeddings of the crop and its mirror, as ArcFaceONNX does.

Alignment template, measured on gray LFW View-2 10-fold (YuNet landmarks, one run, no flip):
the README's template (ArcFace's 96x112 reference points scaled to 128: x / 96, y / 112)
99.37 % (SFace 98.98 %); the ArcFace 112 template scaled to 128 (more context) 99.22 %; Open
Model Zoo's own template 99.27 %. `TEMPLATE` is the first (`facegate bench reid` measures all 3).
`cv2.estimateAffinePartial2D` with LMedS, as here, scored 99.37 %, its default RANSAC 99.33 %.

Runtime: ONNX Runtime on the FP32 ONNX (`facegate bench reid`, docs/performance.md). The file
as converted has one PReLU slope per layer, which ORT runs as a slow broadcast kernel outside
its fused NCHWc path (more than half of the time); `prepare()` rewrites each as the equivalent
LeakyRelu, which ORT fuses into the convolution before it (exact). Measured on a 2-vCPU Xeon,
batch 1, one thread, same run: 6.08 ms per face (the file as converted 15.27 ms; SFace 12.80 ms).
OpenVINO on Intel's FP16 IR at FP32 precision took 5.25 ms (bf16 on AMX 2.20 ms, INT8 2.66 ms at
-0.24 pt LFW), but added 78 MB and 0.4 s to `facegate run` (287 vs 209 MB with SFace at 720p,
the budget being 300 MB): FaceGate does not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from facegate.errors import ModelError
from facegate.models import onnx_prep
from facegate.models.align import ARCFACE_TEMPLATE, similarity_transform
from facegate.models.base import Face, l2_normalize
from facegate.models.files import FACE_REID, PackagedFile, recogniser_file

if TYPE_CHECKING:
    import onnx

INPUT_SIZE = 128
#: The README's template: ArcFace's 96x112 reference points, normalised and scaled to 128.
TEMPLATE = (ARCFACE_TEMPLATE - [8.0, 0.0]) / [96.0, 112.0] * INPUT_SIZE


def leaky_prelus(model: onnx.ModelProto) -> int:
    """Replace every PRelu with a single slope by LeakyRelu(alpha=slope): the same function,
    which ONNX Runtime fuses into the preceding Conv (its PRelu broadcasts a 1-element slope
    slowly, outside the fused NCHWc path). Returns how many were replaced."""
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {t.name: t for t in g.initializer}
    count = 0
    for i, node in enumerate(list(g.node)):
        if node.op_type != "PRelu" or node.input[1] not in inits:
            continue
        slope = numpy_helper.to_array(inits[node.input[1]])
        if slope.size != 1:
            continue
        leaky = helper.make_node(
            "LeakyRelu",
            [node.input[0]],
            list(node.output),
            name=(node.name or node.output[0]) + "_leaky",
            alpha=float(slope.reshape(())),
        )
        g.node.remove(node)
        g.node.insert(i, leaky)
        count += 1
    used = {x for n in g.node for x in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return count


def _prepare_graph(model: onnx.ModelProto) -> None:
    for vi in (*model.graph.input, *model.graph.output):  # any batch size
        vi.type.tensor_type.shape.dim[0].dim_param = "batch"
    leaky_prelus(model)


def align(bgr: np.ndarray, landmarks: np.ndarray, template: np.ndarray = TEMPLATE) -> np.ndarray:
    """The 128x128 BGR crop the network embeds: 5-point similarity onto `template`."""
    src = np.asarray(landmarks, np.float32).reshape(5, 2)
    m, _ = cv2.estimateAffinePartial2D(src, np.asarray(template, np.float32), method=cv2.LMEDS)
    if m is None:  # degenerate landmarks: the plain least-squares fit never fails
        m = similarity_transform(src, template)
    return cv2.warpAffine(bgr, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderValue=0)


class FaceReid:
    """Embedder for face-reidentification-retail-0095 (or a file of the same layout)."""

    input_size = INPUT_SIZE
    dim = 256
    uses_arcface_crop = False  # its own 128x128 crop on its own template

    def __init__(
        self,
        name: str = "reid",
        model: PackagedFile | Path = FACE_REID,
        *,
        cache_dir: Path,
        threads: int = 2,
    ) -> None:
        self.name = name
        self.model = model
        self.cache_dir = cache_dir
        self.threads = threads
        self.version = ""
        self.path: Path | None = None
        self._session = None
        self._input_name = ""

    def prepare(self) -> FaceReid:
        if self._session is not None:
            return self
        src, self.version = recogniser_file(self.model, f"recogniser '{self.name}'")
        self.path = onnx_prep.prepared_path(src, self.cache_dir, "b-leaky", _prepare_graph)
        self._session = onnx_prep.session(self.path, self.threads)
        inp = self._session.get_inputs()[0]
        if len(inp.shape) != 4 or inp.shape[1] != 3 or inp.shape[2:] != [128, 128]:
            raise ModelError(
                f"recogniser '{self.name}': expected input [N,3,128,128] "
                f"(face-reidentification-retail-0095 layout), got {inp.shape}"
            )
        self._input_name = inp.name
        return self

    def crops(self, bgr: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        return [align(bgr, f.landmarks) for f in faces]

    def embed_crops(self, crops: Sequence[np.ndarray], flip: bool = False) -> np.ndarray:
        """Embed aligned 128x128 BGR crops; with flip, average with the mirrored crop."""
        self.prepare()
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        batch = np.stack(crops)  # BGR, as the network wants it
        if flip:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        x = batch.transpose(0, 3, 1, 2).astype(np.float32)  # raw 0-255
        emb = self._session.run(None, {self._input_name: x})[0].reshape(len(x), -1)
        if flip:
            n = len(crops)
            emb = l2_normalize(emb[:n]) + l2_normalize(emb[n:])
        return l2_normalize(emb)

    def embed(self, bgr: np.ndarray, faces: Sequence[Face], flip: bool = False) -> np.ndarray:
        return self.embed_crops(self.crops(bgr, faces), flip)
