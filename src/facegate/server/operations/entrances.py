"""Entrances (camera source, door adapter, thresholds, liveness), their runtimes and manual
opens. A change is checked against what the runtime can run (a source that exists, FMRs the
recognisers are calibrated for, a PAD model that is there), stored with its audit entry in
one transaction, then the entrance's runtime restarts with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate import masking
from facegate.errors import ConfigError, FaceGateError
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.doors import DoorConfig
from facegate.runtime.liveness import LivenessConfig
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources import SourceConfig, is_camera_spec
from facegate.server.access_policy import RULES
from facegate.server.auth import Principal, Role
from facegate.server.db.database import bump
from facegate.server.db.models import Entrance
from facegate.server.errors import (
    BadLiveness,
    BadSource,
    BadThreshold,
    Disabled,
    DuplicateName,
    SecretRequired,
)
from facegate.server.operations import allowed
from facegate.server.operations.common import audit, fetch, require
from facegate.server.schemas import EntranceIn, EntranceOut, EntranceUpdate, OpenOut
from facegate.server.state import ServerState

_door = TypeAdapter(DoorConfig)
M = TypeVar("M", bound=BaseModel)


def _masked_source(source: dict | None) -> dict | None:
    """A stored source as every reader sees it: a URL's password and tokens as ***."""
    return masking.masked(SourceConfig.model_validate(source)) if source else None


def entrance_out(state: ServerState, row: Entrance) -> EntranceOut:
    """An entrance as the API and the UI show it, to every role: secrets (camera and broker
    passwords, door tokens, credential headers) are write-only and read back as ***
    (`facegate.masking`); sending *** back keeps the stored secret (`update_entrance`)."""
    return EntranceOut(
        id=row.id,
        name=row.name,
        enabled=row.enabled,
        source=SourceConfig.model_validate(_masked_source(row.source)) if row.source else None,
        door=_door.validate_python(masking.masked(_door.validate_python(row.door))),
        decision=DecisionConfig.model_validate(row.decision),
        quality=QualityConfig.model_validate(row.quality),
        liveness=LivenessConfig.model_validate(row.liveness or {}),
        status=state.entrances.status(row.id),
    )


def list_entrances(session: Session, state: ServerState) -> list[EntranceOut]:
    return [entrance_out(state, r) for r in session.scalars(select(Entrance).order_by(Entrance.id))]


def entrance_names(session: Session) -> dict[int, str]:
    """Id -> name, by id."""
    return dict(session.execute(select(Entrance.id, Entrance.name).order_by(Entrance.id)).all())


def sorted_names(session: Session) -> list[str]:
    """Every entrance's name, in the database's order of names."""
    return list(session.scalars(select(Entrance.name).order_by(Entrance.name)))


def get_entrance(session: Session, state: ServerState, entrance_id: int) -> EntranceOut:
    return entrance_out(state, fetch(session, Entrance, entrance_id, "entrance"))


# -- checks ----------------------------------------------------------------------------------


def _name_free(session: Session, name: str, but: int | None = None) -> None:
    q = select(Entrance.id).where(Entrance.name == name)
    if but is not None:
        q = q.where(Entrance.id != but)
    if session.scalar(q) is not None:
        raise DuplicateName(f"an entrance named {name!r} exists already")


def _exists(path: str | Path) -> bool:
    try:
        p = Path(path).expanduser()
        return p.is_file() or p.is_dir()
    except (OSError, ValueError):  # NUL bytes, names too long for the file system
        return False


def check_source(source: SourceConfig | None) -> None:
    """A source the runtime can open: a camera (index, /dev/video*, URL; it may be offline
    for now, the runtime reconnects) or a file or folder that exists on this server. A typo
    is refused here rather than becoming an entrance that silently watches nothing."""
    if source is None:
        return
    uri = source.uri.strip()
    if not uri:
        raise BadSource(
            "the source is blank: give a camera index, "
            "/dev/video*, an rtsp:// or http:// URL, or a video file or folder"
        )
    if "\x00" in uri:
        raise BadSource("the source must not contain NUL characters")
    if not is_camera_spec(uri) and not _exists(uri):
        raise BadSource(
            f"no such file, folder or camera on the server: "
            f"{uri} (a camera is an index such as 0, /dev/video0 or an rtsp:// or "
            "http:// URL)"
        )


def check_liveness(liveness: LivenessConfig) -> None:
    """A configured PAD model must be there, or the runtime would fail to start."""
    if liveness.model is not None and not _exists(liveness.model):
        raise BadLiveness(
            f"no PAD model at {liveness.model} on the server "
            "(a MiniFASNet-layout ONNX file or a folder of them)"
        )


def check_decision(state: ServerState, decision: DecisionConfig) -> None:
    """The target false-match rates must lie within what the recognisers are calibrated for,
    or the runtime's decision stage would refuse to start: say so while the form is open."""
    with state.face_engine() as engine:
        fast = engine.config.model
        try:
            engine.threshold(fast, decision.fmr)
            if decision.confirm:
                for model in engine.model_names:
                    if model != fast:
                        engine.threshold(model, decision.confirm_fmr)
            if decision.confirm and decision.confirm_by == "fusion":
                try:
                    fusion = engine.fusion_calibration()
                except ConfigError:
                    fusion = None  # the runtime says so at start-up and confirms by model
                if fusion is not None:
                    fusion.threshold(decision.fusion_fmr)
        except FaceGateError as exc:
            raise BadThreshold(str(exc)) from None


def _with_secrets(new: M | None, stored: dict | None, parse: Callable[[dict], M]) -> M | None:
    """`new` with *** put back from the stored settings (same destination only)."""
    if new is None:
        return None
    try:
        return masking.restore(new, parse(stored) if stored else None)
    except masking.SecretRequired as exc:
        raise SecretRequired(str(exc)) from None


