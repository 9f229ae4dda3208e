"""What every door adapter promises, and the one error they raise.

The runtime only ever talks to a `Door`, so a relay board, a webhook or an MQTT-driven lock
can be swapped in the config without touching the decision code.
"""

from __future__ import annotations

import re
import time
from typing import Any, Protocol, runtime_checkable

from pydantic import Field

from facegate.errors import FaceGateError
from facegate.schema import StrictModel as _Strict


class DoorError(FaceGateError):
    """A door adapter could not open the door; the message says what to check."""

    code = "door_error"


@runtime_checkable
class Door(Protocol):
    """One lock. `open` blocks for as long as the adapter needs (a relay pulse, an HTTP
    round trip); the `DoorActuator` runs it off the camera thread."""

    name: str

    def open(self, pulse_s: float, reason: str) -> None:
        """Energise the lock for `pulse_s` seconds; raise `DoorError` when that failed."""
        ...

    def close(self) -> None:
        """Release connections, lines and ports; the door is not used afterwards."""
        ...


class DoorConfigBase(_Strict):
    """Fields every adapter shares."""

    pulse_s: float = Field(
        3.0, ge=0.1, le=30, description="how long the lock stays energised per open, seconds"
    )


# Placeholders an adapter may use in a template (webhook URL/body, MQTT topic/payload).
TEMPLATE_FIELDS = ("entrance", "reason", "pulse_s", "time")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_template(obj: Any, where: str) -> None:
    """Reject unknown placeholders at config load instead of at the first visitor."""
    if isinstance(obj, str):
        for name in _PLACEHOLDER.findall(obj):
            if name not in TEMPLATE_FIELDS:
                raise ValueError(
                    f"{where}: unknown placeholder {{{name}}}; use one of "
                    + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
                )
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_template(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            check_template(v, f"{where}[{i}]")


def render_template(obj: Any, values: dict[str, Any]) -> Any:
    """Fill `{name}` placeholders in every string of a JSON-like value.

    A string that is exactly one placeholder takes the value with its type (so
    `"{pulse_s}"` becomes the number 3.0 in JSON). Plain substitution rather than
    `str.format`, so a template can neither reach attributes nor trip over literal braces.
    """
    if isinstance(obj, str):
        whole = _PLACEHOLDER.fullmatch(obj)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(
            lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), obj
        )
    if isinstance(obj, dict):
        return {k: render_template(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [render_template(v, values) for v in obj]
    return obj


def template_values(entrance: str, reason: str, pulse_s: float) -> dict[str, Any]:
    """The values a template can name; `time` is the wall clock of the command."""
    return {"entrance": entrance, "reason": reason, "pulse_s": pulse_s, "time": time.time()}
