"""FaceEngine: detect -> align -> embed -> compare, the one object every part of FaceGate calls.

Models are created from the config and prepared lazily on first use, so a process that only
detects never loads dlib, and `FaceEngine()` is cheap to construct.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from facegate.errors import ConfigError
from facegate.gallery.thresholds import Calibration, calibration_key, load_calibrations
from facegate.imageio import to_bgr
from facegate.models.arcface import ArcFaceONNX, sface
from facegate.models.base import Detector, Embedder, Face
from facegate.models.config import SHIPPED_RECOGNIZERS, EngineConfig, RecognizerConfig
from facegate.models.dlib_resnet import DlibResNet
from facegate.models.face_reid import FaceReid
from facegate.models.files import default_cache_dir
from facegate.models.yunet import YuNet
from facegate.schema import read_mapping, validate

#: Calibration names of the shipped recogniser kinds (calibration.json keys on them).
SHIPPED_NAMES = {kind: name for name, kind in SHIPPED_RECOGNIZERS.items()}


def _fusion_members(cal: Calibration) -> list[tuple[str, str]]:
    """(name, version) of each model of a fusion calibration, sorted; [] for a single model."""
    if not cal.model.startswith("fusion:"):
        return []
    names = cal.model.removeprefix("fusion:").split("+")
    return sorted(zip(names, cal.version.split("+"), strict=True))


class FaceEngine:
    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.cache_dir = self.config.cache_dir or default_cache_dir()
        self._detector: Detector | None = None
        self._embedders: dict[str, Embedder] = {}
        self._calibrations = load_calibrations()
        self._warm: set[str] = set()  # "detector" and the recognisers run once already

    @classmethod
    def from_config(
        cls, source: EngineConfig | Mapping[str, Any] | str | os.PathLike | object | None
    ) -> FaceEngine:
        """Build from an EngineConfig, a whole `FaceGateConfig`, a dict or a YAML file path.

        A dict or file may hold the engine section alone or a whole config with `engine:`;
        only the engine section is read (the engine knows nothing of the other sections).
        """
        if source is None:
            return cls()
        if isinstance(source, EngineConfig):
            return cls(source)
        if isinstance(getattr(source, "engine", None), EngineConfig):  # a FaceGateConfig
            return cls(source.engine)
        where = "config"
        if isinstance(source, str | os.PathLike):
            where, source = str(source), read_mapping(source)
        if not isinstance(source, Mapping):
            raise ConfigError(f"cannot build an engine from {type(source).__name__}")
        section = source.get("engine", {}) if "engine" in source else source
        return cls(validate(EngineConfig, dict(section or {}), f"{where} (engine)"))

    # -- models ---------------------------------------------------------------------------
    @property
    def detector(self) -> Detector:
        if self._detector is None:
            d = self.config.detector
            kwargs = {"model": d.path} if d.path else {}
            self._detector = YuNet(
                **kwargs,
                cache_dir=self.cache_dir,
                threads=self.config.thread_count(),
                score_threshold=d.score_threshold,
                nms_threshold=d.nms_threshold,
                max_side=d.max_side,
            ).prepare()
        return self._detector

    def embedder(self, model: str | None = None) -> Embedder:
        name = model or self.config.model
        if name not in self._embedders:
            self._embedders[name] = self._build_embedder(self.config.recognizer(name)).prepare()
        return self._embedders[name]

    def _build_embedder(self, rc: RecognizerConfig) -> Embedder:
        threads = self.config.thread_count()
        if rc.kind == "sface":
            return (
                sface(self.cache_dir, threads, self.config.precision, self.config.int8_calibration)
                if rc.path is None
                else ArcFaceONNX(
                    rc.name,
                    rc.path,
                    cache_dir=self.cache_dir,
                    threads=threads,
                    normalization=rc.normalization,
                )
            )
        if rc.kind == "dlib":
            return DlibResNet()
        if rc.kind == "face_reid":
            kwargs = {"model": rc.path} if rc.path else {}
            return FaceReid(rc.name, **kwargs, cache_dir=self.cache_dir, threads=threads)
        return ArcFaceONNX(
            rc.name,
            rc.path,
            cache_dir=self.cache_dir,
            threads=threads,
            normalization=rc.normalization,
        )

    @property
    def model_names(self) -> list[str]:
        return [r.name for r in self.config.recognizers]

    def version(self, model: str | None = None) -> str:
        return self.embedder(model).version

    # -- the pipeline ----------------------------------------------------------------------
    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in a BGR / BGRA / gray image, largest first."""
        return self.detector.detect(to_bgr(image))

    def align(self, image: np.ndarray, face: Face, model: str | None = None) -> np.ndarray:
        """The crop the named recogniser sees (112x112 ArcFace crop; dlib's 150x150 chip)."""
        return self.embedder(model).crops(to_bgr(image), [face])[0]

    def embed(
        self, image: np.ndarray, face: Face, model: str | None = None, flip: bool | None = None
    ) -> np.ndarray:
        """L2-normalised embedding of one face."""
        return self.embed_faces(image, [face], model, flip)[0]

    def embed_faces(
        self,
        image: np.ndarray,
        faces: Sequence[Face],
        model: str | None = None,
        flip: bool | None = None,
    ) -> np.ndarray:
        """All faces of one image in one batch: (n, dim)."""
        flip = self.config.flip if flip is None else flip
        return self.embedder(model).embed(to_bgr(image), faces, flip=flip)

    @staticmethod
    def compare(a: np.ndarray, b: np.ndarray) -> float:
        """Cosine similarity of two embeddings of the same model (higher = more alike).

        Every recogniser here scores by cosine of L2-normalised vectors, so this takes no
        model; which threshold applies does depend on the model: `threshold(model, fmr)`.
        """
        a = np.asarray(a, np.float32).ravel()
        b = np.asarray(b, np.float32).ravel()
        if a.shape != b.shape:
            raise ValueError(f"embeddings differ in size ({a.size} vs {b.size}): different models?")
        return float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))

    def warm_up(self, models: Sequence[str] = ()) -> bool:
        """Load and run once the detector and the named recognisers, each only the first time:
        ONNX Runtime allocates its buffers on the first run, and a visitor must not wait for
        that (nor for the confirming model loading mid-visit). True if anything ran."""
        todo = [m for m in ("detector", *models) if m not in self._warm]
        if not todo:
            return False
        image = np.full((160, 160, 3), 128, np.uint8)
        face = Face(
            np.array([40, 30, 80, 100], np.float32),
            np.array([[62, 70], [98, 70], [80, 90], [66, 110], [94, 110]], np.float32),
            1.0,
        )
        for name in todo:
            if name == "detector":
                self.detect(image)
            else:
                self.embed(image, face, name)
            self._warm.add(name)
        return True

    # -- decisions -------------------------------------------------------------------------
    def calibration(self, model: str | None = None, flip: bool | None = None) -> Calibration:
        """Thresholds and impostor statistics for a model as configured."""
        name = model or self.config.model
        flip = self.config.flip if flip is None else flip
        rc = self.config.recognizer(name)
        if rc.thresholds:
            return Calibration(
                name,
                "config",
                flip,
                rc.impostor_mean if rc.impostor_mean is not None else 0.0,
                rc.impostor_std if rc.impostor_std is not None else 1.0,
                dict(rc.thresholds),
                "config file",
            )
        version = self.version(name)
        cal = self._calibrations.get(calibration_key(self.calibration_name(name), version, flip))
        if cal is None:
            raise ConfigError(
                f"model '{name}' (version {version}, flip={flip}) has no calibrated thresholds; "
                "give `thresholds:` in its config or run `facegate eval calibrate`"
            )
        return cal

    def calibration_name(self, model: str | None = None) -> str:
        """The name a model's calibrations are filed under: a shipped model's own name
        (`sface`, `dlib`, `reid`) whatever the config calls it, else the configured name."""
        rc = self.config.recognizer(model or self.config.model)
        return SHIPPED_NAMES.get(rc.kind, rc.name) if rc.path is None else rc.name

    def threshold(self, model: str | None = None, fmr: float | None = None) -> float:
        return self.calibration(model).threshold(fmr or self.config.fmr)

    def fusion_calibration(self) -> Calibration:
        """The fusion of all configured recognisers, calibrated as a set: the mean z-score
        does not depend on their order, so neither does the lookup."""
        members = [(self.calibration_name(n), self.version(n)) for n in self.model_names]
        flip = self.config.flip
        names, versions = "+".join(n for n, _ in members), "+".join(v for _, v in members)
        cal = self._calibrations.get(calibration_key(f"fusion:{names}", versions, flip))
        if cal is None:  # the same set, calibrated in another order
            cal = next(
                (
                    c
                    for c in self._calibrations.values()
                    if c.flip == flip and _fusion_members(c) == sorted(members)
                ),
                None,
            )
        if cal is None:
            raise ConfigError(f"no calibrated fusion thresholds for {'+'.join(self.model_names)}")
        return cal

    def fuse(self, scores: Mapping[str, float]) -> float:
        """Mean of per-model impostor z-scores: one number on one scale for all models."""
        missing = [n for n in self.model_names if n not in scores]
        if missing:
            raise ValueError(f"fusion needs a score from every model; missing {missing}")
        return float(np.mean([self.calibration(n).normalise(scores[n]) for n in self.model_names]))
