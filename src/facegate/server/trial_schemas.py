"""What "Test camera" and "Test door" answer (`operations.trials`): kept apart from
`schemas.py`, which is near the size one reads at once; the API imports them from here."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from facegate.runtime.sources import SourceConfig


class CameraTestIn(BaseModel):
    """Try a source before saving it: the settings as the form has them now (a URL's `***`
    is the stored password of this entrance). Empty body: the entrance's stored source."""

    model_config = {"extra": "forbid"}

    source: SourceConfig | None = None


class FaceBox(BaseModel):
    x: int = Field(description="left edge in the returned picture, pixels")
    y: int
    w: int
    h: int
    score: float = Field(description="the detector's confidence, 0-1")
    size_px: int = Field(description="shorter side of the face in the camera's own frame")
    big_enough: bool = Field(description="at least the entrance's `quality.min_face_px`")


class CameraTestOut(BaseModel):
    image: str = Field(description="the frame with the faces boxed: a data: URL (JPEG)")
    width: int = Field(description="the returned picture's size (at most 640 px wide)")
    height: int
    frame_width: int = Field(description="the camera frame's own size")
    frame_height: int
    taken_from: Literal["runtime", "source"] = Field(
        description="runtime: the running entrance's newest frame (a camera cannot be opened "
        "twice); source: the source opened for this test"
    )
    faces: list[FaceBox]
    min_face_px: float


class DoorTestOut(BaseModel):
    queued: bool = Field(description="false: an open was already under way")
    event_id: int | None = Field(description="the journal's event for this pulse")
    actuated: bool | None = Field(
        description="the adapter's answer: true it pulsed, false it failed (see error), "
        "null still under way when the answer was sent"
    )
    error: str | None = None
