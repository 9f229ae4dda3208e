"""Request and response models of the REST API (they are the OpenAPI schema at /docs).

Entrance settings reuse the runtime's own config models (source, door, decision, quality,
liveness), so what the API accepts is exactly what the runtime can run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from facegate.runtime.access import TimeWindow
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.doors import DoorConfig, LogDoorConfig
from facegate.runtime.liveness import LivenessConfig
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import SourceConfig
from facegate.server.auth import Role
from facegate.server.health_schemas import (  # defined there; importable from here too
    EntranceState as EntranceState,
)
from facegate.server.health_schemas import EntranceStatus
from facegate.server.health_schemas import HealthOut as HealthOut
from facegate.server.health_schemas import HealthProblem as HealthProblem
from facegate.server.health_schemas import LivenessStatus as LivenessStatus
from facegate.server.text import refuse_bidi

DB_INT = 2**31 - 1  # ids and counts must fit a 32-bit SQL INTEGER on every backend


def _clean(v: str) -> str:
    if "\x00" in v:
        raise ValueError("text must not contain NUL characters")
    return v.strip()


class In(BaseModel):
    """Request bodies: unknown fields are errors (a typo must not be ignored silently)."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorOut(BaseModel):
    """Every 4xx/503 body: a stable code for programs, a message for people."""

    error: str = Field(description="machine-readable code, e.g. no_face, not_found")
    message: str
    reason: str | None = Field(
        None,
        description="finer cause of a rejected photo: no_face, "
        "several_faces, too_small, too_dark, too_bright, too_blurry, looking_away, bad_file",
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "bad input"),
        (401, "not signed in"),
        (403, "role too low"),
        (404, "no such object"),
        (409, "conflict (duplicate name)"),
        (413, "upload too large"),
        (429, "too many failed sign-ins: wait Retry-After seconds"),
        (503, "database busy or unavailable"),
    )
}


# -- auth and users ---------------------------------------------------------------------


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds")
    role: Role


class Me(BaseModel):
    name: str
    role: Role


_PASSWORD = (
    "at least 8 characters, not the username, not on the list of common passwords "
    "(`facegate.server.passwords`); a weak one is refused with 400 `weak_password`"
)


class UserIn(In):
    username: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.@-]+$",
        description="unique regardless of case; sign-in ignores case",
    )
    password: str = Field(max_length=256, description=_PASSWORD)
    role: Role = Role.VIEWER

    _c = field_validator("password")(_clean)


class UserUpdate(In):
    password: str | None = Field(None, max_length=256, description=_PASSWORD)
    role: Role | None = None
    active: bool | None = None


class UserOut(Out):
    id: int
    username: str
    role: Role
    active: bool
    created_at: datetime


class ApiKeyIn(In):
    name: str = Field(min_length=1, max_length=128)
    role: Role = Role.OPERATOR
    expires_at: datetime | None = Field(
        None, description="refused from then on (naive times are UTC); default: never"
    )
    ttl_days: float | None = Field(
        None, gt=0, le=36500, description="or: refused this many days after creation"
    )

    _c = field_validator("name")(_clean)

    @model_validator(mode="after")
    def _one_expiry(self):
        if self.expires_at is not None and self.ttl_days is not None:
            raise ValueError("give expires_at or ttl_days, not both")
        return self


class ApiKeyOut(Out):
    id: int
    name: str
    prefix: str = Field(description="first characters of the key, to recognise it")
    role: Role
    created_at: datetime
    expires_at: datetime | None = Field(description="refused from then on; null: never")
    last_used_at: datetime | None = Field(
        description="last request with this key (noted at most once a minute); null: never"
    )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="shown once: store it now, only its hash is kept")


# -- residents and photos ------------------------------------------------------------------


class _Validity(BaseModel):
    @field_validator("valid_from", "valid_until", check_fields=False)
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        """Naive times are UTC, made explicit here: the stored side is always aware, so an
        update that kept one bound naive failed to compare with the other (a 500)."""
        return None if v is None else _aware(v)

    @model_validator(mode="after")
    def _ordered(self):
        vf, vu = getattr(self, "valid_from", None), getattr(self, "valid_until", None)
        if vf is not None and vu is not None and _aware(vu) <= _aware(vf):
            raise ValueError("valid_until must be after valid_from")
        return self


