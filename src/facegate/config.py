"""One typed configuration for FaceGate, validated at start-up with clear errors.

Every section has working defaults, so `FaceEngine()` and `facegate identify` need no file.
A YAML/JSON file only overrides what it names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from facegate.errors import ConfigError
from facegate.runtime.access import AccessConfig
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.doors import DoorConfig, LogDoorConfig
from facegate.runtime.journal import JournalConfig
from facegate.runtime.liveness import LivenessConfig
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import SourceConfig
from facegate.schema import StrictModel as _Strict
from facegate.server.settings import ServerConfig


class DetectorConfig(_Strict):
    kind: Literal["yunet"] = "yunet"
    path: Path | None = Field(None, description="a YuNet-layout ONNX file; default: shipped")
    score_threshold: float = Field(0.6, gt=0, lt=1)
    nms_threshold: float = Field(0.3, gt=0, lt=1)
    max_side: int = Field(640, ge=0, description="shrink larger images to this long side; 0=off")


class RecognizerConfig(_Strict):
    """A recogniser. `sface` and `dlib` are shipped; `arcface_onnx` takes a user's file."""

    name: str
    kind: Literal["sface", "dlib", "arcface_onnx"]
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


def _default_recognizers() -> list[RecognizerConfig]:
    return [
        RecognizerConfig(name="sface", kind="sface"),
        RecognizerConfig(name="dlib", kind="dlib"),
    ]


class EnrolQuality(_Strict):
    """What an enrolment photo must reach; the door is only as good as its templates."""

    min_face_px: float = Field(60.0, ge=0, description="shorter side of the face box")
    min_sharpness: float = Field(
        30.0, ge=0, description="variance of the Laplacian of the aligned 112x112 face"
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

    def recognizer(self, name: str) -> RecognizerConfig:
        for r in self.recognizers:
            if r.name == name:
                return r
        raise ConfigError(
            f"unknown model '{name}'; configured: {', '.join(r.name for r in self.recognizers)}"
        )

    def thread_count(self) -> int:
        return self.threads or os.cpu_count() or 1


def default_gallery_path() -> Path:
    """$FACEGATE_DB, else the user's data folder."""
    env = os.environ.get("FACEGATE_DB")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "facegate" / "gallery.sqlite"


class GalleryConfig(_Strict):
    path: Path = Field(default_factory=default_gallery_path)


class RuntimeConfig(_Strict):
    """One entrance: where frames come from, how decisions are made, where they go."""

    entrance: str = Field("main", min_length=1)
    source: SourceConfig | None = None
    door: DoorConfig = Field(default_factory=LogDoorConfig)
    access: AccessConfig = AccessConfig()
    journal: JournalConfig = JournalConfig()
    decision: DecisionConfig = DecisionConfig()
    quality: QualityConfig = QualityConfig()
    liveness: LivenessConfig = LivenessConfig()
    track_max_age_s: float = Field(1.0, gt=0, description="a face unseen this long has left")
    gallery_reload_s: float = Field(5.0, gt=0, description="pick up new enrolments this often")
    retention_every_s: float = Field(3600.0, gt=0)


class FaceGateConfig(_Strict):
    """The whole configuration file."""

    engine: EngineConfig = EngineConfig()
    gallery: GalleryConfig = GalleryConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    server: ServerConfig = Field(default_factory=ServerConfig)


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


def load_config(source: str | os.PathLike[str] | dict[str, Any] | None = None) -> FaceGateConfig:
    """Read and validate a YAML/JSON file or a dict; errors list every bad field by path."""
    if source is None:
        return FaceGateConfig()
    where = "config"
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return FaceGateConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where} is invalid:\n{_format_errors(exc)}") from None
