"""1:N and 1:1 for integrations: `operations.recognition` (operators and admins only,
every search audited), with the CLI's bad-input handling (a 4xx naming the problem)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from facegate.server.api.uploads import read_upload
from facegate.server.deps import DB, Operator, State
from facegate.server.operations import recognition
from facegate.server.schemas import ERRORS, IdentifyOut, VerifyOut

router = APIRouter(
    tags=["recognition"],
    responses={k: ERRORS[k] for k in (400, 401, 403, 413, 503)}
    | {422: {"model": ERRORS[400]["model"], "description": "no face in the image"}},
)


@router.post("/identify", response_model=IdentifyOut)
def identify(
    file: Annotated[UploadFile, File(description="a photo")],
    session: DB,
    state: State,
    who: Operator,
    top: Annotated[int, Query(ge=1, le=50)] = 5,
    include_below_threshold: Annotated[
        bool, Query(description="admins only: also list candidates below the threshold")
    ] = False,
) -> IdentifyOut:
    """Who is the largest face in this photo? `person` is null when nobody in the gallery
    scores above the calibrated threshold, and `candidates` then is empty. Audited."""
    data = read_upload(file, state.config.server.max_upload_mb)
    return recognition.identify(session, state, who, data, top, include_below_threshold)


@router.post("/verify", response_model=VerifyOut)
def verify(
    file1: Annotated[UploadFile, File(description="first photo")],
    file2: Annotated[UploadFile, File(description="second photo")],
    session: DB,
    state: State,
    who: Operator,
) -> VerifyOut:
    """Are the largest faces of two photos the same person, at the configured FMR? Audited."""
    max_mb = state.config.server.max_upload_mb
    a, b = read_upload(file1, max_mb), read_upload(file2, max_mb)
    return recognition.verify(session, state, who, a, b)
