"""Files, folders and in-memory frames replayed like a camera, at a pace.

One `_PacedSource` gives every replay newest-frame semantics; what differs is only the reader
that produces frames one at a time: a video decoder (OpenCV, or Pillow for GIFs) or a list
reader over image files or arrays.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import cv2
import numpy as np
from PIL import Image, ImageSequence

from facegate.runtime.sources.base import IMAGE_SUFFIXES, Frame, Pace, SourceError, _check_pace
from facegate.runtime.sources.clock import Clock, _default_clock

log = logging.getLogger(__name__)

_EPS = 1e-6  # a frame due exactly now must not be missed to float rounding


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


# -- lists: image folders and in-memory frames -----------------------------------------------

_Item = TypeVar("_Item")


class _ListReader(Generic[_Item]):
    """Frames from a sequence of items; `load` turns one into an image, or None if it is
    unreadable. Skipping never loads, so a slow consumer costs no decoding of dropped frames."""

    def __init__(self, items: Sequence[_Item], load: Callable[[_Item], np.ndarray | None]) -> None:
        self._items = items
        self._load = load
        self._i = 0

    def skip(self) -> bool:
        if self._i >= len(self._items):
            return False
        self._i += 1
        return True

    def next(self) -> np.ndarray | None:
        if self._i >= len(self._items):
            raise EOFError
        item = self._items[self._i]
        self._i += 1
        return self._load(item)

    def close(self) -> None:
        self._i = len(self._items)


def _read_image(path: Path) -> np.ndarray | None:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        log.warning("skipping unreadable image %s", path)
    return image


def _as_is(image: np.ndarray) -> np.ndarray:
    return image


def _natural_key(path: Path) -> list[int | str]:
    """frame2 before frame10: numbered frames are rarely zero-padded."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", path.name)]


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
        super().__init__(_ListReader(self.files, _read_image), fps, pace, clock)


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
        super().__init__(_ListReader(frames, _as_is), fps, pace, clock)
