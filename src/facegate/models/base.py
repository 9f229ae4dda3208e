"""The shapes every model agrees on: a detected `Face`, and the Detector / Embedder seams."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face in image coordinates.

    bbox is (x, y, w, h); landmarks are 5 (x, y) points in YuNet / ArcFace order: eye on the
    image's left, eye on the image's right, nose tip, left and right mouth corners.
    """

    bbox: np.ndarray
    landmarks: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """Shorter side of the box in pixels: what 'too small' is judged on."""
        return float(min(self.bbox[2], self.bbox[3]))

    @property
    def area(self) -> float:
        return float(self.bbox[2] * self.bbox[3])

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = (float(v) for v in self.bbox)
        return x + w / 2, y + h / 2

    def to_dict(self) -> dict:
        return {
            "bbox": [round(float(v), 1) for v in self.bbox],
            "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks],
            "det_score": round(float(self.score), 4),
        }


@runtime_checkable
class Detector(Protocol):
    name: str

    def prepare(self) -> Detector: ...

    def detect(self, bgr: np.ndarray) -> list[Face]:
        """Faces in a BGR uint8 image, largest first."""
        ...


@runtime_checkable
class Embedder(Protocol):
    name: str
    version: str  # identifies the embedding space; stored with every template
    dim: int
    # True when `crops()` is the 112x112 ArcFace crop (`models.align.align_arcface`) that the
    # runtime's quality gate has already made: the runtime then embeds that crop instead of
    # aligning the face a second time.
    uses_arcface_crop: bool

    def prepare(self) -> Embedder: ...

    def crops(self, bgr: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """The aligned crop this model embeds, one per face."""
        ...

    def embed_crops(self, crops: Sequence[np.ndarray], flip: bool = False) -> np.ndarray:
        """Embed crops from `crops()` (or mirrored copies of them) in one batch."""
        ...

    def embed(self, bgr: np.ndarray, faces: Sequence[Face], flip: bool = False) -> np.ndarray:
        """(len(faces), dim) float32 L2-normalised embeddings; one batch per call."""
        ...


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)
