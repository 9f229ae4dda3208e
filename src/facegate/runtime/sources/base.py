"""What every source shares: the frame, the protocol, the error, the paces and the specs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from facegate.errors import FaceGateError

Pace = Literal["realtime", "fast", "simulated"]
PACES: tuple[str, ...] = ("realtime", "fast", "simulated")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")


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


def _check_pace(pace: str) -> None:
    if pace not in PACES:
        raise SourceError(f"pace must be one of {', '.join(PACES)}, got '{pace}'")
