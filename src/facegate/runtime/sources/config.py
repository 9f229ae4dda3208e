"""The `source:` section of a configuration. A leaf: no decoders, so `facegate.config` can
assemble it without this module pulling in the readers."""

from __future__ import annotations

from pydantic import Field

from facegate.runtime.sources.base import Pace
from facegate.schema import StrictModel as _Strict


class SourceConfig(_Strict):
    uri: str = Field(description="camera index, /dev/video*, rtsp/http URL, video file or folder")
    pace: Pace = Field("realtime", description="replay pace of files and folders")
    fps: float = Field(10, gt=0, description="frame rate of an image folder")
    reconnect_max_s: float = Field(30, gt=0, description="longest wait between camera retries")
    stall_timeout_s: float = Field(5, gt=0, description="no frame for this long = camera lost")
