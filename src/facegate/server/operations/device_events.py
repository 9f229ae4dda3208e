"""Door events sent up by edge devices (`device_events`), as the event log reads them: a
page in the journal's dict shape (plus `device`, `event_id`, `snapshot_url`), counts for
the dashboard, and the best shots devices upload afterwards (sealed in the database, so any
replica serves them).

Ordering with the journal: both are read newest first by (time, source, id), source 0 for
the journal and 1 for devices; `operations.events` merges the two pages on that key, so a
cursor names one exact place in the merged log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session

from facegate.server.db.fleet_models import Device, DeviceEvent
from facegate.server.errors import EventUnknown, Invalid, NotFound
from facegate.vault import Vault

SNAPSHOT_ROUTE = "/api/v1/devices/events/{}/snapshot"
JPEG_MAGIC = b"\xff\xd8\xff"


def _filtered(q: Any, f: Any) -> Any:
    if f.entrance is not None:
        q = q.where(DeviceEvent.entrance == f.entrance)
    if f.person is not None:
        q = q.where(DeviceEvent.person == f.person)
    if f.decision is not None:
        q = q.where(DeviceEvent.decision == str(getattr(f.decision, "value", f.decision)))
    if f.since is not None:
        q = q.where(DeviceEvent.time >= float(f.since))
    if f.until is not None:
        q = q.where(DeviceEvent.time <= float(f.until))
    return q


def _columns() -> Any:
    return select(
        DeviceEvent.id,
        DeviceEvent.event_id,
        DeviceEvent.time,
        DeviceEvent.entrance,
        DeviceEvent.decision,
        DeviceEvent.person,
        DeviceEvent.person_id,
        DeviceEvent.reason,
        DeviceEvent.track,
        DeviceEvent.scores,
        DeviceEvent.liveness,
        DeviceEvent.door,
        DeviceEvent.snapshot.is_not(None),
        Device.name,
    ).join(Device, Device.id == DeviceEvent.device_id)


def _row(r: Any) -> dict[str, Any]:
    """A `device_events` row in the journal's dict shape (`events.event_out` reads both)."""
    return {
        "id": r[0],
        "event_id": r[1],
        "time": float(r[2]),
        "entrance": r[3],
        "decision": r[4],
        "person": r[5],
        "person_id": r[6],
        "reason": r[7] or "",
        "track": r[8],
        "scores": r[9] or {},
        "liveness": r[10] or {},
        "door": r[11],
        "time_to_open_ms": None,
        "snapshot": None,
        "snapshot_url": SNAPSHOT_ROUTE.format(r[1]) if r[12] else None,
        "device": r[13],
        "source": 1,
    }


def page(
    engine: Engine, f: Any, limit: int, after: tuple[float, int, int] | None
) -> list[dict[str, Any]]:
    """Up to `limit` device events matching `f` (an `events.EventFilter`), newest first,
    strictly after the merged-log position `after` = (time, source, id)."""
    q = _filtered(_columns(), f)
    if after is not None:
        t, source, ident = after
        q = q.where(
            or_(DeviceEvent.time < t, and_(DeviceEvent.time == t, DeviceEvent.id < ident))
            if source == 1
            else DeviceEvent.time < t
        )
    q = q.order_by(DeviceEvent.time.desc(), DeviceEvent.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return [_row(r) for r in rows]


def last_of(
    engine: Engine, entrances: Sequence[str], decisions: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each entrance's newest device event with one of `decisions` (the dashboard's "last
    visitor"), by entrance name; entrances with none are absent. One query per entrance
    (newest first, LIMIT 1) on one connection: it stops at the entrance's newest match
    rather than grouping the whole table."""
    out: dict[str, dict[str, Any]] = {}
    if not entrances:
        return out
    with engine.connect() as conn:
        for name in entrances:
            q = (
                _columns()
                .where(DeviceEvent.entrance == name, DeviceEvent.decision.in_(list(decisions)))
                .order_by(DeviceEvent.time.desc(), DeviceEvent.id.desc())
                .limit(1)
            )
            r = conn.execute(q).first()
            if r is not None:
                out[name] = _row(r)
    return out


def count_by(engine: Engine, since: float) -> dict[tuple[str, str], int]:
    """Device events since `since` per (entrance, decision), as `Journal.count_by`."""
    q = (
        select(DeviceEvent.entrance, DeviceEvent.decision, func.count())
        .where(DeviceEvent.time >= since)
        .group_by(DeviceEvent.entrance, DeviceEvent.decision)
    )
    with engine.connect() as conn:
        return {(e, d): int(n) for e, d, n in conn.execute(q).all()}


def store_snapshot(
    session: Session, vault: Vault, device_id: int, event_id: str, jpeg: bytes
) -> None:
    """A best shot for one of this device's stored events (sending it again replaces it)."""
    if not jpeg.startswith(JPEG_MAGIC):
        raise Invalid("a best shot must be a JPEG")
    found = session.execute(
        update(DeviceEvent)
        .where(DeviceEvent.event_id == event_id, DeviceEvent.device_id == device_id)
        .values(snapshot=vault.seal(jpeg))
    )
    if not found.rowcount:
        raise EventUnknown(f"no event {event_id} from this device is stored (yet)")


def snapshot_jpeg(session: Session, vault: Vault, event_id: str) -> bytes:
    blob = session.scalar(select(DeviceEvent.snapshot).where(DeviceEvent.event_id == event_id))
    if blob is None:
        raise NotFound("no such snapshot")
    return vault.open(blob)
