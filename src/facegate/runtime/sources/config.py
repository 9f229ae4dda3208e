"""The `source:` section of a configuration. A leaf: no decoders, so `facegate.config` can
assemble it without this module pulling in the readers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from facegate.masking import Secret
from facegate.runtime.sources.base import Pace
from facegate.schema import StrictModel as _Strict
from facegate.schema import no_control_chars


class SourceConfig(_Strict):
    uri: Annotated[str, Secret("url")] = Field(
        description="camera index, /dev/video*, rtsp/http URL, video file or folder; "
        "the password of a URL is write-only (read back as ***)"
    )
    pace: Pace = Field("realtime", description="replay pace of files and folders")
    fps: float = Field(10, gt=0, description="frame rate of an image folder")
    reconnect_max_s: float = Field(30, gt=0, description="longest wait between camera retries")
    stall_timeout_s: float = Field(5, gt=0, description="no frame for this long = camera lost")

    @field_validator("uri")
    @classmethod
    def _printable(cls, v: str) -> str:
        return no_control_chars(v, "the source")
