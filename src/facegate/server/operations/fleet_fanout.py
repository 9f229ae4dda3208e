"""The delta fan-out of the change outbox: which devices a batch of `fleet_changes`
concerns, what each is told, and the chain versions the deltas carry.

Deltas are built from the database as it is when the change is published, not as it was
when the change was made: a change only says *who* to look at again, so changes published
late, twice or out of order still leave each device with the current state (records carry
`rev`, the change number, so a redelivered older record never wins on the device).

Rule changes that touch "every resident", and any rule change that may flip the server
between "no rules" and "some rules", would have the server guess what a device holds;
those devices are told to take a snapshot instead (a delta whose `prev` is not their
version: a deliberate gap). So is a delta that would carry more than `MAX_DELTA_RESIDENTS`.

Cost (measured with 100,000 residents, 2,000 rules, 1,000 devices on the 2-core box,
`bench fleet` and a profile of one round): a change for one entrance's device took 2.9 s
of publisher time and a change for every device 25-30 s, nearly all of it per-device work
that does not depend on the device (scanning every rule per device, one ORM `UPDATE` per
device whose session bookkeeping grew with the fleet). The round now indexes the rules
once (`Grants`), shares residents' records and rule sets between devices, and bumps and
marks the versions of all devices in a few statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from facegate.fleet.protocol import (
    Delta,
    RemoveEntrance,
    RemoveResident,
    ReplaceRules,
    UpsertEntrance,
    UpsertResident,
)
from facegate.server.db.fleet_capture import ENTRANCE, RESIDENT, RULES
from facegate.server.db.fleet_models import Device, FleetChange
from facegate.server.db.models import Entrance, utcnow
from facegate.server.operations.devices import lock_in_order
from facegate.server.operations.fleet_sync import (
    Grants,
    ResidentRecord,
    entrance_record,
    resident_records,
    revs,
)
from facegate.vault import Vault

#: More residents than this in one device's delta: a snapshot is cheaper and simpler.
MAX_DELTA_RESIDENTS = 200
#: PostgreSQL advisory lock key of "this replica is publishing" (any fixed number).
PUBLISHER_LOCK = 0x46474C54  # "FGLT"
_CHUNK = 5_000  # ids per IN (...) list


@dataclass(frozen=True)
class Target:
    """A live device as the fan-out needs it: its id and its entrances."""

    id: int
    entrances: frozenset[int]


@dataclass
class Plan:
    """What one device is told for a batch of changes."""

    device: int
    residents: set[int] = field(default_factory=set)  # look again: upsert or remove
    entrances: set[int] = field(default_factory=set)
    rules: bool = False
    resync: bool = False


@dataclass(frozen=True)
class Outgoing:
    """One device's delta of a round, with its chain position: the device applies it
    when it holds `prev`; `prev` below `version - 1` is a deliberate gap (a snapshot)."""

    device: int
    version: int
    prev: int
    delta: Delta


def fan_out(
    session: Session,
    vault: Vault,
    changes: Sequence[FleetChange],
    timezone: str | None,
) -> list[Outgoing]:
    """The deltas a batch of changes (in change order) makes, with the devices' versions
    bumped in `session`: the caller commits before publishing, so a crash afterwards is a
    gap on the device (it takes a snapshot), never a version used twice."""
    devices = live_devices(session)
    grants = Grants.load(session)
    plans = plan(changes, devices, grants)
    if not plans:
        return []
    by_id = {d.id: d for d in devices}
    touched = {r for p in plans.values() for r in p.residents}
    rev = batch_revs(session, touched, [c.seq for c in changes])
    grants.load_names(session, {by_id[d].entrances for d, p in plans.items() if p.rules})
    records = _Records(session, vault, rev)
    entrances = _entrances(session, {e for p in plans.values() for e in p.entrances})
    todo: list[tuple[int, bool, Delta]] = []
    for dev_id, p in sorted(plans.items()):
        delta = delta_for(session, by_id[dev_id], p, grants, timezone, records, entrances)
        if delta.ops or p.resync:
            todo.append((dev_id, p.resync, delta))
    versions = bump_versions(session, {d: 2 if resync else 1 for d, resync, _ in todo})
    # a resync skips a version on purpose (two steps, the delta's prev one below the new
    # version): the device sees a gap and takes a snapshot, having applied the delta's
    # revocations first
    return [Outgoing(d, versions[d], versions[d] - 1, delta) for d, _, delta in todo]


def live_devices(session: Session) -> list[Target]:
    """Devices that enrolled and were not revoked: the ones with a chain to keep."""
    rows = session.execute(
        select(Device.id, Device.entrance_ids)
        .where(Device.enrolled_at.is_not(None), Device.revoked_at.is_(None))
        .order_by(Device.id)
    )
    return [Target(int(i), frozenset(int(e) for e in ents or ())) for i, ents in rows]


def plan(
    changes: Sequence[FleetChange], devices: Sequence[Target], grants: Grants
) -> dict[int, Plan]:
    """Which devices a batch of changes concerns, and what each must look at again."""
    plans: dict[int, Plan] = {}

    def of(d: Target) -> Plan:
        return plans.setdefault(d.id, Plan(d.id))

    holders: dict[int, list[Target]] | None = None  # resident -> devices granting them
    everyone: list[Target] = []  # devices that hold every resident
    for c in changes:
        if c.kind == RESIDENT and c.subject_id is not None:
            if holders is None:
                holders = {}
                for d in devices:
                    g = grants.residents_at(d.entrances)
                    if g is None:
                        everyone.append(d)
                    else:
                        for r in g:
                            holders.setdefault(r, []).append(d)
            for d in everyone + holders.get(c.subject_id, []):
                of(d).residents.add(c.subject_id)
        elif c.kind == ENTRANCE and c.subject_id is not None:
            for d in devices:
                if c.subject_id in d.entrances:
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
                if not flip and ents is not None and not set(ents) & d.entrances:
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


class _Records:
    """Residents' records of one round, read once and shared by every device's delta."""

    def __init__(self, session: Session, vault: Vault, rev: dict[int, int]) -> None:
        self.session, self.vault, self.rev = session, vault, rev
        self._found: dict[int, ResidentRecord | None] = {}
        self._ops: dict[int, Any] = {}

    def op(self, rid: int, allowed: frozenset[int] | None) -> UpsertResident | RemoveResident:
        """The resident's op for a device granting `allowed` (None = everyone)."""
        if rid not in self._found:
            self._read(set(self.rev) | {rid})
        rec = self._found.get(rid)
        key = rid if rec is not None and (allowed is None or rid in allowed) else -rid
        if key not in self._ops:
            self._ops[key] = (
                UpsertResident(resident=rec)
                if key > 0
                else RemoveResident(id=rid, rev=self.rev.get(rid, 0))
            )
        return self._ops[key]

    def _read(self, ids: set[int]) -> None:
        missing = sorted(ids - self._found.keys())
        for k in range(0, len(missing), _CHUNK):
            chunk = set(missing[k : k + _CHUNK])
            found = resident_records(self.session, self.vault, chunk, self.rev)
            for r in chunk:
                self._found[r] = found.get(r)


