"""Drive a USB/serial relay board (the common LCUS/CH340 boards take 4-byte commands such as
A0 01 01 A2 = relay 1 on, A0 01 00 A1 = relay 1 off). The "off" command is always sent after
a pulse, whatever happened during it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, field_validator

from facegate.runtime.doors.base import DoorConfigBase, DoorError


class SerialDoorConfig(DoorConfigBase):
    kind: Literal["serial"]
    port: str = Field(description="e.g. /dev/ttyUSB0, or /dev/serial/by-id/... (stable names)")
    baudrate: int = Field(9600, gt=0)
    on_bytes: str = Field("A00101A2", description="hex, spaces allowed")
    off_bytes: str = Field("A00100A1", description="hex, spaces allowed")
    timeout_s: float = Field(1.0, gt=0, le=30, description="write timeout")

    @field_validator("on_bytes", "off_bytes")
    @classmethod
    def _hex(cls, v: str) -> str:
        try:
            data = bytes.fromhex(v)
        except ValueError:
            raise ValueError(f"not a hex byte string: {v!r} (e.g. 'A00101A2')") from None
        if not data:
            raise ValueError("must not be empty")
        return v


def _open_pyserial(cfg: SerialDoorConfig) -> Any:
    try:
        import serial
    except ImportError:
        raise DoorError(
            "door kind 'serial' needs the pyserial package: pip install 'pyserial>=3.5'"
        ) from None
    try:
        return serial.Serial(
            cfg.port, cfg.baudrate, timeout=cfg.timeout_s, write_timeout=cfg.timeout_s
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise DoorError(
            f"serial port {cfg.port} cannot be opened: {exc} "
            "(is the relay board plugged in, and is the user in group 'dialout'?)"
        ) from None


class SerialDoor:
    """Keeps the port open between pulses; a write error closes it, and the next open
    reopens it, so unplugging and replugging the board heals without a restart."""

    def __init__(
        self,
        cfg: SerialDoorConfig,
        name: str,
        *,
        port_factory: Callable[[SerialDoorConfig], Any] = _open_pyserial,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cfg = cfg
        self.name = name
        self._on = bytes.fromhex(cfg.on_bytes)
        self._off = bytes.fromhex(cfg.off_bytes)
        self._port_factory = port_factory
        self._sleep = sleep
        self._port: Any = None

    def _send(self, data: bytes) -> None:
        self._port.write(data)
        self._port.flush()

    def open(self, pulse_s: float, reason: str) -> None:
        if self._port is None:
            self._port = self._port_factory(self.cfg)
        try:
            try:
                self._send(self._on)
                self._sleep(pulse_s)
            finally:
                self._send(self._off)
        except (OSError, ValueError) as exc:
            # pyserial's SerialException and SerialTimeoutException are OSErrors.
            self._discard()
            raise DoorError(f"serial relay on {self.cfg.port} failed: {exc}") from None

    def _discard(self) -> None:
        port, self._port = self._port, None
        with contextlib.suppress(OSError, ValueError):
            port.close()

    def close(self) -> None:
        if self._port is not None:
            self._discard()
