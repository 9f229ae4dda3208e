"""Where frames come from: a live camera, or a file/folder replayed like one.

A door acts on what is in front of it *now*, so every source hands out the newest frame not
yet returned and drops what the consumer was too slow for, instead of queueing latency.
Files and folders replay at one of three paces:

- "fast": every frame in order, as fast as the consumer reads (accuracy runs);
- "realtime": frames due at their timestamps on a wall clock; late ones are skipped;
- "simulated": like realtime, but on a `VirtualClock` the consumer advances by its measured
  processing time, so a benchmark behaves like a live camera, deterministically, without waiting.

Frame times are on the source's clock: for paced replay, stream time (index / fps) plus the
clock reading at the first read (so `clock.now() - frame.t` is the latency for every source);
for "fast", plain stream time; for cameras, `time.monotonic()` at grab.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np
from PIL import Image, ImageSequence
from pydantic import Field

from facegate.errors import FaceGateError
from facegate.schema import StrictModel as _Strict

log = logging.getLogger(__name__)

Pace = Literal["realtime", "fast", "simulated"]
PACES: tuple[str, ...] = ("realtime", "fast", "simulated")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")
_EPS = 1e-6  # a frame due exactly now must not be missed to float rounding


class SourceError(FaceGateError):
    """A frame source cannot be opened or used (missing file, no decoder, bad spec)."""

    code = "source_error"


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8
    t: float  # capture time in seconds on the source's clock
    index: int  # frame number in the stream


@runtime_checkable
class Source(Protocol):
    name: str

    def read(self) -> Frame | None:
        """The newest frame not yet returned; None at the end of the stream (or when closed)."""
        ...

    def close(self) -> None: ...


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


def _check_pace(pace: str) -> None:
    if pace not in PACES:
        raise SourceError(f"pace must be one of {', '.join(PACES)}, got '{pace}'")


def _default_clock(pace: str, clock: Clock | None) -> Clock:
    if clock is not None:
        if pace == "simulated" and not hasattr(clock, "advance_to"):
            raise SourceError("pace 'simulated' needs a VirtualClock (something with advance_to)")
        return clock
    return VirtualClock() if pace == "simulated" else WallClock()


class _FrameReader(Protocol):
    """Sequential access to a stream's frames, one at a time."""

    def skip(self) -> bool:
        """Step over the next frame cheaply; False at the end."""
        ...

    def next(self) -> np.ndarray | None:
        """Decode the next frame; None if it is unreadable. Raises EOFError at the end."""
        ...

    def close(self) -> None: ...


class _PacedSource:
    """Newest-frame semantics over a sequential reader, for every pace."""

    name: str

    def __init__(self, reader: _FrameReader, fps: float, pace: Pace, clock: Clock | None) -> None:
        _check_pace(pace)
        if not fps > 0 or not math.isfinite(fps):
            raise SourceError(f"{self.name}: frame rate must be positive, got {fps}")
        self._reader = reader
        self.fps = float(fps)
        self.pace: Pace = pace
        self.clock = _default_clock(pace, clock)
        self._pos = 0  # index of the next frame the reader would produce
        self._anchor: float | None = None  # clock reading that stream time 0 maps to
        self._closed = False
        self.skipped = 0  # frames dropped because the consumer was slower than the stream

    def _due_index(self) -> int:
        """Index of the frame to return next; waits (or advances the clock) when none is due."""
        if self.pace == "fast":
            return self._pos
        now = self.clock.now()
        if self._anchor is None:
            self._anchor = now
        due = math.floor((now - self._anchor) * self.fps + _EPS)
        if due >= self._pos:
            return due
        next_t = self._anchor + self._pos / self.fps
        if self.pace == "simulated":
            self.clock.advance_to(next_t)  # type: ignore[attr-defined]
        else:
            self.clock.sleep(next_t - now)
        return self._pos

    def read(self) -> Frame | None:
        while not self._closed:
            target = self._due_index()
            while self._pos < target:
                if not self._reader.skip():
                    return None
                self._pos += 1
                self.skipped += 1
            try:
                image = self._reader.next()
            except EOFError:
                return None
            index = self._pos
            self._pos += 1
            if image is None:  # unreadable frame: like a camera dropping one
                continue
            anchor = 0.0 if self._anchor is None else self._anchor
            return Frame(image, anchor + index / self.fps, index)
        return None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._reader.close()

    def __enter__(self) -> _PacedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame


# -- video files ---------------------------------------------------------------------------


class _CvReader:
    def __init__(self, cap: cv2.VideoCapture, first: np.ndarray) -> None:
        self._cap = cap
        self._first: np.ndarray | None = first  # read at open to prove the file decodes

    def skip(self) -> bool:
        if self._first is not None:
            self._first = None
            return True
        return bool(self._cap.grab())

    def next(self) -> np.ndarray | None:
        if self._first is not None:
            img, self._first = self._first, None
            return img
        ok, img = self._cap.read()
        if not ok or img is None:
            raise EOFError
        return img

    def close(self) -> None:
        self._cap.release()


class _PilGifReader:
    """Animated GIFs through Pillow, for OpenCV builds whose FFmpeg lacks the GIF demuxer."""

    def __init__(self, path: Path) -> None:
        self._img = Image.open(path)
        self._frames: Iterator[Image.Image] = ImageSequence.Iterator(self._img)

    def fps(self) -> float:
        durations = []
        for frame in ImageSequence.Iterator(self._img):
            durations.append(frame.info.get("duration") or 100)
        self._img.seek(0)
        self._frames = ImageSequence.Iterator(self._img)
        return 1000.0 / (sum(durations) / len(durations)) if durations else 10.0

    def skip(self) -> bool:
        try:
            return next(self._frames, None) is not None
        except OSError:  # truncated file: the stream ends where the data does
            return False

    def next(self) -> np.ndarray | None:
        try:
            frame = next(self._frames, None)
            if frame is None:
                raise EOFError
            return cv2.cvtColor(np.asarray(frame.convert("RGB")), cv2.COLOR_RGB2BGR)
        except OSError:
            raise EOFError from None

    def close(self) -> None:
        self._img.close()


