"""Run a door's `open` on its own thread, so the camera loop never waits for a relay pulse or
a slow webhook, and a failing adapter becomes a journaled event instead of a crash."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from facegate.runtime.doors.base import Door, DoorError
from facegate.runtime.events import Decision, DoorEvent

log = logging.getLogger(__name__)

PULSE_MIN_S = 0.1
PULSE_MAX_S = 30.0


def _check_pulse(pulse_s: float) -> float:
    if not PULSE_MIN_S <= pulse_s <= PULSE_MAX_S:
        raise ValueError(f"pulse_s must be within {PULSE_MIN_S}..{PULSE_MAX_S} s, got {pulse_s}")
    return float(pulse_s)


@dataclass
class _Request:
    event: DoorEvent
    pulse_s: float
    queued_at: float


class DoorActuator:
    """One worker thread per door performs the opens in arrival order.

    A request is coalesced (dropped) when a request with the same `event.reason` is waiting,
    or the door is being pulsed for that reason: a person standing in front of the camera is
    recognised on every frame, and ten queued pulses would keep the door open for 30 s.
    A request that waited longer than `max_wait_s` (the door was stuck on earlier failures)
    is not carried out: opening after the visitor left is worse than not opening.
    """

    def __init__(
        self,
        door: Door,
        *,
        pulse_s: float = 3.0,
        on_error: Callable[[DoorEvent], None] | None = None,
        max_pending: int = 8,
        max_wait_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.door = door
        self.pulse_s = _check_pulse(pulse_s)
        self._on_error = on_error
        self._max_pending = max_pending
        self._max_wait_s = max_wait_s
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: deque[_Request] = deque()
        self._active_reason: str | None = None  # reason of the pulse in flight or last pulse
        self._active_until = 0.0  # the last successful pulse lasts until then
        self._in_flight = False
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"door-{door.name}", daemon=True)
        self._thread.start()

    def request_open(self, event: DoorEvent, pulse_s: float | None = None) -> bool:
        """Queue an open and return at once; False when it was coalesced or refused."""
        pulse = self.pulse_s if pulse_s is None else _check_pulse(pulse_s)
        with self._cond:
            if self._closing:
                log.warning(
                    "door %s is shutting down; open for %r ignored", self.door.name, event.reason
                )
                return False
            if self._active_reason == event.reason and (
                self._in_flight or self._clock() < self._active_until
            ):
                return False
            if any(r.event.reason == event.reason for r in self._pending):
                return False
            if len(self._pending) >= self._max_pending:
                log.warning(
                    "door %s has %d opens waiting; open for %r dropped",
                    self.door.name,
                    len(self._pending),
                    event.reason,
                )
                return False
            self._pending.append(_Request(event, pulse, self._clock()))
            self._cond.notify()
        return True

    @property
    def busy(self) -> bool:
        """True while a request waits or a pulse is being sent."""
        with self._cond:
            return bool(self._pending) or self._in_flight

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                req = self._pending.popleft()
                start = self._clock()
                self._active_reason = req.event.reason
                self._active_until = start + req.pulse_s
                self._in_flight = True
            error: str | None = None
            waited = start - req.queued_at
            if waited > self._max_wait_s:
                error = (
                    f"open for {req.event.reason!r} dropped: it waited {waited:.1f} s "
                    f"for door {self.door.name}"
                )
            else:
                try:
                    self.door.open(req.pulse_s, req.event.reason)
                except DoorError as exc:
                    error = f"door {self.door.name} failed: {exc}"
                except Exception as exc:  # an adapter bug must not kill the worker either
                    log.exception("door %s raised unexpectedly", self.door.name)
                    error = f"door {self.door.name} failed unexpectedly: {exc!r}"
            with self._cond:
                self._in_flight = False
                if error is not None:
                    self._active_until = 0.0  # a failed pulse must not swallow the retry
            if error is not None:
                self._report(req.event, error)

    def _report(self, event: DoorEvent, message: str) -> None:
        log.warning("%s", message)
        if self._on_error is None:
            return
        failure = DoorEvent(
            decision=Decision.DOOR_ERROR,
            entrance=event.entrance,
            reason=message,
            track=event.track,
            person=event.person,
            person_id=event.person_id,
        )
        try:
            self._on_error(failure)
        except Exception:
            log.exception("on_error callback failed for door %s", self.door.name)

    def close(self, timeout: float = 5.0) -> bool:
        """Carry out what is queued, stop the worker, release the door. False when the worker
        did not finish in time (the door is then left alone rather than closed under it)."""
        with self._cond:
            if self._closed:
                return True
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("door %s still busy after %g s; not closed", self.door.name, timeout)
            return False
        self._closed = True
        try:
            self.door.close()
        except Exception:
            log.exception("closing door %s failed", self.door.name)
        return True
