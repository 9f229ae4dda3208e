"""Tables of the fleet (edge devices), next to `models` (which stays the core schema).

* `devices`: one edge computer, its credentials (hashes only), its version chain and what
  it last said about itself.
* `fleet_changes`: the durable change outbox. A row is written in the same transaction as
  the change it describes (`db.fleet_capture`), so a crash between the commit and the
  publish loses nothing: the publisher (`server.fleet`) sends what is unpublished.
* `device_events`: door events sent up by devices, stored once per event id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column

from facegate.server.db.models import Base, UTCDateTime, utcnow


class Device(Base):
    """An edge device. `token_hash` (the one-time enrolment token) is cleared when the
    device enrols; `secret_hash` is what its bearer secret must hash to afterwards.

    `version` is the device's own chain (see `fleet.protocol`): bumped, and committed,
    before a delta is published, so a crash in between shows the device a gap (and it
    takes a snapshot) rather than two deltas with one number. `published_version` is the
    newest version whose head went out; a device whose version is ahead of it gets its head
    again (crash recovery)."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    entrance_ids: Mapped[list] = mapped_column(JSON, default=list)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    published_version: Mapped[int] = mapped_column(Integer, default=0)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    gallery_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    software: Mapped[str] = mapped_column(String(128), default="")
    entrance_states: Mapped[dict] = mapped_column(JSON, default=dict)
    outbox: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: rule id (as text) -> opens the device granted by it, the highest it ever reported
    rule_uses: Mapped[dict] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FleetChange(Base):
    """Something devices must hear about: `kind` is resident, entrance or rules;
    `subject_id` the row's id; `scope` what a rule touched before and after the change
    (`{"residents": [...] | null, "entrances": [...] | null}`, null meaning every one), so
    the fan-out knows which devices and residents to send without keeping old copies."""

    __tablename__ = "fleet_changes"
    seq: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scope: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    __table_args__ = (Index("ix_fleet_changes_published_at", "published_at", "seq"),)


class DeviceEvent(Base):
    """A door event from a device. `event_id` (made on the device) is unique: a batch sent
    twice (QoS 1 redelivery, a retry after a lost ack) is stored once. `time` is epoch
    seconds, as the journal keeps it, so the event log merges both by (time, id). The best
    shot is sealed by the vault and kept in the database, so every replica can serve it."""

    __tablename__ = "device_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    entrance: Mapped[str] = mapped_column(String(128))
    time: Mapped[float] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(32))
    person: Mapped[str | None] = mapped_column(String(200), nullable=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    track: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    liveness: Mapped[dict] = mapped_column(JSON, default=dict)
    door: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    snapshot_expected: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (
        Index("ix_device_events_time_id", "time", "id"),
        Index("ix_device_events_device_id", "device_id"),
    )


def uses_on_devices(session: Session) -> dict[int, int]:
    """Opens granted on edge devices per access rule id, summed over the devices (a revoked
    device's opens happened all the same): what a guest pass has used away from the
    server, added to `AccessRuleRow.uses` wherever a count is shown or enforced."""
    out: dict[int, int] = {}
    for (uses,) in session.execute(select(Device.rule_uses)):
        for rule, n in (uses or {}).items():
            out[int(rule)] = out.get(int(rule), 0) + int(n)
    return out
