"""Entrances (camera source, door adapter, thresholds, liveness), their live status, manual
opens: `operations.entrances`, which the UI's forms call too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from facegate.server.deps import DB, Operator, State, Viewer
from facegate.server.operations import entrances, trials
from facegate.server.schemas import (
    DB_INT,
    ERRORS,
    EntranceIn,
    EntranceOut,
    EntranceUpdate,
    OpenIn,
    OpenOut,
)
from facegate.server.trial_schemas import CameraTestIn, CameraTestOut, DoorTestOut

router = APIRouter(
    prefix="/entrances", tags=["entrances"], responses={k: ERRORS[k] for k in (401, 403, 503)}
)
Id = Annotated[int, Path(ge=1, le=DB_INT)]


@router.get("", response_model=list[EntranceOut])
def list_entrances(session: DB, state: State, who: Viewer) -> list[EntranceOut]:
    return entrances.list_entrances(session, state)


@router.post(
    "", response_model=EntranceOut, status_code=201, responses={400: ERRORS[400], 409: ERRORS[409]}
)
def create_entrance(body: EntranceIn, session: DB, state: State, who: Operator) -> EntranceOut:
    """A new door; with a source and enabled, its runtime starts at once. A file or folder
    source must exist on the server, and the FMRs must be within the calibrated range."""
    return entrances.create_entrance(session, state, who, body)


@router.post("/test-camera", response_model=CameraTestOut, responses={400: ERRORS[400]})
def test_new_camera(body: CameraTestIn, session: DB, state: State, who: Operator) -> CameraTestOut:
    """One frame of a source not saved yet (the add form's) and the faces found in it,
    boxed: checked like a source being saved (allow-lists, existence)."""
    return trials.try_camera(session, state, who, None, body.source)


@router.get("/{entrance_id}", response_model=EntranceOut, responses={404: ERRORS[404]})
def get_entrance(entrance_id: Id, session: DB, state: State, who: Viewer) -> EntranceOut:
    return entrances.get_entrance(session, state, entrance_id)


@router.patch(
    "/{entrance_id}",
    response_model=EntranceOut,
    responses={400: ERRORS[400], 404: ERRORS[404], 409: ERRORS[409]},
)
def update_entrance(
    entrance_id: Id, body: EntranceUpdate, session: DB, state: State, who: Operator
) -> EntranceOut:
    """Change settings; the entrance's runtime restarts with them."""
    return entrances.update_entrance(session, state, who, entrance_id, body)


@router.delete("/{entrance_id}", status_code=204, responses={404: ERRORS[404]})
def delete_entrance(entrance_id: Id, session: DB, state: State, who: Operator) -> None:
    entrances.delete_entrance(session, state, who, entrance_id)


@router.post("/{entrance_id}/restart", response_model=EntranceOut, responses={404: ERRORS[404]})
def restart_entrance(entrance_id: Id, session: DB, state: State, who: Operator) -> EntranceOut:
    """Start the runtime again (a video file that played to its end, a camera fixed)."""
    return entrances.restart_entrance(session, state, who, entrance_id)


@router.post(
    "/{entrance_id}/open", response_model=OpenOut, responses={404: ERRORS[404], 409: ERRORS[409]}
)
def open_door(entrance_id: Id, body: OpenIn, session: DB, state: State, who: Operator) -> OpenOut:
    """Open the door by hand; the reason goes to the journal and the audit log."""
    return entrances.open_door(session, state, who, entrance_id, body.reason)


@router.post(
    "/{entrance_id}/test-camera",
    response_model=CameraTestOut,
    responses={400: ERRORS[400], 404: ERRORS[404]},
)
def test_camera(
    entrance_id: Id, session: DB, state: State, who: Operator, body: CameraTestIn | None = None
) -> CameraTestOut:
    """One frame and the faces found in it, boxed: the running entrance's newest frame, or
    the stored source (or the `source` given, unsaved; `***` = the stored password) opened
    for the test. Not audited: it changes nothing (viewing a frame is not audited either)."""
    return trials.try_camera(session, state, who, entrance_id, body.source if body else None)


@router.post(
    "/{entrance_id}/test-door",
    response_model=DoorTestOut,
    responses={404: ERRORS[404], 409: ERRORS[409]},
)
def test_door(entrance_id: Id, session: DB, state: State, who: Operator) -> DoorTestOut:
    """Pulse the door once (journalled as a manual open "door test", audited `door_test`);
    answers with what the adapter did, when it answers within the pulse and its timeout."""
    return trials.try_door(session, state, who, entrance_id)
