"""The entrance form's door settings as fields, one set per door adapter, generated from the
adapters' own pydantic models (`facegate.runtime.doors.DoorConfig`), instead of a JSON box.

What a field is (a number, a tick box, a choice, a secret) comes from the model: its type,
its default, whether it is required, and its `facegate.masking` marker. A `Secret("value")`
is a password box that never shows the stored value (left empty, the stored one is kept,
as `masking.restore` does for a value left out); a URL with a password shows it as `***`,
which the form sends back and `masking.restore` puts back; a mapping (headers, templates)
is a small JSON box whose credential-like values read `***`. The words (label, hint) come
from `WORDS`, in the UI's catalogue: an adapter field without words fails a test, so a
new adapter or field is never shown with its Python name.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from facegate.masking import MASK, Secret
from facegate.runtime.doors import DoorConfig
from facegate.server.operations.event_text import N_

Widget = Literal["text", "number", "checkbox", "select", "password", "json"]

# label and hint of every adapter field (name -> words), shared by adapters that share a name
WORDS: dict[str, tuple[str, str]] = {
    "pulse_s": (N_("Pulse length (seconds)"), N_("how long the lock stays open per opening")),
    "url": (
        N_("Address (URL)"),
        N_("http(s) address the door's controller answers; may contain {entrance} {reason}"),
    ),
    "method": (N_("HTTP method"), ""),
    "headers": (N_("HTTP headers (JSON)"), N_('e.g. {"Authorization": "Bearer ..."}')),
    "body": (N_("Request body (JSON)"), N_("not sent with GET")),
    "timeout_s": (N_("Timeout (seconds)"), ""),
    "host": (N_("Broker host"), N_("the MQTT broker's name or address")),
    "port": (N_("Port"), ""),
    "topic": (N_("Topic"), N_("may contain {entrance}")),
    "payload": (N_("Message (JSON)"), ""),
    "qos": (N_("Delivery guarantee (QoS)"), N_("1: at least once")),
    "username": (N_("User name"), ""),
    "password": (N_("Password"), ""),
    "keepalive_s": (N_("Keep-alive (seconds)"), ""),
    "chip": (N_("GPIO chip"), N_("e.g. /dev/gpiochip0")),
    "line": (N_("GPIO line"), N_("the line's offset on the chip, not the header pin number")),
    "active_low": (N_("Relay energises on a low level"), ""),
    "baudrate": (N_("Speed (baud)"), ""),
    "on_bytes": (N_("Bytes that switch the relay on (hex)"), ""),
    "off_bytes": (N_("Bytes that switch it off (hex)"), ""),
}
KIND_WORDS = {
    "log": N_("None: only log the opening (for trying FaceGate out)"),
    "webhook": N_("Web request (HTTP) to the door controller"),
    "mqtt": N_("MQTT message"),
    "gpio": N_("Relay on a GPIO pin of this computer"),
    "serial": N_("USB/serial relay board"),
}


@dataclass(frozen=True)
class DoorField:
    kind: str  # the adapter
    name: str  # the adapter model's field
    widget: Widget
    label: str
    hint: str
    required: bool
    default: Any
    options: tuple[str, ...] = ()
    step: str = "any"
    secret: str | None = None  # masking kind

    @property
    def key(self) -> str:
        """The form's field name."""
        return f"door_{self.kind}_{self.name}"

    def shown(self, value: Any) -> Any:
        """A stored (masked) value as the form shows it."""
        if self.widget == "checkbox":
            return bool(value)
        if self.widget == "password" or value is None:
            return ""
        if self.widget == "json":
            return json.dumps(value, ensure_ascii=False)
        return str(value)


def _plain(annotation: Any) -> Any:
    """`X | None` -> X."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _field(kind: str, name: str, info: Any) -> DoorField:
    secret = next((m.kind for m in info.metadata if isinstance(m, Secret)), None)
    t = _plain(info.annotation)
    options: tuple[str, ...] = ()
    step = "any"
    if secret == "value":
        widget: Widget = "password"
    elif t is bool:
        widget = "checkbox"
    elif get_origin(t) is Literal:
        widget, options = "select", tuple(str(a) for a in get_args(t))
    elif t in (int, float):
        widget, step = "number", "1" if t is int else "any"
    elif t is dict or get_origin(t) is dict:
        widget = "json"
    else:
        widget = "text"
    label, hint = WORDS.get(name, (name, ""))
    if info.default is not PydanticUndefined:
        default = info.default
    elif info.default_factory is not None:
        default = info.default_factory()
    else:
        default = None
    return DoorField(
        kind, name, widget, label, hint, info.is_required(), default, options, step, secret
    )


def _adapters() -> dict[str, type[BaseModel]]:
    union = get_args(DoorConfig)[0]
    return {get_args(m.model_fields["kind"].annotation)[0]: m for m in get_args(union)}


ADAPTERS = _adapters()
DOOR_KINDS = tuple(ADAPTERS)
DOOR_FIELDS: dict[str, list[DoorField]] = {
    kind: [_field(kind, n, info) for n, info in model.model_fields.items() if n != "kind"]
    for kind, model in ADAPTERS.items()
}
ALL_FIELDS = [f for fields in DOOR_FIELDS.values() for f in fields]


def form_values(door: dict) -> dict[str, Any]:
    """Every adapter's fields for the form: the stored door's (masked) values for its own
    kind, every other adapter's defaults."""
    out = {}
    for f in ALL_FIELDS:
        value = door.get(f.name, f.default) if door.get("kind") == f.kind else f.default
        out[f.key] = f.shown(value)
    return out


def door_of(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The door settings the form's fields of `kind` make, and (label, problem) for each
    field that cannot be read. Empty fields are left out: the adapter's default applies, or
    for a password, the stored one is kept."""
    door: dict[str, Any] = {"kind": kind}
    problems: list[tuple[str, str]] = []
    for f in DOOR_FIELDS.get(kind, []):
        value = values.get(f.key)
        if f.widget == "checkbox":
            door[f.name] = bool(value)
            continue
        text = str(value if value is not None else "").strip()
        if not text:
            continue
        if f.widget == "json":
            try:
                door[f.name] = json.loads(text)
            except ValueError:
                problems.append((f.label, N_('not valid JSON, such as {"key": "value"}')))
            continue
        if f.widget == "select" and f.options and all(o.isdigit() for o in f.options):
            door[f.name] = int(text) if text.isdigit() else text
            continue
        door[f.name] = MASK if text == MASK else text
    return door, problems
