"""Clocks, and the one rule for which clock a pace runs on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.runtime.sources import (
    PACES,
    FrameListSource,
    ImageFolderSource,
    Pace,
    Source,
    SourceError,
    VideoFileSource,
    VirtualClock,
    WallClock,
    clock_for,
)
from tests.runtime.sources.conftest import H, W, level


def test_virtual_clock_moves_only_forward() -> None:
    c = VirtualClock(10.0)
    c.advance(0.5)
    c.advance_to(10.2)  # in the past: ignored
    assert c.now() == 10.5
    c.advance_to(12.0)
    c.sleep(1.0)
    assert c.now() == 13.0
    with pytest.raises(ValueError):
        c.advance(-1)
    w = WallClock()
    a = w.now()
    w.sleep(0.01)
    assert w.now() - a >= 0.009


def test_clock_for_each_pace() -> None:
    assert type(clock_for("realtime")) is WallClock
    assert type(clock_for("simulated")) is VirtualClock
    # "fast" frames are stamped in stream time, so they are read on a virtual clock too
    assert type(clock_for("fast")) is VirtualClock
    assert clock_for("fast") is not clock_for("fast")  # a new clock each time, never shared
    with pytest.raises(SourceError, match="pace must be one of"):
        clock_for("ludicrous")  # type: ignore[arg-type]


def _video(tmp_path: Path, pace: Pace) -> Source:
    writer = cv2.VideoWriter(str(tmp_path / "c.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    writer.write(np.full((H, W, 3), level(0), np.uint8))
    writer.release()
    return VideoFileSource(tmp_path / "c.avi", pace=pace)


def _folder(tmp_path: Path, pace: Pace) -> Source:
    cv2.imwrite(str(tmp_path / "a.png"), np.full((H, W, 3), level(0), np.uint8))
    return ImageFolderSource(tmp_path, pace=pace)


def _frames(tmp_path: Path, pace: Pace) -> Source:
    return FrameListSource([np.full((H, W, 3), level(0), np.uint8)], fps=10, pace=pace)


@pytest.mark.parametrize("pace", PACES)
@pytest.mark.parametrize("build", [_video, _folder, _frames], ids=["video", "folder", "frames"])
def test_a_source_built_without_a_clock_runs_on_clock_for(
    tmp_path: Path, pace: Pace, build: Callable[[Path, Pace], Source]
) -> None:
    """The same rule as a runtime built by the app: a "fast" replay is on a VirtualClock."""
    src = build(tmp_path, pace)
    try:
        assert type(src.clock) is type(clock_for(pace))  # type: ignore[attr-defined]
        if pace == "fast":
            assert isinstance(src.clock, VirtualClock)  # type: ignore[attr-defined]
    finally:
        src.close()


def test_a_given_clock_is_kept_and_checked_against_the_pace() -> None:
    frames = [np.zeros((H, W, 3), np.uint8)]
    wall = WallClock()
    assert FrameListSource(frames, fps=10, pace="fast", clock=wall).clock is wall
    virtual = VirtualClock()
    assert FrameListSource(frames, fps=10, pace="realtime", clock=virtual).clock is virtual
    with pytest.raises(SourceError, match="pace 'simulated' needs a VirtualClock"):
        FrameListSource(frames, fps=10, pace="simulated", clock=WallClock())
