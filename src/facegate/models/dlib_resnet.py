"""dlib's ResNet face recogniser (face_recognition_models, CC0) with its own face chip.

dlib aligns with its 5-point shape predictor run inside the detector box (YuNet's here) and
cuts a 150x150 chip with 25 % padding; the network maps the chip to 128-d. Descriptors are
L2-normalised so dlib scores are cosine similarities like every other model's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facegate.errors import ModelError
from facegate.models.base import Face, l2_normalize
from facegate.models.files import DLIB_RESNET, DLIB_SHAPE5

CHIP_SIZE = 150
CHIP_PADDING = 0.25


class DlibResNet:
    name = "dlib"
    dim = 128
    version = DLIB_RESNET.version
    uses_arcface_crop = False  # dlib aligns its own 150x150 chip with its 5-point predictor

    def __init__(self) -> None:
        self._sp = None
        self._net = None

    def prepare(self) -> DlibResNet:
        if self._net is not None:
            return self
        try:
            import dlib
        except ImportError:
            raise ModelError("dlib is missing; install it with: pip install dlib-bin") from None
        try:
            self._sp = dlib.shape_predictor(str(DLIB_SHAPE5.verified_path()))
            self._net = dlib.face_recognition_model_v1(str(DLIB_RESNET.verified_path()))
        except RuntimeError as exc:
            raise ModelError(f"dlib cannot load its model files: {exc}") from None
        return self

    def crops(self, bgr: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """dlib face chips (RGB, 150x150) for each face."""
        import dlib

        self.prepare()
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        chips = []
        for f in faces:
            x, y, w, h = (float(v) for v in f.bbox)
            rect = dlib.rectangle(round(x), round(y), round(x + w), round(y + h))
            shape = self._sp(rgb, rect)
            chips.append(dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
        return chips

    def embed_crops(self, chips: Sequence[np.ndarray], flip: bool = False) -> np.ndarray:
        self.prepare()
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        batch = [np.ascontiguousarray(c) for c in chips]
        if flip:
            batch += [np.ascontiguousarray(c[:, ::-1]) for c in chips]
        emb = l2_normalize(np.asarray(self._net.compute_face_descriptor(batch), np.float32))
        if flip:
            n = len(chips)
            emb = emb[:n] + emb[n:]
        return l2_normalize(emb)

    def embed(self, bgr: np.ndarray, faces: Sequence[Face], flip: bool = False) -> np.ndarray:
        return self.embed_crops(self.crops(bgr, faces), flip)
