"""Entrances through `operations.entrances`: settings checked against what the runtime can
run, stored with their audit entry, the runtime restarted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.runtime.sources import SourceConfig
from facegate.server.db.models import AuditEntry
from facegate.server.errors import (
    BadLiveness,
    BadSource,
    BadThreshold,
    Disabled,
    DuplicateName,
    Forbidden,
    NotFound,
)
from facegate.server.operations import entrances
from facegate.server.schemas import EntranceIn, EntranceUpdate
from facegate.server.state import ServerState
from tests.server.conftest import ADMIN, OPERATOR, VIEWER


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_settings_the_runtime_cannot_run_are_refused_and_nothing_is_stored(
    session: Session, state: ServerState, tmp_path: Path
) -> None:
    cases = [
        (BadSource, "no such file, folder or camera", {"source": {"uri": "/no/such.mp4"}}),
        (BadSource, "the source is blank", {"source": {"uri": "  "}}),
        (BadThreshold, "calibrated for FMR", {"decision": {"fmr": 0.3}}),
        (BadLiveness, "no PAD model at", {"liveness": {"model": str(tmp_path / "x.onnx")}}),
        (DuplicateName, "an entrance named 'main' exists already", {"name": "main"}),
    ]
    for error, message, body in cases:
        with pytest.raises(error, match=message):
            entrances.create_entrance(  # an admin: operators are bound to the media folders
                session, state, ADMIN, EntranceIn.model_validate({"name": "garage", **body})
            )
        session.rollback()
    assert [e.name for e in entrances.list_entrances(session, state)] == ["main"]
    assert _actions(session) == []
    with pytest.raises(Forbidden):
        entrances.create_entrance(session, state, VIEWER, EntranceIn(name="garage"))


def test_create_change_open_and_delete(
    session: Session, state: ServerState, tmp_path: Path
) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    side = entrances.create_entrance(session, state, OPERATOR, EntranceIn(name="side"))
    assert side.decision == state.config.runtime.decision  # left out: the config's
    assert side.status.state == "no_source"
    body = EntranceUpdate(source=SourceConfig(uri=str(folder)), enabled=False)
    changed = entrances.update_entrance(session, state, ADMIN, side.id, body)
    assert changed.source.uri == str(folder) and changed.status.state == "disabled"
    with pytest.raises(Disabled, match="entrance side is disabled"):
        entrances.open_door(session, state, OPERATOR, side.id, "parcel")
    main = entrances.entrance_names(session)
    main_id = next(i for i, n in main.items() if n == "main")
    opened = entrances.open_door(session, state, OPERATOR, main_id, "parcel delivery")
    assert opened.queued and opened.event_id is not None
    entrances.delete_entrance(session, state, OPERATOR, side.id)
    with pytest.raises(NotFound, match=f"no entrance with id {side.id}"):
        entrances.get_entrance(session, state, side.id)
    assert entrances.sorted_names(session) == ["main"]
    assert _actions(session) == [
        "entrance_create",
        "entrance_update",
        "door_open",
        "entrance_delete",
    ]
