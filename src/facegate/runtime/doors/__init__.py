"""Door adapters: how an "open" decision reaches the lock.

`DoorConfig` is the config section (one adapter per entrance, chosen by `kind`), `build_door`
turns it into a `Door`, and `DoorActuator` runs a door off the camera thread.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from facegate.runtime.doors.actuator import DoorActuator
from facegate.runtime.doors.base import Door, DoorConfigBase, DoorError
from facegate.runtime.doors.gpio import GpioDoor, GpioDoorConfig
from facegate.runtime.doors.log import LogDoor, LogDoorConfig
from facegate.runtime.doors.mqtt import MqttDoor, MqttDoorConfig
from facegate.runtime.doors.serial import SerialDoor, SerialDoorConfig
from facegate.runtime.doors.webhook import WebhookDoor, WebhookDoorConfig

DoorConfig = Annotated[
    LogDoorConfig | WebhookDoorConfig | MqttDoorConfig | GpioDoorConfig | SerialDoorConfig,
    Field(discriminator="kind"),
]


def build_door(cfg: DoorConfig, entrance: str) -> Door:
    """The adapter for one entrance. Nothing is opened or connected yet: hardware and brokers
    are reached on the first `open`, so a missing relay cannot stop the runtime starting."""
    if isinstance(cfg, LogDoorConfig):
        return LogDoor(cfg, entrance)
    if isinstance(cfg, WebhookDoorConfig):
        return WebhookDoor(cfg, entrance)
    if isinstance(cfg, MqttDoorConfig):
        return MqttDoor(cfg, entrance)
    if isinstance(cfg, GpioDoorConfig):
        return GpioDoor(cfg, entrance)
    if isinstance(cfg, SerialDoorConfig):
        return SerialDoor(cfg, entrance)
    raise TypeError(f"not a door config: {type(cfg).__name__}")


__all__ = [
    "Door",
    "DoorActuator",
    "DoorConfig",
    "DoorConfigBase",
    "DoorError",
    "GpioDoor",
    "GpioDoorConfig",
    "LogDoor",
    "LogDoorConfig",
    "MqttDoor",
    "MqttDoorConfig",
    "SerialDoor",
    "SerialDoorConfig",
    "WebhookDoor",
    "WebhookDoorConfig",
    "build_door",
]
