"""Shared by the source tests: numbered grey frames, a short clip, a scriptable camera."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

W, H = 64, 48


def level(i: int) -> int:
    """Frame i is a flat grey of this level, so a decoded frame tells which one it is."""
    return 5 + 8 * i


def frame_number(image: np.ndarray) -> int:
    return round((float(image.mean()) - 5) / 8)


def write_clip(path: Path, n: int, fps: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    assert writer.isOpened(), "this OpenCV build cannot write MJPG .avi"
    for i in range(n):
        writer.write(np.full((H, W, 3), level(i), np.uint8))
    writer.release()
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """3 s at 10 fps, 30 numbered frames."""
    return write_clip(tmp_path / "clip.avi", 30, 10.0)


class FakeCapture:
    """A camera: opens or not, then serves numbered frames, failing after `fail_after`."""

    def __init__(
        self,
        opened: bool = True,
        fail_after: int | None = None,
        hang_after: int | None = None,
        hang: threading.Event | None = None,
        period_s: float = 0.005,
    ) -> None:
        self.opened, self.fail_after, self.period_s = opened, fail_after, period_s
        self.hang_after, self.hang = hang_after, hang
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.fail_after is not None and self.reads >= self.fail_after:
            return False, None
        if self.hang_after is not None and self.reads >= self.hang_after and self.hang:
            self.hang.wait(30)  # a driver call that does not come back
        time.sleep(self.period_s)
        self.reads += 1
        return True, np.full((H, W, 3), self.reads % 200, np.uint8)

    def release(self) -> None:
        self.released = True