def _entrances(session: Session, ids: set[int]) -> dict[int, Entrance]:
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Entrance).where(Entrance.id.in_(ids)))}


def delta_for(
    session: Session,
    device: Target,
    p: Plan,
    grants: Grants,
    timezone: str | None,
    records: _Records,
    entrances: dict[int, Entrance],
) -> Delta:
    """The ops of one device's delta (revocations are ordered first by `Delta.ordered`).
    Ops and rule sets are shared objects: nothing downstream changes them."""
    ops: list[Any] = []
    if not p.resync:
        allowed = grants.residents_at(device.entrances)
        ops.extend(records.op(rid, allowed) for rid in sorted(p.residents))
    for eid in sorted(p.entrances):
        row = entrances.get(eid)
        ops.append(
            UpsertEntrance(entrance=entrance_record(row))
            if row is not None
            else RemoveEntrance(id=eid)
        )
    if p.rules or p.resync:
        ops.append(ReplaceRules(rules=grants.rule_set(session, sorted(device.entrances), timezone)))
    return Delta(ops=ops)


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


def bump_versions(session: Session, steps: dict[int, int]) -> dict[int, int]:
    """Advance each device's chain version by its steps; returns the new versions (the
    rows stay locked until the caller commits). A few statements however many devices,
    the rows locked in id order (as every writer of many device rows takes them)."""
    table = Device.__table__
    by_steps: dict[int, list[int]] = {}
    for dev, k in steps.items():
        by_steps.setdefault(k, []).append(dev)
    out: dict[int, int] = {}
    for k, ids in sorted(by_steps.items()):
        ids.sort()
        for i in range(0, len(ids), _CHUNK):
            lock_in_order(session, ids[i : i + _CHUNK])
            rows = session.execute(
                update(table)
                .where(table.c.id.in_(ids[i : i + _CHUNK]))
                .values(version=table.c.version + k)
                .returning(table.c.id, table.c.version)
            )
            out.update((int(d), int(v)) for d, v in rows)
    return out


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
    """The changes are out, and each device's newest published version is `heads`' (one
    executemany, not a statement per device)."""
    now = utcnow()
    if seqs:
        session.execute(
            update(FleetChange).where(FleetChange.seq.in_(list(seqs))).values(published_at=now)
        )
    if heads:
        table = Device.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("dev"), table.c.published_version < bindparam("v"))
            .values(published_version=bindparam("v")),
            [{"dev": d, "v": v} for d, v in sorted(heads.items())],
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
