"""The default door: it only logs, so a fresh install can be tried with no hardware."""

from __future__ import annotations

import logging
from typing import Literal

from facegate.runtime.doors.base import DoorConfigBase

log = logging.getLogger(__name__)


class LogDoorConfig(DoorConfigBase):
    kind: Literal["log"] = "log"


class LogDoor:
    """Writes one INFO line per open; never fails."""

    def __init__(self, cfg: LogDoorConfig, name: str) -> None:
        self.cfg = cfg
        self.name = name

    def open(self, pulse_s: float, reason: str) -> None:
        log.info("door %s opened for %g s: %s", self.name, pulse_s, reason)

    def close(self) -> None:
        """Nothing to release."""
