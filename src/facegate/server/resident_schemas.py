"""What the residents' list page and the bulk import answer. Beside `schemas.py` (which it
builds on) to keep that module within the 500-line rule."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from facegate.server.schemas import EventOut, ResidentOut, RuleOut


class ResidentPage(BaseModel):
    """One page of a search: `total` matches in all, `items` from `offset` on."""

    items: list[ResidentOut]
    total: int
    limit: int
    offset: int


class ResidentOverview(BaseModel):
    """A resident's page: the rules that name them (or everyone) and their latest events."""

    rules: list[RuleOut]
    everyone_may_open: bool = Field(
        description="no active rule exists, so every active resident may open every entrance"
    )
    events: list[EventOut]


class ImportPhotoOut(BaseModel):
    """One photo a CSV row named."""

    file: str
    accepted: bool
    reason: str | None = Field(
        None,
        description="why it was refused: the photo reasons of POST /residents/{id}/photos "
        "(no_face, several_faces, too_small, too_dark, too_bright, too_blurry, looking_away, "
        "bad_file, face_of_other_resident) or photo_missing, unsafe_name, ambiguous_name, "
        "photo_too_large, bad_zip_entry",
    )
    message: str = ""
    warnings: list[str] = Field(default_factory=list)


class ImportRowOut(BaseModel):
    """What happened to one CSV row."""

    line: int = Field(description="line of the CSV file (the header is line 1)")
    name: str
    apartment: str = ""
    status: Literal["added", "skipped"]
    reason: str | None = Field(
        None,
        description="why a row was skipped: duplicate, bad_row, no_photo_accepted (then "
        "`photos` says why each was refused), error",
    )
    message: str = ""
    resident_id: int | None = None
    photos: list[ImportPhotoOut] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class ImportReport(BaseModel):
    """`POST /residents/import`: every row with what happened to it, in the CSV's order."""

    added: int
    skipped: int
    rows: list[ImportRowOut]
    unused_photos: list[str] = Field(
        default_factory=list, description="files in the zip that no row named (at most 100)"
    )
