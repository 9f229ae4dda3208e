"""Changes and queries the REST API and the web UI's forms share (the server's counterpart of
`facegate.service`, which the CLI and the API share): one function per operation, so both
validate, store, audit and restart runtimes the same way, and a fix lands in both.

They raise `ApiError` (a status, a stable code and a message for people): the API turns it
into its JSON error, a form shows the message next to the fields.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.errors import ConfigError, FaceGateError
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.events import Decision
from facegate.runtime.journal import Journal
from facegate.runtime.liveness import LivenessConfig
from facegate.runtime.sources import SourceConfig, is_camera_spec
from facegate.server.access_policy import RULES
from facegate.server.api.errors import ApiError, not_found
from facegate.server.auth import Principal
from facegate.server.db.database import bump
from facegate.server.db.models import Entrance
from facegate.server.deps import audit
from facegate.server.schemas import EntranceIn, EntranceUpdate
from facegate.server.state import ServerState

# -- entrances -------------------------------------------------------------------------------


def get_entrance(session: Session, entrance_id: int) -> Entrance:
    row = session.get(Entrance, entrance_id)
    if row is None:
        raise not_found("entrance", entrance_id)
    return row


def entrance_name_free(session: Session, name: str, but: int | None = None) -> None:
    q = select(Entrance.id).where(Entrance.name == name)
    if but is not None:
        q = q.where(Entrance.id != but)
    if session.scalar(q) is not None:
        raise ApiError(409, "duplicate_name", f"an entrance named {name!r} exists already")


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
        raise ApiError(
            400,
            "bad_source",
            "the source is blank: give a camera index, "
            "/dev/video*, an rtsp:// or http:// URL, or a video file or folder",
        )
    if "\x00" in uri:
        raise ApiError(400, "bad_source", "the source must not contain NUL characters")
    if not is_camera_spec(uri) and not _exists(uri):
        raise ApiError(
            400,
            "bad_source",
            f"no such file, folder or camera on the server: "
            f"{uri} (a camera is an index such as 0, /dev/video0 or an rtsp:// or "
            "http:// URL)",
        )


def check_liveness(liveness: LivenessConfig) -> None:
    """A configured PAD model must be there, or the runtime would fail to start."""
    if liveness.model is not None and not _exists(liveness.model):
        raise ApiError(
            400,
            "bad_liveness",
            f"no PAD model at {liveness.model} on the server "
            "(a MiniFASNet-layout ONNX file or a folder of them)",
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
            raise ApiError(400, "bad_threshold", str(exc)) from None


def create_entrance(
    session: Session, state: ServerState, who: Principal, body: EntranceIn
) -> Entrance:
    """A new door, audited; with a source and enabled, its runtime starts at once. Sections
    the body leaves out come from the server config's `runtime:` section (see `EntranceIn`)."""
    rc = state.config.runtime
    given = body.model_fields_set
    decision = body.decision if "decision" in given else rc.decision
    quality = body.quality if "quality" in given else rc.quality
    liveness = body.liveness if "liveness" in given else rc.liveness
    check_source(body.source)
    check_liveness(liveness)
    check_decision(state, decision)
    entrance_name_free(session, body.name)
    row = Entrance(
        name=body.name,
        enabled=body.enabled,
        source=body.source.model_dump(mode="json") if body.source else None,
        door=body.door.model_dump(mode="json"),
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
        source=row.source,
        door=row.door.get("kind"),
        liveness=liveness.active_checks(),
    )
    session.commit()
    state.entrances.restart(row.id)
    return row


def update_entrance(
    session: Session, state: ServerState, who: Principal, entrance_id: int, body: EntranceUpdate
) -> Entrance:
    """Change the given settings, audited; the entrance's runtime restarts with them."""
    if not body.clear_source:
        check_source(body.source)
    if body.liveness is not None:
        check_liveness(body.liveness)
    if body.decision is not None:
        check_decision(state, body.decision)
    row = get_entrance(session, entrance_id)
    changed = sorted(body.model_dump(exclude_unset=True))
    if body.name is not None:
        entrance_name_free(session, body.name, but=row.id)
        row.name = body.name
    if body.enabled is not None:
        row.enabled = body.enabled
    if body.clear_source:
        row.source = None
    elif body.source is not None:
        row.source = body.source.model_dump(mode="json")
    for key in ("door", "decision", "quality", "liveness"):
        value = getattr(body, key)
        if value is not None:
            setattr(row, key, value.model_dump(mode="json"))
    bump(session, RULES)
    audit(session, who, "entrance_update", f"entrance:{row.id}", fields=changed, source=row.source)
    session.commit()
    state.entrances.restart(row.id)
    return row


# -- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """The event log's filters (times as epoch seconds, as the journal keeps them)."""

    entrance: str | None = None
    person: str | None = None
    decision: Decision | None = None
    since: float | None = None
    until: float | None = None


def epoch(d: datetime | None) -> float | None:
    """A filter time as the journal's epoch seconds; a naive time is UTC."""
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


def encode_cursor(event: dict[str, Any]) -> str:
    """The position after `event` in newest-first order: its exact time and id."""
    raw = f"{float(event['time'])!r}/{int(event['id'])}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        t, i = raw.split("/")
        when, ident = float(t), int(i)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ApiError(
            400,
            "bad_cursor",
            "the cursor is not one this server handed out; start again from the first page",
        ) from None
    if when != when or when in (float("inf"), float("-inf")):
        raise ApiError(400, "bad_cursor", "the cursor is not one this server handed out")
    return when, ident


def event_page(
    journal: Journal, f: EventFilter, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of events, newest first, older than `cursor`, and the next page's cursor.

    The journal orders by (time, id) descending; the page continues strictly after the
    cursor's (time, id), so events that arrive meanwhile, or share a time, are neither
    repeated nor skipped.
    """
    after = decode_cursor(cursor) if cursor else None
    until = f.until
    if after is not None:
        until = after[0] if until is None else min(until, after[0])
    skip = 0
    while True:
        want = limit + 1 + skip
        rows = journal.query(
            entrance=f.entrance,
            person=f.person,
            decision=f.decision,
            since=f.since,
            until=until,
            limit=want,
        )
        # rows at the cursor's very time that it already covered come first: drop them
        drop = 0
        if after is not None:
            while drop < len(rows) and (rows[drop]["time"], rows[drop]["id"]) >= after:
                drop += 1
        if len(rows) < want or len(rows) - drop > limit:
            break
        skip = drop  # > the previous skip: every round fetches more, so this ends
    rows = rows[drop:]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None
