"""One typed configuration for FaceGate, validated at start-up with clear errors.

Every section has working defaults, so `FaceEngine()` and `facegate identify` need no file.
A YAML/JSON file only overrides what it names.

This module only assembles sections; each section lives with its part (`models/config.py`
for the engine, `runtime/config.py` for an entrance, `server/settings.py` for the server),
and nothing in FaceGate below the CLI and the server imports this module. That keeps the
import graph one-way: code imports config, never the reverse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field

from facegate.models.config import (
    DetectorConfig,
    EngineConfig,
    EnrolQuality,
    RecognizerConfig,
)
from facegate.runtime.config import RuntimeConfig
from facegate.schema import StrictModel, read_mapping, validate
from facegate.server.settings import ServerConfig

__all__ = [
    "DetectorConfig",
    "EngineConfig",
    "EnrolQuality",
    "FaceGateConfig",
    "GalleryConfig",
    "RecognizerConfig",
    "RuntimeConfig",
    "ServerConfig",
    "default_gallery_path",
    "load_config",
]


def default_gallery_path() -> Path:
    """$FACEGATE_DB, else the user's data folder."""
    env = os.environ.get("FACEGATE_DB")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "facegate" / "gallery.sqlite"


class GalleryConfig(StrictModel):
    path: Path = Field(default_factory=default_gallery_path)


class FaceGateConfig(StrictModel):
    """The whole configuration file."""

    engine: EngineConfig = EngineConfig()
    gallery: GalleryConfig = GalleryConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    server: ServerConfig = Field(default_factory=ServerConfig)


def load_config(source: str | os.PathLike[str] | dict[str, Any] | None = None) -> FaceGateConfig:
    """Read and validate a YAML/JSON file or a dict; errors list every bad field by path."""
    if source is None:
        return FaceGateConfig()
    if isinstance(source, dict):
        return validate(FaceGateConfig, source)
    return validate(FaceGateConfig, read_mapping(source), str(source))
