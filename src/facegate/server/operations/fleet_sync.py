"""What each device holds and what it must be told: snapshots, the delta fan-out of the
change outbox, and the ingest of the events devices send up.

Who is on a device: the residents an active rule grants at one of its entrances (a rule
for everyone or everywhere counts), or every resident when the server has no active rule
at all (as `DbAccessPolicy` decides). Templates only, never photos. Inactive residents are
not sent: a device that does not know a face keeps the door shut.

Deltas are built from the database as it is when the change is published, not as it was
when the change was made: a change only says *who* to look at again, so changes published
late, twice or out of order still leave each device with the current state (records carry
`rev`, the change number, so a redelivered older record never wins on the device).

Rule changes that touch "every resident", and any rule change that may flip the server
between "no rules" and "some rules", would have the server guess what a device holds;
those devices are told to take a snapshot instead (a delta whose `prev` is not their
version: a deliberate gap). So is a delta that would carry more than `MAX_DELTA_RESIDENTS`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from facegate.fleet.protocol import (
    Delta,
    EntranceRecord,
    EventBatch,
    RemoveEntrance,
    RemoveResident,
    ReplaceRules,
    ResidentRecord,
    RuleSet,
    Snapshot,
    TemplateRecord,
    UpsertEntrance,
    UpsertResident,
)
from facegate.runtime.access import AccessRule
from facegate.server.db.fleet_capture import ENTRANCE, RESIDENT, RULES
from facegate.server.db.fleet_models import Device, DeviceEvent, FleetChange
from facegate.server.db.models import AccessRuleRow, Entrance, Resident, Template, utcnow
from facegate.vault import Vault

log = logging.getLogger("facegate.server.fleet")

#: More residents than this in one device's delta: a snapshot is cheaper and simpler.
MAX_DELTA_RESIDENTS = 200


# -- who is granted where ----------------------------------------------------------------------


@dataclass
class Grants:
    """The active rules, read once per batch or snapshot."""

    rules: list[AccessRuleRow]
    entrance_names: dict[int, str]

    @classmethod
    def load(cls, session: Session) -> Grants:
        rules = list(
            session.scalars(
                select(AccessRuleRow).where(AccessRuleRow.active).order_by(AccessRuleRow.id)
            )
        )
        names = dict(session.execute(select(Entrance.id, Entrance.name)).all())
        return cls(rules, {int(k): v for k, v in names.items()})

    def at(self, entrances: Iterable[int]) -> list[AccessRuleRow]:
        """The rules that concern any of these entrances."""
        ents = set(entrances)
        return [r for r in self.rules if r.entrance_ids is None or ents & set(r.entrance_ids)]

    def residents_at(self, entrances: Iterable[int]) -> set[int] | None:
        """The resident ids granted at these entrances; None = every resident."""
        if not self.rules:
            return None
        out: set[int] = set()
        for r in self.at(entrances):
            if r.resident_ids is None:
                return None
            out.update(int(i) for i in r.resident_ids)
        return out

    def rule_set(self, session: Session, entrances: Sequence[int], timezone: str | None) -> RuleSet:
        """The device's rules by name, as `DbAccessPolicy` builds the server's."""
        rows = self.at(entrances)
        ids = {int(i) for r in rows for i in (r.resident_ids or [])}
        names = (
            {
                int(i): n
                for i, n in session.execute(
                    select(Resident.id, Resident.name).where(Resident.id.in_(ids))
                )
            }
            if ids
            else {}
        )
        rules, rule_ids, uses = [], [], []
        for row in rows:
            people = (
                ["*"]
                if row.resident_ids is None
                else [names[i] for i in row.resident_ids if i in names]
            )
            where = (
                ["*"]
                if row.entrance_ids is None
                else [self.entrance_names[i] for i in row.entrance_ids if i in self.entrance_names]
            )
            if not people or not where:
                continue
            rules.append(
                AccessRule(
                    people=people,
                    entrances=where,
                    windows=row.windows,
                    valid_from=row.valid_from,
                    valid_until=row.valid_until,
                    max_uses=row.max_uses,
                )
            )
            rule_ids.append(row.id)
            uses.append(row.uses)
        # with rules elsewhere but none here, nobody may open here: default_allow is for a
        # server with no active rule at all
        return RuleSet(
            timezone=timezone,
            default_allow=not self.rules,
            rules=rules,
            rule_ids=rule_ids,
            uses=uses,
        )


# -- records ----------------------------------------------------------------------------------


def revs(session: Session, resident_ids: Iterable[int] | None) -> dict[int, int]:
    """Each resident's change number: the newest `fleet_changes` row about them."""
    q = (
        select(FleetChange.subject_id, func.max(FleetChange.seq))
        .where(FleetChange.kind == RESIDENT)
        .group_by(FleetChange.subject_id)
    )
    if resident_ids is not None:
        ids = list(resident_ids)
        if not ids:
            return {}
        q = q.where(FleetChange.subject_id.in_(ids))
    return {int(s): int(m) for s, m in session.execute(q).all() if s is not None}


def batch_revs(
    session: Session, resident_ids: Iterable[int], seqs: Sequence[int]
) -> dict[int, int]:
    """The change number each resident's op carries in a batch of changes `seqs`: at least
    the batch's newest change number, not only the resident's own newest change.

    A rule change moves residents on and off devices without being a change of the resident;
    with the resident's own number, the removal and a later re-adding carried the same one,
    and the device (which never applies an upsert not newer than what it holds, so a
    redelivered old record cannot resurrect a removed resident) kept the resident off until
    its next snapshot. Batches are published in change order, so this only grows."""
    ids = list(resident_ids)
    if not ids:
        return {}
    own = revs(session, ids)
    newest = max(seqs, default=0)
    return {r: max(own.get(r, 0), newest) for r in ids}


def resident_records(
    session: Session, vault: Vault, ids: set[int] | None, rev: dict[int, int]
) -> dict[int, ResidentRecord]:
    """Active residents among `ids` (None = all) with their templates, opened from the
    vault (sealed in the database, signed on the wire)."""
    q = select(Resident).where(Resident.active).order_by(Resident.id)
    if ids is not None:
        if not ids:
            return {}
        q = q.where(Resident.id.in_(sorted(ids)))
    residents = {r.id: r for r in session.scalars(q)}
    if not residents:
        return {}
    tq = select(
        Template.resident_id, Template.model, Template.model_version, Template.embedding
    ).order_by(Template.id)
    if ids is not None:
        tq = tq.where(Template.resident_id.in_(list(residents)))
    templates: dict[int, list[TemplateRecord]] = {}
    for rid, model, version, blob in session.execute(tq):
        if rid not in residents:
            continue
        v = np.frombuffer(vault.open(blob), "<f4")
        templates.setdefault(rid, []).append(TemplateRecord.from_vector(model, version, v))
    return {
        rid: ResidentRecord(
            id=rid,
            name=r.name,
            active=True,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            rev=rev.get(rid, 0),
            templates=templates.get(rid, []),
        )
        for rid, r in residents.items()
    }


def entrance_record(row: Entrance) -> EntranceRecord:
    return EntranceRecord(
        id=row.id,
        name=row.name,
        enabled=row.enabled,
        source=row.source,
        door=row.door,
        decision=row.decision or {},
        quality=row.quality or {},
        liveness=row.liveness or {},
    )


def snapshot(
    session: Session, vault: Vault, device: Device, nonce: str, timezone: str | None
) -> tuple[int, Snapshot]:
    """Everything the device holds, and the version it stands for. The version is read
    first: content committed after it is newer, never older, and the deltas that follow
    are idempotent, so the device cannot end up behind what it was told."""
    version = int(
        session.scalar(select(Device.version).where(Device.id == device.id)) or device.version
    )
    grants = Grants.load(session)
    ents = list(device.entrance_ids or [])
    wanted = grants.residents_at(ents)
    records = resident_records(session, vault, wanted, revs(session, wanted))
    entrances = [
        entrance_record(e)
        for e in session.scalars(
            select(Entrance).where(Entrance.id.in_(ents)).order_by(Entrance.id)
        )
    ]
    return version, Snapshot(
        nonce=nonce,
        residents=list(records.values()),
        rules=grants.rule_set(session, ents, timezone),
        entrances=entrances,
    )


# -- the fan-out -------------------------------------------------------------------------------


@dataclass
class Plan:
    """What one device is told for a batch of changes."""

    device: int
    residents: set[int] = field(default_factory=set)  # look again: upsert or remove
    entrances: set[int] = field(default_factory=set)
    rules: bool = False
    resync: bool = False


def live_devices(session: Session) -> list[Device]:
    """Devices that enrolled and were not revoked: the ones with a chain to keep."""
    return list(
        session.scalars(
            select(Device)
            .where(Device.enrolled_at.is_not(None), Device.revoked_at.is_(None))
            .order_by(Device.id)
        )
    )


def plan(
    session: Session, changes: Sequence[FleetChange], devices: Sequence[Device], grants: Grants
) -> dict[int, Plan]:
    """Which devices a batch of changes concerns, and what each must look at again."""
    plans: dict[int, Plan] = {}

    def of(d: Device) -> Plan:
        return plans.setdefault(d.id, Plan(d.id))

    granted = {d.id: grants.residents_at(d.entrance_ids or []) for d in devices}
    for c in changes:
        if c.kind == RESIDENT and c.subject_id is not None:
            for d in devices:
                g = granted[d.id]
                if g is None or c.subject_id in g:
                    of(d).residents.add(c.subject_id)
        elif c.kind == ENTRANCE and c.subject_id is not None:
            for d in devices:
                if c.subject_id in (d.entrance_ids or []):
                    p = of(d)
                    p.entrances.add(c.subject_id)
                    p.rules = True  # rules name entrances: a rename changes them
        elif c.kind == RULES:
            scope = c.scope or {"residents": None, "entrances": None}
            ents = scope.get("entrances")
            people = scope.get("residents")
            # "no rules" <-> "some rules" changes who is on every device
            flip = len(grants.rules) == 0 or (
                len(grants.rules) == 1 and grants.rules[0].id == c.subject_id
            )
            for d in devices:
                if not flip and ents is not None and not set(ents) & set(d.entrance_ids or []):
                    continue
                p = of(d)
                p.rules = True
                if flip or people is None:
                    p.resync = True
                else:
                    p.residents.update(int(i) for i in people)
    for p in plans.values():
        if len(p.residents) > MAX_DELTA_RESIDENTS:
            p.resync = True
    return plans


def delta_for(
    session: Session,
    vault: Vault,
    device: Device,
    p: Plan,
    grants: Grants,
    timezone: str | None,
    cache: dict[int, ResidentRecord | None],
    rev: dict[int, int],
) -> Delta:
    """The ops of one device's delta (revocations are ordered first by `Delta.ordered`)."""
    ops: list[Any] = []
    if not p.resync:
        allowed = grants.residents_at(device.entrance_ids or [])
        missing = {r for r in p.residents if r not in cache}
        if missing:
            found = resident_records(session, vault, missing, rev)
            for r in missing:
                cache[r] = found.get(r)
        for rid in sorted(p.residents):
            rec = cache.get(rid)
            if rec is not None and (allowed is None or rid in allowed):
                ops.append(UpsertResident(resident=rec))
            else:
                ops.append(RemoveResident(id=rid, rev=rev.get(rid, 0)))
    if p.entrances:
        rows = {
            e.id: e
            for e in session.scalars(select(Entrance).where(Entrance.id.in_(sorted(p.entrances))))
        }
        for eid in sorted(p.entrances):
            row = rows.get(eid)
            ops.append(
                UpsertEntrance(entrance=entrance_record(row))
                if row is not None
                else RemoveEntrance(id=eid)
            )
    if p.rules or p.resync:
        ops.append(
            ReplaceRules(rules=grants.rule_set(session, device.entrance_ids or [], timezone))
        )
    return Delta(ops=ops)


