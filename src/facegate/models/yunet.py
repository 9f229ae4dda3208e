"""YuNet face detector (OpenCV Zoo, 2023mar): prepare once, detect at any input size.

Pre-processing: BGR, float32, raw 0-255, NCHW; the image is shrunk so its long side is at
most `max_side` and zero-padded on the right/bottom to a multiple of 32 (the largest stride),
so no aspect distortion and no upscaling of small images.

Post-processing (per stride 8/16/32, anchors row-major): score = sqrt(cls * obj);
centre = (grid + d[:2]) * stride; size = exp(d[2:]) * stride; landmarks = (grid + k) * stride.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facegate.models import onnx_prep
from facegate.models.base import Face
from facegate.models.files import YUNET, PackagedFile, user_file

STRIDES = (8, 16, 32)


class YuNet:
    name = "yunet"

    def __init__(
        self,
        model: PackagedFile | Path = YUNET,
        *,
        cache_dir: Path,
        threads: int = 2,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int = 640,
        top_k: int = 5000,
    ) -> None:
        self.model = model
        self.cache_dir = cache_dir
        self.threads = threads
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.top_k = top_k
        self._session = None
        self._input_name = ""
        self._output_names: list[str] = []
        self._grids: dict[tuple[int, int], list[np.ndarray]] = {}

    def prepare(self) -> YuNet:
        if self._session is not None:
            return self
        src = (
            self.model.verified_path()
            if isinstance(self.model, PackagedFile)
            else user_file(self.model, "detector")
        )

        def transform(m):
            onnx_prep.fold_constant_weights(m)
            onnx_prep.make_spatial_dims_dynamic(m)

        path = onnx_prep.prepared_path(src, self.cache_dir, "dyn", transform)
        self._session = onnx_prep.session(path, self.threads)
        self._input_name = self._session.get_inputs()[0].name
        self._output_names = [
            f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in STRIDES
        ]
        return self

    def _grid(self, h: int, w: int) -> list[np.ndarray]:
        """Anchor (col, row) per stride for a padded input size; cached per size."""
        key = (h, w)
        if key not in self._grids:
            grids = []
            for s in STRIDES:
                rows, cols = h // s, w // s
                yy, xx = np.mgrid[0:rows, 0:cols]
                grids.append(np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32))
            self._grids[key] = grids
        return self._grids[key]

    def preprocess(self, bgr: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = bgr.shape[:2]
        scale = 1.0
        if self.max_side and max(h, w) > self.max_side:
            scale = self.max_side / max(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))  # 8x40000 -> 1x640
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            h, w = bgr.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        if (ph, pw) != (h, w):  # pad in uint8, then one C++ pass to float NCHW
            bgr = cv2.copyMakeBorder(bgr, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=0)
        return cv2.dnn.blobFromImage(bgr), scale

    def detect(self, bgr: np.ndarray) -> list[Face]:
        self.prepare()
        blob, scale = self.preprocess(bgr)
        outs = self._session.run(self._output_names, {self._input_name: blob})
        return self.postprocess(outs, blob.shape[2], blob.shape[3], scale)

    def postprocess(self, outs: list[np.ndarray], h: int, w: int, scale: float) -> list[Face]:
        boxes, kps, scores = [], [], []
        for i, (stride, grid) in enumerate(zip(STRIDES, self._grid(h, w), strict=True)):
            cls, obj = outs[i][0, :, 0], outs[3 + i][0, :, 0]
            score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            keep = np.flatnonzero(score >= self.score_threshold)
            if keep.size == 0:
                continue
            g = grid[keep]
            d = outs[6 + i][0, keep]
            k = outs[9 + i][0, keep].reshape(-1, 5, 2)
            centre = (g + d[:, :2]) * stride
            size = np.exp(d[:, 2:]) * stride
            boxes.append(np.concatenate([centre - size / 2, size], 1))
            kps.append((g[:, None, :] + k) * stride)
            scores.append(score[keep])
        if not boxes:
            return []
        b = np.concatenate(boxes) / scale
        k = np.concatenate(kps) / scale
        s = np.concatenate(scores)
        idx = cv2.dnn.NMSBoxes(
            b.tolist(), s.tolist(), self.score_threshold, self.nms_threshold, top_k=self.top_k
        )
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        faces = [Face(b[i].astype(np.float32), k[i].astype(np.float32), float(s[i])) for i in idx]
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces
