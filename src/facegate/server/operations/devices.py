"""Edge devices as a resource: create (with a one-time enrolment token), list, revoke;
the device's side of enrolment and authentication; status reports and the contact that
events count as; commands.

Tokens and secrets are random and stored only as SHA-256 (as API keys are): a copy of the
database enrols no device and impersonates none. A token enrols once and expires; a
revoked device's secret fails at once, with `device_revoked` so the device can say why.

The broker is reached through a `BrokerLink` (the MQTT service, or `NoBroker` when the
server runs without a fleet), so these operations work the same from the API, the UI and
the tests, and know nothing of MQTT.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from facegate.fleet.protocol import Command, DeviceStatus, Kind, Signer, public_key_text
from facegate.server.access_policy import RULES
from facegate.server.auth import Principal, Role, digest
from facegate.server.db import fleet_capture
from facegate.server.db.database import bump
from facegate.server.db.fleet_models import Device
from facegate.server.db.models import AccessRuleRow, Entrance, utcnow
from facegate.server.device_schemas import (
    CommandIn,
    DeviceCreated,
    DeviceIn,
    DeviceOut,
    EnrolIn,
    EnrolOut,
    MqttLogin,
)
from facegate.server.errors import (
    BadDeviceSecret,
    BadDeviceToken,
    DeviceRevoked,
    DuplicateName,
    FleetOff,
    Invalid,
    UnknownId,
)
from facegate.server.operations.common import audit, fetch, require

TOKEN_TTL = timedelta(days=7)
TOKEN_PREFIX = "fgd_"
SECRET_PREFIX = "fgs_"


class BrokerLink(Protocol):
    """What the device operations need of the broker."""

    enabled: bool

    def device_url(self) -> str | None: ...

    def health(self) -> str:
        """off, connecting, connected or reconnecting (for /health)."""
        ...

    def add_device(self, device_id: int) -> tuple[str | None, str | None]:
        """A broker login for the device (username, password), or (None, None)."""
        ...

    def remove_device(self, device_id: int) -> None: ...

    def send(self, device_id: int, payload: bytes) -> None:
        """Publish a signed command envelope on the device's `cmd` topic."""
        ...


class NoBroker:
    """The server without a fleet (`fleet.mqtt_url` unset): devices can be made and can
    enrol and take snapshots over HTTP, but nothing goes out over MQTT."""

    enabled = False

    def device_url(self) -> str | None:
        return None

    def health(self) -> str:
        return "off"

    def add_device(self, device_id: int) -> tuple[str | None, str | None]:
        return None, None

    def remove_device(self, device_id: int) -> None:
        return None

    def send(self, device_id: int, payload: bytes) -> None:
        raise FleetOff("the server runs without a fleet (fleet.mqtt_url is not set)")


def device_out(d: Device) -> DeviceOut:
    behind = None if d.gallery_version is None else max(0, d.version - d.gallery_version)
    return DeviceOut(
        id=d.id,
        name=d.name,
        entrances=list(d.entrance_ids or []),
        enrolled=d.enrolled_at is not None,
        revoked=d.revoked_at is not None,
        online=bool(d.online) and d.revoked_at is None,
        last_seen=d.last_seen,
        gallery_version=d.gallery_version,
        server_version=d.version,
        behind=behind,
        software=d.software,
        hostname=d.hostname,
        entrance_states=d.entrance_states or {},
        outbox=d.outbox,
        created_at=d.created_at,
    )


def list_devices(session: Session) -> list[DeviceOut]:
    return [device_out(d) for d in session.scalars(select(Device).order_by(Device.name))]


def get_device(session: Session, device_id: int) -> DeviceOut:
    return device_out(fetch(session, Device, device_id, "device"))


def create_device(session: Session, who: Principal, body: DeviceIn) -> DeviceCreated:
    """A device for these entrances and its one-time enrolment token (shown only here)."""
    require(who, Role.ADMIN)
    taken = session.scalar(select(Device.id).where(Device.name == body.name))
    if taken is not None:
        raise DuplicateName(f"a device named {body.name!r} exists already")
    found = set(session.scalars(select(Entrance.id).where(Entrance.id.in_(body.entrances))))
    missing = sorted(set(body.entrances) - found)
    if missing:
        raise UnknownId(f"no entrance with id {missing[0]}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    d = Device(
        name=body.name,
        entrance_ids=list(body.entrances),
        token_hash=digest(token),
        token_expires_at=utcnow() + TOKEN_TTL,
        entrance_states={},
    )
    session.add(d)
    session.flush()
    audit(session, who, "device_create", f"device:{d.id}", name=d.name, entrances=body.entrances)
    session.commit()
    assert d.token_expires_at is not None
    return DeviceCreated(
        id=d.id,
        name=d.name,
        entrances=list(d.entrance_ids),
        token=token,
        token_expires_at=d.token_expires_at,
    )


def revoke_device(session: Session, link: BrokerLink, who: Principal, device_id: int) -> None:
    """Its secret fails from this commit on; its broker login is removed (a broker that
    cannot be reached now is retried by the next revoke: the device is refused by the
    server either way, and with per-device logins the ACLs name only its own topics)."""
    require(who, Role.ADMIN)
    d = fetch(session, Device, device_id, "device")
    if d.revoked_at is None:
        d.revoked_at = utcnow()
        d.online = False
        d.token_hash = None
        audit(session, who, "device_revoke", f"device:{d.id}", name=d.name)
        session.commit()
    link.remove_device(device_id)


def enrol(
    session: Session, link: BrokerLink, signer: Signer, prefix: str, body: EnrolIn
) -> EnrolOut:
    """Trade the one-time token for the device's secret, the server's public key and the
    broker login. The token is consumed in the same transaction (a second use fails)."""
    d = session.scalar(
        select(Device).where(Device.token_hash == digest(body.token)).with_for_update()
    )
    now = utcnow()
    if (
        d is None
        or d.revoked_at is not None
        or d.enrolled_at is not None
        or d.token_expires_at is None
        or d.token_expires_at < now
    ):
        raise BadDeviceToken("this device token is unknown, expired or used")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    username, password = link.add_device(d.id)  # before the commit: no login, no enrolment
    d.secret_hash = digest(secret)
    d.token_hash = None
    d.enrolled_at = now
    d.software = body.software[:128]
    d.hostname = body.hostname[:255]
    audit(session, f"device:{d.id}", "device_enrol", f"device:{d.id}", hostname=d.hostname)
    session.commit()
    return EnrolOut(
        device_id=d.id,
        name=d.name,
        secret=secret,
        public_key=public_key_text(signer.public),
        key_id=signer.key_id,
        mqtt=MqttLogin(
            url=link.device_url(), username=username, password=password, topic_prefix=prefix
        ),
        server_time=time.time(),
    )


def authenticate(session: Session, secret: str | None) -> Device:
    """The enrolled device this bearer secret belongs to; refused otherwise."""
    if not secret:
        raise BadDeviceSecret("a device route needs 'Authorization: Bearer <device secret>'")
    d = session.scalar(select(Device).where(Device.secret_hash == digest(secret)))
    if d is None:
        raise BadDeviceSecret("unknown device secret")
    if d.revoked_at is not None:
        raise DeviceRevoked(f"device {d.id} was revoked")
    return d


def apply_status(
    session: Session, status: DeviceStatus, device_id: int, device: Device | None = None
) -> bool:
    """A device's status message (or its last will) onto its row; the caller commits.
    A status for another device than the topic's, or from a revoked device, is ignored."""
    if status.device != device_id:
        return False
    d = device if device is not None else session.get(Device, device_id)
    if d is None or d.revoked_at is not None:
        return False
    d.online = status.online
    d.last_seen = utcnow()
    if status.gallery_version is not None:
        d.gallery_version = status.gallery_version
    if status.software:
        d.software = status.software[:128]
    if status.outbox is not None:
        d.outbox = status.outbox
    if status.entrances:
        d.entrance_states = {k: v.model_dump(mode="json") for k, v in status.entrances.items()}
    if status.rule_uses:
        _merge_rule_uses(session, d, status.rule_uses)
    return True


def apply_statuses(session: Session, statuses: Sequence[tuple[int, DeviceStatus]]) -> None:
    """`apply_status` for an ingest round's status messages (topic's device, status), with
    their devices read in one query: after each fan-out every device says its new version,
    and reading them one by one (a query and an autoflush each) took 1.1-1.5 s per 1,000
    statuses against 0.1 s (PostgreSQL, profiled), beside the next fan-out on the same cores."""
    ids = sorted({dev for dev, _ in statuses})
    if not ids:
        return
    rows = {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(ids)))}
    for dev, status in statuses:
        if dev in rows:
            apply_status(session, status, dev, rows[dev])


def _merge_rule_uses(session: Session, d: Device, reported: dict[int, int]) -> None:
    """A device's guest-pass opens onto its row, as the highest count it ever reported (a
    device whose data dir was wiped starts again from 0: those opens still happened); a
    count that grew sends the rule set, with the fleet's total, to the rule's devices."""
    old = {int(k): int(v) for k, v in (d.rule_uses or {}).items()}
    new = dict(old)
    for rule, n in reported.items():
        if 0 < n < 2**31 and n > new.get(rule, 0):
            new[rule] = n
    grown = sorted(r for r in new if new[r] != old.get(r, 0))
    if not grown:
        return
    d.rule_uses = {str(k): v for k, v in sorted(new.items())}
    rows = session.execute(
        select(AccessRuleRow.id, AccessRuleRow.entrance_ids).where(AccessRuleRow.id.in_(grown))
    ).all()
    fleet_capture.record_rule_uses(session, [(int(i), ents) for i, ents in rows])
    bump(session, RULES)  # the server's own doors count them too


def mark_seen(session: Session, device_ids: Iterable[int]) -> None:
    """Events arrived from these devices: they were there just now (`last_seen`), even
    when their status messages are far apart. One UPDATE per ingest batch, whatever the
    number of devices and events in it (one per device was a third of the ingest's CPU
    with 500 devices in a batch); the rows are locked in id order first, the order the
    publisher takes them in too, so neither waits on the other in a cycle. `online` is
    left to the status and the last will, which say it exactly. The caller commits."""
    ids = sorted(set(device_ids))
    if not ids:
        return
    lock_in_order(session, ids)
    session.execute(
        update(Device)
        .where(Device.id.in_(ids), Device.revoked_at.is_(None))
        .values(last_seen=utcnow())
    )


def lock_in_order(session: Session, ids: Sequence[int]) -> None:
    """Lock these devices' rows in id order (PostgreSQL; a no-op on SQLite, which locks
    the whole database): an UPDATE over an IN list locks in whatever order it scans."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Device.id).where(Device.id.in_(list(ids))).order_by(Device.id).with_for_update()
        )


def send_command(
    session: Session,
    link: BrokerLink,
    signer: Signer,
    who: Principal,
    device_id: int,
    body: CommandIn,
    ttl_s: float,
) -> str:
    """Sign and publish a command (open the door, reload, restart an entrance), audited
    with its reason first: an open the broker then loses is still on record as asked."""
    require(who, Role.OPERATOR)
    d = fetch(session, Device, device_id, "device")
    if d.revoked_at is not None or d.enrolled_at is None:
        raise Invalid(f"device {d.id} is {'revoked' if d.revoked_at else 'not enrolled'}")
    if body.action == "restart_entrance" and not body.entrance:
        raise Invalid("restart_entrance needs the entrance's name")
    if not link.enabled:
        link.send(d.id, b"")  # raises FleetOff
    cmd = Command(
        id=uuid.uuid4().hex,
        action=body.action,
        entrance=body.entrance,
        reason=body.reason,
        by=who.name,
        expires_at=time.time() + ttl_s,
    )
    audit(
        session,
        who,
        "device_command",
        f"device:{d.id}",
        command=cmd.id,
        order=cmd.action,
        entrance=cmd.entrance,
        reason=cmd.reason,
    )
    session.commit()
    link.send(d.id, signer.seal(Kind.COMMAND, d.id, cmd))
    return cmd.id
