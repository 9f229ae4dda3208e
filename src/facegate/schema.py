"""The base of every configuration section, and the one way a file becomes a section.

Kept apart from `config.py` so a part can define its own section next to its code
(`models/config.py`, `runtime/config.py`, `runtime/liveness/config.py`, ...) and
`config.py` can assemble them into the one `FaceGateConfig` without an import cycle.
Unknown keys are errors, not silently ignored: a misspelt threshold must not fall back to
a default at a door.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from facegate.errors import ConfigError


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


M = TypeVar("M", bound=BaseModel)


def no_control_chars(value: str, what: str = "the value") -> str:
    """Refuse CR, LF, NUL and every other control character in a URL, host or header:
    a CR/LF in an RTSP or HTTP URL becomes an extra request line or header on the wire
    (request smuggling), whatever the address looked like when it was saved."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise ValueError(f"{what} must not contain control characters (CR, LF, tab, NUL, ...)")
    return value


def read_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A YAML (or JSON) file whose top level is a mapping; `ConfigError` says what is wrong."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def validate(model: type[M], data: dict[str, Any], where: str = "config") -> M:
    """Validate `data` as `model`; the error lists every bad field by its dotted path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
            lines.append(f"  {loc}: {e['msg']}")
        raise ConfigError(f"{where} is invalid:\n" + "\n".join(lines)) from None