def _aware(d: datetime) -> datetime:
    from datetime import UTC

    return d if d.tzinfo else d.replace(tzinfo=UTC)


class ResidentIn(In, _Validity):
    name: str = Field(min_length=1, max_length=200)
    apartment: str = Field("", max_length=64)
    notes: str = Field("", max_length=4000)
    active: bool = True
    valid_from: datetime | None = Field(None, description="naive times are UTC")
    valid_until: datetime | None = None

    _c = field_validator("name", "apartment", "notes")(_clean)
    _bidi = field_validator("name", "apartment")(refuse_bidi)

    @field_validator("name")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v:
            raise ValueError("name must not be blank")
        return v


class ResidentUpdate(In, _Validity):
    name: str | None = Field(None, min_length=1, max_length=200)
    apartment: str | None = Field(None, max_length=64)
    notes: str | None = Field(None, max_length=4000)
    active: bool | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    @field_validator("name", "apartment", "notes")
    @classmethod
    def _c(cls, v: str | None) -> str | None:
        return None if v is None else _clean(v)

    @field_validator("name", "apartment")
    @classmethod
    def _bidi(cls, v: str | None) -> str | None:
        return None if v is None else refuse_bidi(v)


class PhotoOut(Out):
    id: int
    filename: str
    sharpness: float | None
    created_at: datetime


class ResidentOut(Out):
    id: int
    name: str
    apartment: str
    notes: str
    active: bool
    valid_from: datetime | None
    valid_until: datetime | None
    created_at: datetime
    photos: int = Field(description="accepted photos")
    thumbnail_url: str | None = Field(
        None, description="the first photo's JPEG thumbnail (needs sign-in); null: no photo"
    )


class ResidentDetail(ResidentOut):
    photo_list: list[PhotoOut]


class EnrolOut(BaseModel):
    """An accepted photo: the templates are in the gallery, the door knows this face now."""

    accepted: Literal[True] = True
    photo: PhotoOut
    resident: ResidentOut
    sharpness: float | None = Field(
        description="of the aligned face; enrolment needs engine.enrol.min_sharpness"
    )
    models: list[str] = Field(description="recognisers that now hold a template of it")
    warnings: list[str] = Field(
        default_factory=list,
        description="enrolled, but worth a look: e.g. the face does not match the "
        "resident's other photos",
    )
    warning_codes: list[str] = Field(
        default_factory=list,
        description="one per warning, in order: photo_mismatch (unlike the resident's other "
        "photos), face_of_other_resident (confirmed), unchecked (not compared with the gallery)",
    )


# -- recognition ----------------------------------------------------------------------------


class PersonRef(BaseModel):
    id: int
    name: str


class CandidateOut(BaseModel):
    person: PersonRef
    score: float


class IdentifyOut(BaseModel):
    """The best match of the largest face; `person` is null below the threshold."""

    person: PersonRef | None
    score: float | None = Field(description="best candidate's score; null with an empty gallery")
    threshold: float
    model: str
    fmr: float
    bbox: list[float]
    faces: int = Field(description="faces found in the image")
    candidates: list[CandidateOut]


class VerifyOut(BaseModel):
    same: bool
    score: float
    threshold: float
    model: str
    fmr: float
    faces: list[int]


# -- entrances ------------------------------------------------------------------------------


NAME_PATTERN = r"^[A-Za-z0-9_. -]+$"


