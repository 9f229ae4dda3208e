"""Drive a lock relay from a GPIO line through the Linux character device (libgpiod v2).

The pulse is written so that whatever happens during it (an exception, a signal), the line is
driven back to inactive: a lock left energised is an open door.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field

from facegate.runtime.doors.base import DoorConfigBase, DoorError


class GpioDoorConfig(DoorConfigBase):
    kind: Literal["gpio"]
    chip: str = "/dev/gpiochip0"
    line: int = Field(ge=0, description="line offset on the chip (not the header pin number)")
    active_low: bool = Field(False, description="the relay board energises on a low level")


class GpioLine(Protocol):
    """One requested output line; `set_active(True)` energises the lock."""

    def set_active(self, active: bool) -> None: ...

    def release(self) -> None: ...


class _GpiodLine:
    """A `GpioLine` on the real `gpiod` (libgpiod v2) bindings."""

    def __init__(self, cfg: GpioDoorConfig, consumer: str) -> None:
        try:
            import gpiod
            from gpiod.line import Direction, Value
        except ImportError:
            raise DoorError(
                "door kind 'gpio' needs the libgpiod v2 Python bindings: pip install 'gpiod>=2' "
                "(and a kernel with the GPIO character device, /dev/gpiochip*)"
            ) from None
        if not Path(cfg.chip).exists():
            raise DoorError(
                f"GPIO chip {cfg.chip} not found: check the chip path in the config "
                "(ls /dev/gpiochip*, gpiodetect) and that the device is passed into the container"
            )
        self._offset = cfg.line
        self._values = (Value.INACTIVE, Value.ACTIVE)
        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, output_value=Value.INACTIVE, active_low=cfg.active_low
        )
        try:
            self._request = gpiod.request_lines(
                cfg.chip, consumer=consumer, config={cfg.line: settings}
            )
        except PermissionError as exc:
            raise DoorError(
                f"no permission for GPIO chip {cfg.chip}: {exc} (add the user to group 'gpio')"
            ) from None
        except (OSError, ValueError) as exc:
            raise DoorError(f"cannot request line {cfg.line} on {cfg.chip}: {exc}") from None

    def set_active(self, active: bool) -> None:
        self._request.set_value(self._offset, self._values[active])

    def release(self) -> None:
        self._request.release()


class GpioDoor:
    """Requests the line on the first open and holds it (driven inactive) until `close`, so no
    other process can grab the lock's line and the level never floats between pulses."""

    def __init__(
        self,
        cfg: GpioDoorConfig,
        name: str,
        *,
        line_factory: Callable[[GpioDoorConfig, str], GpioLine] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cfg = cfg
        self.name = name
        self._line_factory = line_factory or _GpiodLine
        self._sleep = sleep
        self._line: GpioLine | None = None

    def open(self, pulse_s: float, reason: str) -> None:
        if self._line is None:
            self._line = self._line_factory(self.cfg, f"facegate-{self.name}")
        line = self._line
        where = f"GPIO {self.cfg.chip} line {self.cfg.line}"
        try:
            line.set_active(True)
            self._sleep(pulse_s)
        except OSError as exc:
            raise DoorError(f"{where}: cannot drive the lock: {exc}") from None
        finally:
            try:
                line.set_active(False)
            except OSError as exc:
                raise DoorError(
                    f"{where}: could not switch the lock off, it may still be energised: {exc}"
                ) from None

    def close(self) -> None:
        if self._line is not None:
            try:
                self._line.set_active(False)
            finally:
                self._line.release()
                self._line = None
