"""Choosing a source: a user's spec (or a `SourceConfig`) to a folder, file or camera."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from facegate.runtime.sources.base import Pace, Source, SourceError, _check_pace
from facegate.runtime.sources.camera import (
    CameraSource,
    Capture,
    StatusCallback,
    is_camera_spec,
)
from facegate.runtime.sources.clock import Clock
from facegate.runtime.sources.config import SourceConfig
from facegate.runtime.sources.files import ImageFolderSource, VideoFileSource


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
