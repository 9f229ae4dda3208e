"""Entrances (camera source, door adapter, thresholds, liveness), their live status, manual
opens. Creating and changing one are `facegate.server.services` functions the UI's forms
call too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import TypeAdapter
from sqlalchemy import select

from facegate.runtime.decision import DecisionConfig
from facegate.runtime.doors import DoorConfig
from facegate.runtime.liveness import LivenessConfig
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import SourceConfig
from facegate.server import services
from facegate.server.access_policy import RULES
from facegate.server.api.errors import ApiError
from facegate.server.db.database import bump
from facegate.server.db.models import Entrance
from facegate.server.deps import DB, Operator, State, Viewer, audit
from facegate.server.schemas import (
    DB_INT,
    ERRORS,
    EntranceIn,
    EntranceOut,
    EntranceUpdate,
    OpenIn,
    OpenOut,
)
from facegate.server.state import ServerState

router = APIRouter(
    prefix="/entrances", tags=["entrances"], responses={k: ERRORS[k] for k in (401, 403, 503)}
)
Id = Annotated[int, Path(ge=1, le=DB_INT)]
_door = TypeAdapter(DoorConfig)


def entrance_out(state: ServerState, row: Entrance) -> EntranceOut:
    return EntranceOut(
        id=row.id,
        name=row.name,
        enabled=row.enabled,
        source=SourceConfig.model_validate(row.source) if row.source else None,
        door=_door.validate_python(row.door),
        decision=DecisionConfig.model_validate(row.decision),
        quality=QualityConfig.model_validate(row.quality),
        liveness=LivenessConfig.model_validate(row.liveness or {}),
        status=state.entrances.status(row.id),
    )


@router.get("", response_model=list[EntranceOut])
def list_entrances(session: DB, state: State, who: Viewer) -> list[EntranceOut]:
    return [entrance_out(state, r) for r in session.scalars(select(Entrance).order_by(Entrance.id))]


@router.post(
    "", response_model=EntranceOut, status_code=201, responses={400: ERRORS[400], 409: ERRORS[409]}
)
def create_entrance(body: EntranceIn, session: DB, state: State, who: Operator) -> EntranceOut:
    """A new door; with a source and enabled, its runtime starts at once. A file or folder
    source must exist on the server, and the FMRs must be within the calibrated range."""
    return entrance_out(state, services.create_entrance(session, state, who, body))


@router.get("/{entrance_id}", response_model=EntranceOut, responses={404: ERRORS[404]})
def get_entrance(entrance_id: Id, session: DB, state: State, who: Viewer) -> EntranceOut:
    return entrance_out(state, services.get_entrance(session, entrance_id))


@router.patch(
    "/{entrance_id}",
    response_model=EntranceOut,
    responses={400: ERRORS[400], 404: ERRORS[404], 409: ERRORS[409]},
)
def update_entrance(
    entrance_id: Id, body: EntranceUpdate, session: DB, state: State, who: Operator
) -> EntranceOut:
    """Change settings; the entrance's runtime restarts with them."""
    return entrance_out(state, services.update_entrance(session, state, who, entrance_id, body))


@router.delete("/{entrance_id}", status_code=204, responses={404: ERRORS[404]})
def delete_entrance(entrance_id: Id, session: DB, state: State, who: Operator) -> None:
    row = services.get_entrance(session, entrance_id)
    audit(session, who, "entrance_delete", f"entrance:{row.id}", name=row.name)
    session.delete(row)
    bump(session, RULES)
    session.commit()
    state.entrances.stop(entrance_id)


@router.post("/{entrance_id}/restart", response_model=EntranceOut, responses={404: ERRORS[404]})
def restart_entrance(entrance_id: Id, session: DB, state: State, who: Operator) -> EntranceOut:
    """Start the runtime again (a video file that played to its end, a camera fixed)."""
    row = services.get_entrance(session, entrance_id)
    audit(session, who, "entrance_restart", f"entrance:{row.id}")
    session.commit()
    state.entrances.restart(row.id)
    return entrance_out(state, row)


@router.post(
    "/{entrance_id}/open", response_model=OpenOut, responses={404: ERRORS[404], 409: ERRORS[409]}
)
def open_door(entrance_id: Id, body: OpenIn, session: DB, state: State, who: Operator) -> OpenOut:
    """Open the door by hand; the reason goes to the journal and the audit log."""
    row = services.get_entrance(session, entrance_id)
    if not row.enabled:
        raise ApiError(409, "disabled", f"entrance {row.name} is disabled")
    queued, event_id = state.entrances.open_door(row.id, body.reason, who.name)
    audit(
        session,
        who,
        "door_open",
        f"entrance:{row.id}",
        reason=body.reason,
        queued=queued,
        event=event_id,
    )
    session.commit()
    return OpenOut(queued=queued, event_id=event_id)
