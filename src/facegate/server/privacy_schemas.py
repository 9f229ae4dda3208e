"""What `GET /residents/{id}/export` answers: everything held about one resident. Beside
`schemas.py` (which it builds on) to keep that module within the 500-line rule."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.server.schemas import EventOut, ResidentDetail, RuleOut


class ExportPhoto(BaseModel):
    id: int
    filename: str
    sharpness: float | None
    created_at: datetime
    jpeg_base64: str | None = Field(description="the kept JPEG of the photo, base64")


class ExportTemplate(BaseModel):
    id: int
    photo_id: int | None
    model: str
    model_version: str
    created_at: datetime


class ResidentExport(BaseModel):
    """Everything held about one resident (`GET /residents/{id}/export`)."""

    exported_at: datetime
    resident: ResidentDetail
    photos: list[ExportPhoto]
    templates: list[ExportTemplate] = Field(
        description="which templates exist (model, version); the embeddings stay sealed"
    )
    rules: list[RuleOut] = Field(description="access rules that name the resident")
    events: list[EventOut] = Field(
        description="door events whose recognised or claimed person they were"
    )
