"""Self-enrolment (`operations.invites`): a manager's invite links and the photos waiting
for approval (signed in), and the three public endpoints the resident's enrolment page
calls with the link's token instead of a sign-in (rate-limited per link and per client)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile

from facegate.server.api.uploads import read_upload
from facegate.server.deps import DB, Operator, State, Viewer, client_address
from facegate.server.invite_schemas import (
    ApproveIn,
    HintOut,
    InviteCreated,
    InviteIn,
    InviteOut,
    InviteView,
    PendingPhotoOut,
    Pose,
    SubmitOut,
)
from facegate.server.operations import invites
from facegate.server.schemas import DB_INT, ERRORS, EnrolOut

router = APIRouter(tags=["self-enrolment"])
Id = Annotated[int, Path(ge=1, le=DB_INT)]
Token = Annotated[str, Path(min_length=1, max_length=128, description="the link's token")]
SIGNED_IN = {k: ERRORS[k] for k in (401, 403, 404)}
GONE = {
    404: ERRORS[404],
    410: {"model": ERRORS[400]["model"], "description": "invite_expired, _used or _revoked"},
    429: {"model": ERRORS[400]["model"], "description": "too many requests; see Retry-After"},
}


@router.post(
    "/residents/{resident_id}/invites",
    response_model=InviteCreated,
    status_code=201,
    responses=SIGNED_IN,
)
def create_invite(
    resident_id: Id, session: DB, state: State, who: Operator, body: InviteIn | None = None
) -> InviteCreated:
    """A one-time link (`path`) with which the resident enrols their own photos from a
    phone; it expires after `ttl_h` hours (default `server.self_enrolment.invite_ttl_h`).
    The token is in this answer only. Audited."""
    ttl = body.ttl_h if body else None
    return invites.create_invite(session, who, resident_id, state.config.server.self_enrolment, ttl)


@router.get("/invites", response_model=list[InviteOut], responses=SIGNED_IN)
def list_invites(
    session: DB, who: Viewer, resident_id: Annotated[int | None, Query(ge=1, le=DB_INT)] = None
) -> list[InviteOut]:
    """Newest first, with each link's status (open, used, expired, revoked); no tokens."""
    return invites.list_invites(session, resident_id)


@router.post("/invites/{invite_id}/revoke", response_model=InviteOut, responses=SIGNED_IN)
def revoke_invite(invite_id: Id, session: DB, who: Operator) -> InviteOut:
    """The link stops working at once; photos it sent already stay pending. Audited."""
    return invites.revoke_invite(session, who, invite_id)


@router.get("/pending-photos", response_model=list[PendingPhotoOut], responses=SIGNED_IN)
def list_pending(
    session: DB, who: Viewer, resident_id: Annotated[int | None, Query(ge=1, le=DB_INT)] = None
) -> list[PendingPhotoOut]:
    """Photos residents sent with an invite link, waiting for approval, with the warnings
    of the enrolment checks."""
    return invites.list_pending(session, resident_id)


@router.get(
    "/pending-photos/{pending_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, **SIGNED_IN},
)
def pending_image(pending_id: Id, session: DB, state: State, who: Viewer) -> Response:
    return Response(invites.pending_thumbnail(session, state, pending_id), media_type="image/jpeg")


@router.post(
    "/pending-photos/{pending_id}/approve",
    response_model=EnrolOut,
    status_code=201,
    responses={
        **SIGNED_IN,
        409: {"model": ERRORS[400]["model"], "description": "the face is another resident's"},
        422: {"model": ERRORS[400]["model"], "description": "photo rejected; `reason` says why"},
    },
)
def approve_pending(
    pending_id: Id, session: DB, state: State, who: Operator, body: ApproveIn | None = None
) -> EnrolOut:
    """Enrol the photo as an upload would be (every check again); it leaves the list."""
    confirm = body.confirm_other_resident if body else False
    return invites.approve_photo(session, state, who, pending_id, confirm)


@router.delete("/pending-photos/{pending_id}", status_code=204, responses=SIGNED_IN)
def reject_pending(pending_id: Id, session: DB, who: Operator) -> None:
    """Reject the photo: it is deleted. Audited."""
    invites.reject_photo(session, who, pending_id)


# -- public: the link's token is the credential ----------------------------------------------


@router.get("/enrol/{token}", response_model=InviteView, responses=GONE)
def invite_view(token: Token, request: Request, session: DB, state: State) -> InviteView:
    """No sign-in: whose enrolment this link is, until when."""
    invites.limit(state, token, client_address(request), "view")
    return invites.invite_view(session, token)


@router.post("/enrol/{token}/check", response_model=HintOut, responses={**GONE, 413: ERRORS[413]})
def check_frame(
    token: Token,
    request: Request,
    session: DB,
    state: State,
    frame: Annotated[UploadFile, File(description="a preview frame, JPEG, about 640 px")],
    pose: Annotated[Pose, Form()] = "straight",
) -> HintOut:
    """No sign-in: the live hint for one preview frame (the page sends one about every
    second): would a photo taken now pass the enrolment checks, and if not, why."""
    invites.limit(state, token, client_address(request), "check")
    data = read_upload(frame, state.config.server.self_enrolment.max_frame_kb / 1024)
    return invites.frame_hint(state, session, token, data, pose)


@router.post(
    "/enrol/{token}",
    response_model=SubmitOut,
    status_code=201,
    responses={
        **GONE,
        413: ERRORS[413],
        422: {"model": ERRORS[400]["model"], "description": "a photo failed a check"},
    },
)
def submit_photos(
    token: Token,
    request: Request,
    session: DB,
    state: State,
    straight: Annotated[UploadFile, File()],
    left: Annotated[UploadFile, File()],
    right: Annotated[UploadFile, File()],
) -> SubmitOut:
    """No sign-in: the three photos. A photo failing a check is a 422 whose message starts
    with its pose (nothing is stored, the link still works); else they wait for approval
    (or are enrolled, `server.self_enrolment.auto_accept`) and the link is used up."""
    invites.limit(state, token, client_address(request), "submit")
    max_mb = state.config.server.self_enrolment.max_photo_mb
    photos = {
        pose: read_upload(f, max_mb)
        for pose, f in (("straight", straight), ("left", left), ("right", right))
    }
    return invites.submit_photos(session, state, token, photos)