def bump_version(session: Session, device_id: int, steps: int) -> int:
    """The device's new chain version (row-locked until the caller commits)."""
    new = session.execute(
        update(Device)
        .where(Device.id == device_id)
        .values(version=Device.version + steps)
        .returning(Device.version)
    ).scalar_one()
    return int(new)


#: PostgreSQL advisory lock key of "this replica is publishing" (any fixed number).
PUBLISHER_LOCK = 0x46474C54  # "FGLT"


def claim_changes(session: Session, limit: int) -> list[FleetChange]:
    """Unpublished changes in order. On PostgreSQL one replica publishes at a time (a
    transaction-scoped advisory lock, taken without waiting; the others try again at
    their next tick and take over when it dies), so each device's deltas leave in chain
    order; and the rows are locked FOR UPDATE SKIP LOCKED besides, so no change is ever
    published by two replicas."""
    if session.get_bind().dialect.name == "postgresql":
        got = session.scalar(select(func.pg_try_advisory_xact_lock(PUBLISHER_LOCK)))
        if not got:
            return []
    q = (
        select(FleetChange)
        .where(FleetChange.published_at.is_(None))
        .order_by(FleetChange.seq)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.scalars(q))


def mark_published(session: Session, seqs: Sequence[int], heads: dict[int, int]) -> None:
    now = utcnow()
    if seqs:
        session.execute(
            update(FleetChange).where(FleetChange.seq.in_(list(seqs))).values(published_at=now)
        )
    for dev, version in heads.items():
        session.execute(
            update(Device)
            .where(Device.id == dev, Device.published_version < version)
            .values(published_version=version)
        )


def unpublished_heads(session: Session) -> list[tuple[int, int]]:
    """Devices whose newest version never went out (a crash after the bump): their head
    is sent again, and the device, seeing no delta to match it, takes a snapshot."""
    return [
        (int(i), int(v))
        for i, v in session.execute(
            select(Device.id, Device.version).where(
                Device.enrolled_at.is_not(None),
                Device.revoked_at.is_(None),
                Device.published_version < Device.version,
            )
        )
    ]


# -- events up ---------------------------------------------------------------------------------


def ingest(session: Session, device_id: int, batch: EventBatch) -> list[str]:
    """Store a batch once per event id (INSERT .. ON CONFLICT DO NOTHING: a redelivered or
    re-sent batch, or the same batch on two replicas, adds nothing) and return the ids now
    stored: the ack. The caller commits, then acks."""
    if not batch.events:
        return []
    now = utcnow()
    fine = [e for e in batch.events if math.isfinite(e.time)]  # a NaN time sorts nowhere
    rows = [
        {
            "event_id": e.id,
            "device_id": device_id,
            "entrance": _text(e.entrance)[:128],
            "time": float(e.time),
            "decision": _text(e.decision)[:32],
            "person": _text(e.person)[:200] if e.person else None,
            "person_id": e.person_id if e.person_id is None or 0 < e.person_id < 2**31 else None,
            "reason": _text(e.reason),
            "track": e.track if e.track is None or abs(e.track) < 2**31 else None,
            "scores": e.scores,
            "liveness": e.liveness,
            "door": e.door,
            "snapshot_expected": e.snapshot,
            "received_at": now,
        }
        for e in {ev.id: ev for ev in fine}.values()
    ]
    if not rows:
        return [e.id for e in batch.events]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DeviceEvent).values(rows).on_conflict_do_nothing(index_elements=["event_id"])
    session.execute(stmt)
    return [e.id for e in batch.events]  # stored now or before, or unstorable: done with


def _text(v: str) -> str:
    """Text a database can hold (PostgreSQL refuses NUL): a device's event must not be a
    message that fails for ever."""
    return v.replace("\x00", "")