class EntranceIn(In):
    """A new entrance. Left out, `decision`, `quality` and `liveness` are the server
    config's `runtime:` sections (the site's defaults); the door is a log-only one until set,
    so a new entrance never pulses another entrance's relay."""

    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    enabled: bool = True
    source: SourceConfig | None = Field(
        None,
        description="camera index, /dev/video*, rtsp/http URL, or a video file or "
        "folder that exists on the server",
    )
    door: DoorConfig = Field(default_factory=LogDoorConfig)
    decision: DecisionConfig = Field(default_factory=DecisionConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    liveness: LivenessConfig = Field(
        default_factory=LivenessConfig,
        description="presentation-attack checks (photo, screen); `checks: []` turns them off",
    )


class EntranceUpdate(In):
    """Only the given fields change; a given section replaces the stored one whole."""

    name: str | None = Field(None, min_length=1, max_length=128, pattern=NAME_PATTERN)
    enabled: bool | None = None
    source: SourceConfig | None = None
    clear_source: bool = Field(False, description="true: remove the source (stop watching)")
    door: DoorConfig | None = None
    decision: DecisionConfig | None = None
    quality: QualityConfig | None = None
    liveness: LivenessConfig | None = None


class EntranceOut(BaseModel):
    id: int
    name: str
    enabled: bool
    source: SourceConfig | None
    door: DoorConfig
    decision: DecisionConfig
    quality: QualityConfig
    liveness: LivenessConfig
    status: EntranceStatus


class OpenIn(In):
    reason: str = Field(min_length=3, max_length=500, description="why; goes to the journal")

    _c = field_validator("reason")(_clean)


class OpenOut(BaseModel):
    queued: bool = Field(description="false when an identical open is already in progress")
    event_id: int | None = Field(description="journal row of the manual open")


# -- access rules ----------------------------------------------------------------------------


class RuleIn(In, _Validity):
    name: str = Field("", max_length=200)
    resident_ids: list[int] | None = Field(
        None, description="who; null = every resident", max_length=1000
    )
    entrance_ids: list[int] | None = Field(
        None, description="where; null = every entrance", max_length=1000
    )
    windows: list[TimeWindow] = Field(
        default_factory=list, max_length=50, description="weekly hours; empty = always"
    )
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_uses: int | None = Field(
        None, ge=1, le=DB_INT, description="a guest pass: opens at most this many times"
    )
    active: bool = True

    _c = field_validator("name")(_clean)

    @field_validator("resident_ids", "entrance_ids")
    @classmethod
    def _ids(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(not 1 <= i <= DB_INT for i in v):
            raise ValueError("ids are positive 32-bit integers")
        return v


class RuleOut(Out):
    id: int
    name: str
    kind: Literal["rule", "guest_pass"]
    resident_ids: list[int] | None
    entrance_ids: list[int] | None
    windows: list[TimeWindow]
    valid_from: datetime | None
    valid_until: datetime | None
    max_uses: int | None
    uses: int
    active: bool
    created_at: datetime


# -- events, audit, health ------------------------------------------------------------------


class EventOut(BaseModel):
    id: int
    time: datetime
    entrance: str
    decision: str = Field(
        description="open, open_failed (an open whose door did not actuate: `door` says "
        "why; the door stayed shut), deny, unknown, source_lost, source_restored, door_error"
    )
    person: str | None
    person_id: int | None
    reason: str
    summary: str = Field(
        "",
        description="what happened, in plain English (e.g. 'Recognised Ann Lee; door "
        "opened'); `reason` and `scores` keep the engineer's detail",
    )
    track: int | None
    scores: dict[str, float]
    liveness: dict[str, Any]
    time_to_open_ms: float | None
    device: str | None = Field(
        None,
        description="the edge device that decided, for events sent up by one; null for "
        "entrances run by the server",
    )
    door: dict[str, Any] | None = Field(
        None,
        description="what the door adapter did for an open: {actuated: true} or {actuated: "
        "false, error}, plus coalesced: true when it rode on an identical open; null while "
        "the command is in flight, and for other decisions",
    )
    snapshot_url: str | None = Field(description="best-shot JPEG, when kept")


class EventPage(BaseModel):
    """One page of the event log, newest first. The cursor marks the last event of this
    page, so events arriving meanwhile never shift the older pages."""

    items: list[EventOut]
    limit: int
    next_cursor: str | None = Field(
        description="`cursor` of the next (older) page; null on the last page"
    )
    next: str | None = Field(description="path and query of the next page, filters kept")


class AuditOut(Out):
    id: int
    time: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    summary: str = Field(
        "",
        description="what was done, in plain English (e.g. 'admin added resident Ann Lee'), "
        "naming objects by their current name; `action`, `target` and `detail` keep the "
        "stored entry",
    )
