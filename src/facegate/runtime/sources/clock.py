"""Clocks, and the one rule for which clock a pace runs on.

- "realtime" runs on a `WallClock`: frames are due at their timestamps in real seconds;
- "simulated" runs on a `VirtualClock` the consumer advances by its measured processing time;
- "fast" runs on a `VirtualClock` too: a "fast" replay never waits, but its frames are stamped
  in stream time (index / fps, from 0), so the clock that reads them must be on that time base.
  The runtime moves a virtual clock up to each frame's time; on a wall clock (monotonic
  seconds since boot) `clock.now() - frame.t` would be the machine's uptime, not a latency.

`clock_for(pace)` is that rule; a paced source built without a clock and a runtime built by the
app both take their clock from it, so they cannot disagree.
"""

from __future__ import annotations

import time
from typing import Protocol

from facegate.runtime.sources.base import Pace, SourceError, _check_pace


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, dt: float) -> None: ...


class WallClock:
    """Monotonic seconds: immune to NTP steps, the same clock cameras stamp frames with."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, dt: float) -> None:
        if dt > 0:
            time.sleep(dt)


class VirtualClock:
    """Time that moves only when told: the consumer adds its measured processing time."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)

    def now(self) -> float:
        return self._t

    def advance(self, dt: float) -> None:
        if dt < 0:
            raise ValueError(f"a clock cannot go back (advance by {dt})")
        self._t += dt

    def advance_to(self, t: float) -> None:
        """Move forward to `t`; a time already passed leaves the clock where it is."""
        self._t = max(self._t, float(t))

    def sleep(self, dt: float) -> None:
        self.advance(max(0.0, dt))


def clock_for(pace: Pace) -> Clock:
    """A new clock of the kind `pace` runs on: WallClock for "realtime", else VirtualClock."""
    _check_pace(pace)
    return WallClock() if pace == "realtime" else VirtualClock()


def _default_clock(pace: Pace, clock: Clock | None) -> Clock:
    """The clock a paced source runs on: the caller's (checked against the pace), else
    `clock_for(pace)`."""
    if clock is not None:
        if pace == "simulated" and not hasattr(clock, "advance_to"):
            raise SourceError("pace 'simulated' needs a VirtualClock (something with advance_to)")
        return clock
    return clock_for(pace)
