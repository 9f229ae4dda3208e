"""The `engine:` section: which detector and recognisers FaceGate runs, and how.

Lives with the models (Frigate's rule: each part's config lives with its part, code imports
config, never the reverse); `facegate.config` assembles it into the one `FaceGateConfig`.
A leaf module: it imports nothing of FaceGate but the schema base and the error tree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from facegate.errors import ConfigError
from facegate.schema import StrictModel as _Strict


class DetectorConfig(_Strict):
    kind: Literal["yunet"] = "yunet"
    path: Path | None = Field(None, description="a YuNet-layout ONNX file; default: shipped")
    score_threshold: float = Field(0.6, gt=0, lt=1)
    nms_threshold: float = Field(0.3, gt=0, lt=1)
    max_side: int = Field(640, ge=0, description="shrink larger images to this long side; 0=off")


class RecognizerConfig(_Strict):
    """A recogniser. `sface`, `dlib` and `face_reid` (Intel's face-reidentification-retail-0095,
    `{name: reid, kind: face_reid}`) are shipped; `arcface_onnx` takes a user's file."""

    name: str
    kind: Literal["sface", "dlib", "face_reid", "arcface_onnx"]
    path: Path | None = None
    normalization: Literal["auto", "none", "arcface"] = "auto"
    thresholds: dict[float, float] | None = Field(
        None, description="target FMR -> cosine threshold; required for models we never calibrated"
    )
    impostor_mean: float | None = None
    impostor_std: float | None = None

    @model_validator(mode="after")
    def _path_for_user_models(self) -> RecognizerConfig:
        if self.kind == "arcface_onnx" and self.path is None:
            raise ValueError(f"recogniser '{self.name}': kind arcface_onnx needs a path")
        return self


#: The shipped recognisers by the name the docs and calibration use -> their kind.
SHIPPED_RECOGNIZERS = {"sface": "sface", "reid": "face_reid", "dlib": "dlib"}


def _default_recognizers() -> list[RecognizerConfig]:
    """SFace votes, reid confirms (docs/door-benchmark.md, steps 6-7: on the tuning seed's
    stills the pair, reid at FMR 1e-5, missed 4.5 % of residents where SFace + dlib at 1e-4
    missed 9.0 %, both with 0 false opens in 2,000 strangers, and reid at 1e-5 confirms far
    fewer strangers than dlib at 1e-4). dlib stays available; the door does not load it."""
    return [
        RecognizerConfig(name="sface", kind="sface"),
        RecognizerConfig(name="reid", kind="face_reid"),
    ]


class EnrolQuality(_Strict):
    """What an enrolment photo must reach; the door is only as good as its templates."""

    min_face_px: float = Field(60.0, ge=0, description="shorter side of the face box")
    min_sharpness: float = Field(
        30.0, ge=0, description="variance of the Laplacian of the aligned 112x112 face"
    )
    min_brightness: float = Field(
        35.0, ge=0, le=255, description="mean grey of the face's centre; the door's gate too"
    )
    max_brightness: float = Field(225.0, ge=0, le=255)
    min_frontal: float = Field(
        0.35, ge=0, le=1, description="1 = frontal, 0 = profile (runtime.quality's measure)"
    )


class EngineConfig(_Strict):
    detector: DetectorConfig = DetectorConfig()
    recognizers: list[RecognizerConfig] = Field(default_factory=_default_recognizers)
    model: str = Field("sface", description="the recogniser used when none is named")
    flip: bool = Field(False, description="average each embedding with its mirror image")
    fusion: bool = Field(False, description="decide on the fused score of all recognisers")
    fmr: float = Field(1e-4, gt=0, lt=1, description="target false-match rate per comparison")
    threads: int = Field(0, ge=0, description="CPU threads per model; 0 = all cores")
    precision: Literal["fp32", "int8"] = Field(
        "fp32",
        description="int8: the shipped SFace quantised, prepared once and cached "
        "(docs/performance.md); YuNet and user ONNX recognisers stay fp32",
    )
    int8_calibration: Path | None = Field(
        None, description="folder of face photos to calibrate INT8; default: the demo faces"
    )
    cache_dir: Path | None = Field(None, description="prepared models; default ~/.cache/facegate")
    max_image_pixels: int = Field(40_000_000, gt=0)
    enrol: EnrolQuality = EnrolQuality()

    @field_validator("recognizers")
    @classmethod
    def _unique_names(cls, v: list[RecognizerConfig]) -> list[RecognizerConfig]:
        names = [r.name for r in v]
        if len(set(names)) != len(names):
            raise ValueError(f"recogniser names must be unique, got {names}")
        if not v:
            raise ValueError("at least one recogniser is needed")
        return v

    @model_validator(mode="after")
    def _model_exists(self) -> EngineConfig:
        names = [r.name for r in self.recognizers]
        if self.model not in names:
            raise ValueError(f"model '{self.model}' is not among the recognisers {names}")
        return self

    def with_recognizers(self, names: list[str]) -> EngineConfig:
        """This config plus each shipped recogniser in `names` it does not list yet, by the
        shipped name (`--model dlib`, `--models sface,reid` on the default config)."""
        have = [r.name for r in self.recognizers]
        extra = [
            RecognizerConfig(name=n, kind=SHIPPED_RECOGNIZERS[n])
            for n in dict.fromkeys(names)
            if n not in have and n in SHIPPED_RECOGNIZERS
        ]
        return (
            self.model_copy(update={"recognizers": [*self.recognizers, *extra]}) if extra else self
        )

    def with_model(self, name: str) -> EngineConfig:
        """This config with `name` as the model used when none is named (added to the
        recognisers if it is a shipped one not listed)."""
        cfg = self.with_recognizers([name])
        return cfg.model_validate({**cfg.model_dump(), "model": name})

    def recognizer(self, name: str) -> RecognizerConfig:
        for r in self.recognizers:
            if r.name == name:
                return r
        raise ConfigError(
            f"unknown model '{name}'; configured: {', '.join(r.name for r in self.recognizers)}"
        )

    def thread_count(self) -> int:
        return self.threads or os.cpu_count() or 1
