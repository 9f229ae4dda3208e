"""Live cameras: a device index, /dev/video*, or a network stream, kept alive forever.

Newest frame only, reconnect with backoff, outages reported once. Frames are stamped with
`time.monotonic()` at grab, the clock `WallClock` reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from facegate.masking import mask_url
from facegate.runtime.sources.base import URL_SCHEMES, Frame

log = logging.getLogger(__name__)


class Capture(Protocol):
    """The part of cv2.VideoCapture a camera needs; tests inject failing ones."""

    def isOpened(self) -> bool: ...  # OpenCV's spelling

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


StatusCallback = Callable[[str, str], None]


def redact(uri: str) -> str:
    """rtsp://user:secret@host/x?token=t -> rtsp://user:***@host/x?token=***: names end up in
    logs, journals and status pages (`facegate.masking.mask_url`, the API's own masking)."""
    return mask_url(uri)


def default_capture_factory(uri: str | int, timeout_s: float = 5.0) -> Capture:
    """cv2.VideoCapture; network streams get open/read timeouts so a dead camera errors out
    instead of blocking the grabber forever."""
    if isinstance(uri, str) and uri.startswith(URL_SCHEMES):
        ms = int(timeout_s * 1000)
        cap = cv2.VideoCapture(
            uri,
            cv2.CAP_FFMPEG,
            [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms],
        )
    else:
        cap = cv2.VideoCapture(uri)
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # where the backend honours it: less stale frames
    return cap


@dataclass
class _Attempt:
    generation: int
    frames: int = 0
    failure: str | None = None


class CameraSource:
    """A live camera kept alive forever: newest frame only, reconnect with backoff.

    A grabber thread reads continuously and keeps only the newest frame, so latency never
    builds up. A supervisor thread watches it: when opening fails, a read fails, or no frame
    arrives for `stall_timeout_s` (a hung read is abandoned, not waited for), it reports
    "lost", waits `reconnect_min_s` doubling up to `reconnect_max_s` (reset after a success),
    and tries again. The first frame after an outage reports "restored".
    """

    def __init__(
        self,
        uri: str | int,
        *,
        stall_timeout_s: float = 5.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        on_status: StatusCallback | Iterable[StatusCallback] | None = None,
        capture_factory: Callable[[str | int], Capture] | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(uri, str) and uri.strip().isdigit():
            uri = int(uri.strip())
        self.uri = uri
        self.name = name or (f"camera {uri}" if isinstance(uri, int) else redact(uri))
        self.stall_timeout_s = float(stall_timeout_s)
        self.reconnect_min_s = float(reconnect_min_s)
        self.reconnect_max_s = max(float(reconnect_max_s), self.reconnect_min_s)
        if on_status is None:
            self._callbacks: list[StatusCallback] = []
        elif callable(on_status):
            self._callbacks = [on_status]
        else:
            self._callbacks = list(on_status)
        self._factory = capture_factory or (
            lambda u: default_capture_factory(u, timeout_s=self.stall_timeout_s)
        )
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latest: Frame | None = None
        self._returned = -1  # index of the last frame read() handed out
        self._index = 0  # frames grabbed so far, across reconnects
        self._generation = 0
        self._progress_t = time.monotonic()  # last open attempt or frame: the stall watch
        self._lost = False
        self.connects = 0  # successful (re)connections, for tests and status pages
        self.attempt_times: deque[float] = deque(maxlen=64)  # monotonic, recent open attempts
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"facegate-camera[{self.name}]", daemon=True
        )
        self._supervisor.start()

    # -- consumer side ----------------------------------------------------------------------

    def add_status_callback(self, callback: StatusCallback) -> None:
        self._callbacks.append(callback)

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def read(self, timeout: float | None = None) -> Frame | None:
        """Block until a frame newer than the last one returned; None once closed.

        With a timeout, raises TimeoutError when nothing new arrives in time (a camera has
        no end of stream, so None keeps meaning "closed")."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._stop.is_set():
                    return None
                frame = self._latest
                if frame is not None and frame.index > self._returned:
                    self._returned = frame.index
                    return frame
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"{self.name}: no new frame within {timeout} s")
                self._cond.wait(remaining if remaining is not None else 1.0)

    def close(self) -> None:
        """Stop the threads; a grabber stuck in a driver call is left to die as a daemon."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if threading.current_thread() is not self._supervisor:
            self._supervisor.join(timeout=2.0)

    def __enter__(self) -> CameraSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- threads ----------------------------------------------------------------------------

    def _status(self, kind: str, detail: str) -> None:
        if kind == "lost":
            log.warning("%s lost: %s", self.name, detail)
        else:
            log.info("%s restored: %s", self.name, detail)
        for cb in list(self._callbacks):
            try:
                cb(kind, detail)
            except Exception:  # a broken listener must not kill the camera
                log.exception("camera status callback %r failed", cb)

    def _supervise(self) -> None:
        delay = self.reconnect_min_s
        while not self._stop.is_set():
            with self._cond:
                self._generation += 1
                attempt = _Attempt(self._generation)
                self._progress_t = time.monotonic()
            self.attempt_times.append(self._progress_t)
            worker = threading.Thread(
                target=self._grab,
                args=(attempt,),
                name=f"facegate-grab[{self.name}]",
                daemon=True,
            )
            worker.start()
            detail = self._watch(worker, attempt)
            if self._stop.is_set():
                break
            if attempt.frames:
                delay = self.reconnect_min_s  # it worked for a while: start the backoff afresh
            with self._cond:
                report = not self._lost
                self._lost = True
            if report:
                self._status("lost", detail)
            else:
                log.debug("%s: reconnect failed: %s (next try in %.1f s)", self.name, detail, delay)
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.reconnect_max_s)
        with self._cond:
            self._generation += 1  # tells a still-running grabber to let go
            self._cond.notify_all()

    def _watch(self, worker: threading.Thread, attempt: _Attempt) -> str:
        """Wait until the grabber fails or stalls; returns why."""
        while not self._stop.is_set():
            worker.join(timeout=min(0.1, self.stall_timeout_s / 4))
            if not worker.is_alive():
                return attempt.failure or "stream ended"
            with self._cond:
                idle = time.monotonic() - self._progress_t
                if idle > self.stall_timeout_s:
                    self._generation += 1  # abandon the hung grabber; it exits when it wakes
                    what = "frame" if attempt.frames else "connection"
                    return f"no {what} for {idle:.1f} s"
        return "closed"

    def _current(self, attempt: _Attempt) -> bool:
        return attempt.generation == self._generation and not self._stop.is_set()

    def _grab(self, attempt: _Attempt) -> None:
        try:
            cap = self._factory(self.uri)
        except Exception as exc:  # drivers raise anything; the door must keep trying
            attempt.failure = f"cannot open {self.name}: {exc}"
            return
        try:
            if not cap.isOpened():
                attempt.failure = f"cannot open {self.name}"
                return
            while self._current(attempt):
                ok, image = cap.read()
                t = time.monotonic()
                if not self._current(attempt):
                    return
                if not ok or image is None:
                    attempt.failure = f"read from {self.name} failed"
                    return
                restored = False
                with self._cond:
                    if not self._current(attempt):
                        return
                    self._latest = Frame(image, t, self._index)
                    self._index += 1
                    self._progress_t = t
                    if attempt.frames == 0:
                        self.connects += 1
                        restored, self._lost = self._lost, False
                    attempt.frames += 1
                    self._cond.notify_all()
                if restored:
                    self._status("restored", f"{self.name} delivering frames again")
        except Exception as exc:
            attempt.failure = f"{self.name} failed: {exc}"
        finally:
            try:
                cap.release()
            except Exception:
                log.debug("%s: release failed", self.name, exc_info=True)


def is_camera_spec(spec: str) -> bool:
    s = spec.strip()
    return s.isdigit() or s.startswith("/dev/video") or s.lower().startswith(URL_SCHEMES)
