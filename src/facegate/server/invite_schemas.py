"""Request and response models of self-enrolment (`operations.invites`): invite links, the
live hints of the public enrolment page, and the photos waiting for a manager's approval.
Kept apart from `schemas.py` (at its size limit); the API imports them from here."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from facegate.server.schemas import In, Out

Pose = Literal["straight", "left", "right"]
POSES: tuple[Pose, ...] = ("straight", "left", "right")
InviteStatus = Literal["open", "used", "expired", "revoked"]


class InviteIn(In):
    ttl_h: float | None = Field(
        None,
        gt=0,
        le=24 * 30,
        description="hours until the link expires; default server.self_enrolment.invite_ttl_h (72)",
    )


class InviteOut(Out):
    """An invite as a manager sees it later: the link itself is shown only once."""

    id: int
    resident_id: int
    created_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    status: InviteStatus


class InviteCreated(InviteOut):
    token: str = Field(description="shown once; only its SHA-256 is stored")
    path: str = Field(description="the page to send to the resident: /enrol/<token>")


class InviteView(BaseModel):
    """What the holder of a valid link is told: whose enrolment it is and until when."""

    resident_name: str
    expires_at: datetime
    poses: list[Pose] = list(POSES)


Hint = Literal[
    "ok",
    "no_face",
    "several_faces",
    "too_small",
    "too_dark",
    "too_bright",
    "too_blurry",
    "looking_away",
    "bad_file",
]
PoseHint = Literal["turn_left", "turn_right", "look_straight"]


class HintOut(BaseModel):
    """The live hint for one preview frame: `ok` when a photo taken now would pass the
    enrolment checks; `pose_hint` is advice only (the checks do not measure the turn)."""

    ok: bool
    hint: Hint
    pose_hint: PoseHint | None = None
    message: str = Field(description="the check's own English wording")


class SubmitOut(BaseModel):
    status: Literal["pending", "enrolled"] = Field(
        description="pending: waiting for a manager; enrolled: the door knows the face now"
    )
    photos: int
    warnings: list[str] = Field(
        default_factory=list, description="why the photos wait although auto_accept is on"
    )


class PendingPhotoOut(Out):
    id: int
    resident_id: int
    resident_name: str
    invite_id: int | None
    pose: str
    warnings: list[str]
    created_at: datetime


class ApproveIn(In):
    confirm_other_resident: bool = Field(
        False, description="enrol it although the face matches another resident"
    )
