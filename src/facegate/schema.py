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


#: No FaceGate setting is nested more than a few levels; a file nested deeper than this is
#: refused while it is parsed (PyYAML recurses per level: 1000 levels took 1-2 s to reach
#: RecursionError, 0.4 s to stop here; atheris found the slow one).
MAX_YAML_DEPTH = 50


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader` that stops at `MAX_YAML_DEPTH` levels of nesting."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A YAML (or JSON) file whose top level is a mapping; `ConfigError` says what is wrong."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader) or {}  # a SafeLoader, depth-limited
    except RecursionError:  # the depth limit stops nesting first; kept as the last guard
        raise ConfigError(f"cannot read config {path}: nested too deeply") from None
    except Exception as exc:  # anything PyYAML raises is about the text
        # Beyond YAMLError, PyYAML's constructors let through what Python's own parsers and
        # tables raise on a tagged scalar: ValueError (a date like 2001-02-30, `!!int abc`, a
        # 5000-digit integer), KeyError (`!!bool maybe`), IndexError (`!!int ""`),
        # AttributeError (`!!timestamp ~`); found by tests/fuzz.
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