class VideoFileSource(_PacedSource):
    """A clip replayed as a camera; frame i is stamped i / fps (plus the pace's anchor)."""

    def __init__(
        self,
        path: str | Path,
        pace: Pace = "realtime",
        clock: Clock | None = None,
        *,
        fps: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = self.path.name
        if not self.path.exists():
            raise SourceError(f"video file not found: {self.path}")
        if not self.path.is_file():
            raise SourceError(f"{self.path} is not a video file")
        reader, file_fps = self._open()
        if fps is None:
            fps = file_fps
            if not (fps > 0 and math.isfinite(fps)):
                log.warning("%s: the file gives no frame rate; assuming 25 fps", self.path)
                fps = 25.0
        super().__init__(reader, fps, pace, clock)

    def _open(self) -> tuple[_FrameReader, float]:
        cap = cv2.VideoCapture(str(self.path))
        if cap.isOpened():
            ok, first = cap.read()
            if ok and first is not None:
                return _CvReader(cap, first), float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        cap.release()
        if self.path.suffix.lower() == ".gif":
            try:
                gif = _PilGifReader(self.path)
                return gif, gif.fps()
            except (OSError, ValueError) as exc:
                raise SourceError(f"cannot decode GIF {self.path}: {exc}") from None
        raise SourceError(
            f"cannot read video {self.path}: not a video, damaged, or a codec this OpenCV "
            "build lacks"
        )


# -- image folders -------------------------------------------------------------------------


def _natural_key(path: Path) -> list[int | str]:
    """frame2 before frame10: numbered frames are rarely zero-padded."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", path.name)]


class _FileListReader:
    def __init__(self, files: list[Path]) -> None:
        self._files = files
        self._i = 0

    def skip(self) -> bool:
        if self._i >= len(self._files):
            return False
        self._i += 1
        return True

    def next(self) -> np.ndarray | None:
        if self._i >= len(self._files):
            raise EOFError
        path = self._files[self._i]
        self._i += 1
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            log.warning("skipping unreadable image %s", path)
        return image

    def close(self) -> None:
        self._i = len(self._files)


class ImageFolderSource(_PacedSource):
    """Sorted still images (jpg/png/bmp/webp) as the frames of a stream at `fps`."""

    def __init__(
        self,
        path: str | Path,
        fps: float = 10.0,
        pace: Pace = "realtime",
        clock: Clock | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = self.path.name or str(self.path)
        if not self.path.is_dir():
            raise SourceError(f"image folder not found: {self.path}")
        self.files = sorted(
            (p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=_natural_key,
        )
        if not self.files:
            raise SourceError(
                f"no images in {self.path} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        super().__init__(_FileListReader(self.files), fps, pace, clock)


class _ArrayListReader:
    def __init__(self, frames: Sequence[np.ndarray]) -> None:
        self._frames = frames
        self._i = 0

    def skip(self) -> bool:
        if self._i >= len(self._frames):
            return False
        self._i += 1
        return True

    def next(self) -> np.ndarray | None:
        if self._i >= len(self._frames):
            raise EOFError
        self._i += 1
        return self._frames[self._i - 1]

    def close(self) -> None:
        self._i = len(self._frames)


class FrameListSource(_PacedSource):
    """Frames already in memory (rendered benchmark visits, tests), with the same pacing."""

    def __init__(
        self,
        frames: Sequence[np.ndarray],
        fps: float,
        pace: Pace = "simulated",
        clock: Clock | None = None,
        name: str = "frames",
    ) -> None:
        self.name = name
        if not frames:
            raise SourceError(f"{name}: no frames")
        super().__init__(_ArrayListReader(frames), fps, pace, clock)


# -- live cameras --------------------------------------------------------------------------


class Capture(Protocol):
    """The part of cv2.VideoCapture a camera needs; tests inject failing ones."""

    def isOpened(self) -> bool: ...  # OpenCV's spelling

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


StatusCallback = Callable[[str, str], None]


def redact(uri: str) -> str:
    """rtsp://user:secret@host -> rtsp://user:***@host: names end up in logs and journals."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


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


# -- choosing a source -----------------------------------------------------------------------


class SourceConfig(_Strict):
    uri: str = Field(description="camera index, /dev/video*, rtsp/http URL, video file or folder")
    pace: Pace = Field("realtime", description="replay pace of files and folders")
    fps: float = Field(10, gt=0, description="frame rate of an image folder")
    reconnect_max_s: float = Field(30, gt=0, description="longest wait between camera retries")
    stall_timeout_s: float = Field(5, gt=0, description="no frame for this long = camera lost")


def is_camera_spec(spec: str) -> bool:
    s = spec.strip()
    return s.isdigit() or s.startswith("/dev/video") or s.lower().startswith(URL_SCHEMES)


def open_source(
    spec: str | int,
    pace: Pace = "realtime",
    clock: Clock | None = None,
    *,
    fps: float = 10.0,
    stall_timeout_s: float = 5.0,
    reconnect_max_s: float = 30.0,
    on_status: StatusCallback | Iterable[StatusCallback] | None = None,
    capture_factory: Callable[[str | int], Capture] | None = None,
) -> Source:
    """Pick the source for a user's spec: folder, file, or camera (index, device, URL)."""
    _check_pace(pace)
    text = str(spec).strip()
    if not text:
        raise SourceError("no source given (a camera index, device, URL, video file or folder)")
    if is_camera_spec(text):
        return CameraSource(
            text,
            stall_timeout_s=stall_timeout_s,
            reconnect_max_s=reconnect_max_s,
            on_status=on_status,
            capture_factory=capture_factory,
        )
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, fps=fps, pace=pace, clock=clock)
    if path.is_file():
        return VideoFileSource(path, pace=pace, clock=clock)
    raise SourceError(f"no such file, folder or camera: {text}")


def source_from_config(
    config: SourceConfig,
    clock: Clock | None = None,
    on_status: StatusCallback | Iterable[StatusCallback] | None = None,
) -> Source:
    return open_source(
        config.uri,
        config.pace,
        clock,
        fps=config.fps,
        stall_timeout_s=config.stall_timeout_s,
        reconnect_max_s=config.reconnect_max_s,
        on_status=on_status,
    )
