"""Fixtures for the facegate-bench tests: the product tests' real faces (tests/conftest.py, found
here by name) and the shared data and reference models where `facegate_bench.data` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from facegate_bench.data import models_root
from tests.conftest import (  # noqa: F401 - fixtures are looked up by name in this module
    astronaut,
    cache_dir,
    engine,
    hopper,
    hopper_path,
    hopper_reshot,
    require_data,
    two_people,
    write_image,
)

__all__ = ["require_data", "require_pad_model", "write_image"]


def require_pad_model() -> Path:
    """The MiniFASNet pair under `$FACEGATE_MODELS` or ../shared/models (not shipped)."""
    path = models_root() / "minifasnet"
    if not path.is_dir():
        pytest.skip(f"PAD reference model {path} is absent (set FACEGATE_MODELS)")
    return path
