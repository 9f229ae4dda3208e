"""Choosing a source: a spec or a config to a folder, a file or a camera."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from facegate.runtime.sources import (
    CameraSource,
    ImageFolderSource,
    SourceConfig,
    SourceError,
    VideoFileSource,
    VirtualClock,
    open_source,
    source_from_config,
)
from tests.runtime.sources.conftest import FakeCapture, H, W


def test_open_source_dispatch(tmp_path: Path, clip: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((H, W, 3), np.uint8))
    folder = open_source(str(tmp_path), pace="fast")
    assert isinstance(folder, ImageFolderSource)
    video = open_source(str(clip), pace="simulated")
    assert isinstance(video, VideoFileSource) and isinstance(video.clock, VirtualClock)
    for spec in ("0", 2, "/dev/video7", "rtsp://user:secret@10.0.0.5:554/stream", "http://cam/x"):
        cam = open_source(
            spec, capture_factory=lambda uri: FakeCapture(opened=False), reconnect_max_s=0.1
        )
        try:
            assert isinstance(cam, CameraSource)
            assert "secret" not in cam.name
        finally:
            cam.close()
    with CameraSource("3", capture_factory=lambda u: FakeCapture(False)) as cam:
        assert cam.uri == 3 and cam.name == "camera 3"
    with pytest.raises(SourceError, match=re.escape("no such file, folder or camera: /no/x.mp4")):
        open_source("/no/x.mp4")
    with pytest.raises(SourceError, match="no source given"):
        open_source("  ")

    cfg = SourceConfig(uri=str(clip), pace="fast")
    assert len(list(source_from_config(cfg))) == 30  # type: ignore[call-overload]
    with pytest.raises(ValidationError):
        SourceConfig(uri="0", pace="slow")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SourceConfig.model_validate({"uri": "0", "fsp": 5})
