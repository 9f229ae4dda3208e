"""Run a door's `open` on its own thread, so the camera loop never waits for a relay pulse or
a slow webhook, and a failing adapter becomes the outcome of its open event (journalled as
`open_failed`) instead of a crash."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from facegate.runtime.doors.base import Door, DoorError
from facegate.runtime.events import DoorEvent

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
    followers: list[DoorEvent] = field(default_factory=list)  # identical opens coalesced onto it


Outcome = dict[str, Any]
OnDone = Callable[[DoorEvent, Outcome], None]


class DoorActuator:
    """One worker thread per door performs the opens in arrival order.

    A request is coalesced (dropped) when a request with the same `event.reason` is waiting,
    or the door is being pulsed for that reason: a person standing in front of the camera is
    recognised on every frame, and ten queued pulses would keep the door open for 30 s.
    A request that waited longer than `max_wait_s` (the door was stuck on earlier failures)
    is not carried out: opening after the visitor left is worse than not opening.

    Every request's outcome goes to `on_done(event, outcome)`, once: `{"actuated": True}`, or
    `{"actuated": False, "error": why}` (adapter failure, dropped as stale, queue full,
    shutting down); a coalesced request gets the outcome of the open it rode on, with
    `"coalesced": True`. The caller puts it on the event (`DoorEvent.settle`), so an open
    whose door failed is journalled as such, not as a green `open`.
    """

    def __init__(
        self,
        door: Door,
        *,
        pulse_s: float = 3.0,
        on_done: OnDone | None = None,
        max_pending: int = 8,
        max_wait_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.door = door
        self.pulse_s = _check_pulse(pulse_s)
        self._on_done = on_done
        self._max_pending = max_pending
        self._max_wait_s = max_wait_s
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: deque[_Request] = deque()
        self._active: _Request | None = None  # the request being carried out
        self._active_reason: str | None = None  # reason of the pulse in flight or last pulse
        self._active_until = 0.0  # the last successful pulse lasts until then
        self._in_flight = False
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"door-{door.name}", daemon=True)
        self._thread.start()

    def request_open(self, event: DoorEvent, pulse_s: float | None = None) -> bool:
        """Queue an open and return at once; False when it was coalesced or refused (its
        outcome still reaches `on_done`)."""
        pulse = self.pulse_s if pulse_s is None else _check_pulse(pulse_s)
        done: Outcome | None = None
        with self._cond:
            waiting = next((r for r in self._pending if r.event.reason == event.reason), None)
            if self._closing:
                log.warning(
                    "door %s is shutting down; open for %r ignored", self.door.name, event.reason
                )
                done = {"actuated": False, "error": f"door {self.door.name} is shutting down"}
            elif self._active_reason == event.reason and self._in_flight:
                assert self._active is not None
                self._active.followers.append(event)
                return False
            elif self._active_reason == event.reason and self._clock() < self._active_until:
                done = {"actuated": True, "coalesced": True}  # the lock is still energised
            elif waiting is not None:
                waiting.followers.append(event)
                return False
            elif len(self._pending) >= self._max_pending:
                log.warning(
                    "door %s has %d opens waiting; open for %r dropped",
                    self.door.name,
                    len(self._pending),
                    event.reason,
                )
                done = {
                    "actuated": False,
                    "error": f"dropped: {len(self._pending)} opens waiting for door "
                    f"{self.door.name}",
                }
            else:
                self._pending.append(_Request(event, pulse, self._clock()))
                self._cond.notify()
                return True
        self._done(event, done)
        return False

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
                self._active = req
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
                self._active = None
                if error is not None:
                    self._active_until = 0.0  # a failed pulse must not swallow the retry
                followers = list(req.followers)
            if error is not None:
                log.warning("%s", error)
            outcome: Outcome = {"actuated": True} if error is None else {"actuated": False}
            if error is not None:
                outcome["error"] = error
            self._done(req.event, outcome)
            for event in followers:
                self._done(event, {**outcome, "coalesced": True})

    def _done(self, event: DoorEvent, outcome: Outcome) -> None:
        if self._on_done is None:
            return
        try:
            self._on_done(event, outcome)
        except Exception:
            log.exception("on_done callback failed for door %s", self.door.name)

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
