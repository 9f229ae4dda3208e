"""Entrances (camera source, door adapter, thresholds), their live status, manual opens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.runtime.decision import DecisionConfig
from facegate.runtime.doors import DoorConfig
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import SourceConfig
from facegate.server.api.errors import ApiError, not_found
from facegate.server.db.database import bump
from facegate.server.db.models import Entrance
from facegate.server.deps import DB, Operator, State, Viewer, audit
from facegate.server.entrances import RULES
from facegate.server.schemas import (
    DB_INT,
    ERRORS,
    EntranceIn,
    EntranceOut,
    EntranceUpdate,
    OpenIn,
    OpenOut,
)

router = APIRouter(prefix="/entrances", tags=["entrances"],
                   responses={k: ERRORS[k] for k in (401, 403, 503)})
Id = Annotated[int, Path(ge=1, le=DB_INT)]
_door = TypeAdapter(DoorConfig)


def entrance_out(state, row: Entrance) -> EntranceOut:
    return EntranceOut(
        id=row.id, name=row.name, enabled=row.enabled,
        source=SourceConfig.model_validate(row.source) if row.source else None,
        door=_door.validate_python(row.door),
        decision=DecisionConfig.model_validate(row.decision),
        quality=QualityConfig.model_validate(row.quality),
        status=state.entrances.status(row.id),
    )


def _get(session: Session, entrance_id: int) -> Entrance:
    row = session.get(Entrance, entrance_id)
    if row is None:
        raise not_found("entrance", entrance_id)
    return row


def _name_free(session: Session, name: str, but: int | None = None) -> None:
    q = select(Entrance.id).where(Entrance.name == name)
    if but is not None:
        q = q.where(Entrance.id != but)
    if session.scalar(q) is not None:
        raise ApiError(409, "duplicate_name", f"an entrance named {name!r} exists already")


@router.get("", response_model=list[EntranceOut])
def list_entrances(session: DB, state: State, who: Viewer) -> list[EntranceOut]:
    return [entrance_out(state, r) for r in session.scalars(select(Entrance).order_by(
        Entrance.id))]


@router.post("", response_model=EntranceOut, status_code=201, responses={409: ERRORS[409]})
def create_entrance(body: EntranceIn, session: DB, state: State,
                    who: Operator) -> EntranceOut:
    """A new door; with a source and enabled, its runtime starts at once."""
    _name_free(session, body.name)
    row = Entrance(name=body.name, enabled=body.enabled,
                   source=body.source.model_dump(mode="json") if body.source else None,
                   door=body.door.model_dump(mode="json"),
                   decision=body.decision.model_dump(mode="json"),
                   quality=body.quality.model_dump(mode="json"))
    session.add(row)
    session.flush()
    bump(session, RULES)  # rules may name entrances
    audit(session, who, "entrance_create", f"entrance:{row.id}", name=row.name,
          source=row.source, door=row.door.get("kind"))
    session.commit()
    state.entrances.restart(row.id)
    return entrance_out(state, row)


@router.get("/{entrance_id}", response_model=EntranceOut, responses={404: ERRORS[404]})
def get_entrance(entrance_id: Id, session: DB, state: State, who: Viewer) -> EntranceOut:
    return entrance_out(state, _get(session, entrance_id))


@router.patch("/{entrance_id}", response_model=EntranceOut,
              responses={404: ERRORS[404], 409: ERRORS[409]})
def update_entrance(entrance_id: Id, body: EntranceUpdate, session: DB, state: State,
                    who: Operator) -> EntranceOut:
    """Change settings; the entrance's runtime restarts with them."""
    row = _get(session, entrance_id)
    changed = sorted(body.model_dump(exclude_unset=True))
    if body.name is not None:
        _name_free(session, body.name, but=row.id)
        row.name = body.name
    if body.enabled is not None:
        row.enabled = body.enabled
    if body.clear_source:
        row.source = None
    elif body.source is not None:
        row.source = body.source.model_dump(mode="json")
    for key in ("door", "decision", "quality"):
        value = getattr(body, key)
        if value is not None:
            setattr(row, key, value.model_dump(mode="json"))
    bump(session, RULES)
    audit(session, who, "entrance_update", f"entrance:{row.id}", fields=changed,
          source=row.source)
    session.commit()
    state.entrances.restart(row.id)
    return entrance_out(state, row)


@router.delete("/{entrance_id}", status_code=204, responses={404: ERRORS[404]})
def delete_entrance(entrance_id: Id, session: DB, state: State, who: Operator) -> None:
    row = _get(session, entrance_id)
    audit(session, who, "entrance_delete", f"entrance:{row.id}", name=row.name)
    session.delete(row)
    bump(session, RULES)
    session.commit()
    state.entrances.stop(entrance_id)


@router.post("/{entrance_id}/restart", response_model=EntranceOut,
             responses={404: ERRORS[404]})
def restart_entrance(entrance_id: Id, session: DB, state: State,
                     who: Operator) -> EntranceOut:
    """Start the runtime again (a video file that played to its end, a camera fixed)."""
    row = _get(session, entrance_id)
    audit(session, who, "entrance_restart", f"entrance:{row.id}")
    session.commit()
    state.entrances.restart(row.id)
    return entrance_out(state, row)


@router.post("/{entrance_id}/open", response_model=OpenOut,
             responses={404: ERRORS[404], 409: ERRORS[409]})
def open_door(entrance_id: Id, body: OpenIn, session: DB, state: State,
              who: Operator) -> OpenOut:
    """Open the door by hand; the reason goes to the journal and the audit log."""
    row = _get(session, entrance_id)
    if not row.enabled:
        raise ApiError(409, "disabled", f"entrance {row.name} is disabled")
    queued, event_id = state.entrances.open_door(row.id, body.reason, who.name)
    audit(session, who, "door_open", f"entrance:{row.id}", reason=body.reason,
          queued=queued, event=event_id)
    session.commit()
    return OpenOut(queued=queued, event_id=event_id)