def restore_source(source: SourceConfig, stored: dict | None) -> SourceConfig:
    """A source as a form sends it back, with `***` put back from the stored one (same
    camera only; else `secret_required`)."""
    restored = _with_secrets(source, stored, SourceConfig.model_validate)
    assert restored is not None
    return restored


# -- changes ---------------------------------------------------------------------------------


def create_entrance(
    session: Session, state: ServerState, who: Principal, body: EntranceIn
) -> EntranceOut:
    """A new door, audited; with a source and enabled, its runtime starts at once. Sections
    the body leaves out come from the server config's `runtime:` section (see `EntranceIn`)."""
    require(who, Role.OPERATOR)
    rc = state.config.runtime
    given = body.model_fields_set
    decision = body.decision if "decision" in given else rc.decision
    quality = body.quality if "quality" in given else rc.quality
    liveness = body.liveness if "liveness" in given else rc.liveness
    source = _with_secrets(body.source, None, SourceConfig.model_validate)
    door = _with_secrets(body.door, None, _door.validate_python)
    sc = state.config.server
    allowed.check_source(sc, who, source)  # before anything looks at the file system
    allowed.check_door(sc, who, door)
    allowed.check_liveness(sc, who, body.liveness if "liveness" in given else None)
    check_source(source)
    check_liveness(liveness)
    check_decision(state, decision)
    _name_free(session, body.name)
    row = Entrance(
        name=body.name,
        enabled=body.enabled,
        source=source.model_dump(mode="json") if source else None,
        door=door.model_dump(mode="json"),
        decision=decision.model_dump(mode="json"),
        quality=quality.model_dump(mode="json"),
        liveness=liveness.model_dump(mode="json"),
    )
    session.add(row)
    session.flush()
    bump(session, RULES)  # rules may name entrances
    audit(
        session,
        who,
        "entrance_create",
        f"entrance:{row.id}",
        name=row.name,
        source=_masked_source(row.source),
        door=row.door.get("kind"),
        liveness=liveness.active_checks(),
    )
    session.commit()
    state.entrances.restart(row.id)
    return entrance_out(state, row)


def update_entrance(
    session: Session, state: ServerState, who: Principal, entrance_id: int, body: EntranceUpdate
) -> EntranceOut:
    """Change the given settings, audited; the entrance's runtime restarts with them."""
    require(who, Role.OPERATOR)
    row = fetch(session, Entrance, entrance_id, "entrance")
    source = _with_secrets(body.source, row.source, SourceConfig.model_validate)
    door = _with_secrets(body.door, row.door, _door.validate_python)
    sc = state.config.server  # operators are bound by the allow-lists for what they change
    if source is not None and source.model_dump(mode="json") != row.source:
        allowed.check_source(sc, who, source)
    if door is not None and door.model_dump(mode="json") != row.door:
        allowed.check_door(sc, who, door)
    stored_model = (row.liveness or {}).get("model")
    if body.liveness is not None and body.liveness.model_dump(mode="json")["model"] != stored_model:
        allowed.check_liveness(sc, who, body.liveness)
    if not body.clear_source:
        check_source(source)
    if body.liveness is not None:
        check_liveness(body.liveness)
    if body.decision is not None:
        check_decision(state, body.decision)
    changed = sorted(body.model_dump(exclude_unset=True))
    if body.name is not None:
        _name_free(session, body.name, but=row.id)
        row.name = body.name
    if body.enabled is not None:
        row.enabled = body.enabled
    if body.clear_source:
        row.source = None
    elif source is not None:
        row.source = source.model_dump(mode="json")
    if door is not None:
        row.door = door.model_dump(mode="json")
    for key in ("decision", "quality", "liveness"):
        value = getattr(body, key)
        if value is not None:
            setattr(row, key, value.model_dump(mode="json"))
    bump(session, RULES)
    audit(
        session,
        who,
        "entrance_update",
        f"entrance:{row.id}",
        fields=changed,
        source=_masked_source(row.source),
    )
    session.commit()
    state.entrances.restart(row.id)
    return entrance_out(state, row)


def delete_entrance(session: Session, state: ServerState, who: Principal, entrance_id: int) -> None:
    """The entrance and its runtime (its events stay in the journal)."""
    require(who, Role.OPERATOR)
    row = fetch(session, Entrance, entrance_id, "entrance")
    audit(session, who, "entrance_delete", f"entrance:{row.id}", name=row.name)
    session.delete(row)
    bump(session, RULES)
    session.commit()
    state.entrances.stop(entrance_id)


def restart_entrance(
    session: Session, state: ServerState, who: Principal, entrance_id: int
) -> EntranceOut:
    """Start the runtime again (a video file that played to its end, a camera fixed)."""
    require(who, Role.OPERATOR)
    row = fetch(session, Entrance, entrance_id, "entrance")
    audit(session, who, "entrance_restart", f"entrance:{row.id}")
    session.commit()
    state.entrances.restart(row.id)
    return entrance_out(state, row)


def open_door(
    session: Session, state: ServerState, who: Principal, entrance_id: int, reason: str
) -> OpenOut:
    """Open the door by hand; the reason goes to the journal and the audit log."""
    require(who, Role.OPERATOR)
    row = fetch(session, Entrance, entrance_id, "entrance")
    if not row.enabled:
        raise Disabled(f"entrance {row.name} is disabled")
    queued, event_id = state.entrances.open_door(row.id, reason, who.name)
    audit(
        session,
        who,
        "door_open",
        f"entrance:{row.id}",
        reason=reason,
        queued=queued,
        event=event_id,
    )
    session.commit()
    return OpenOut(queued=queued, event_id=event_id)
