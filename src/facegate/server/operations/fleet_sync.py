"""What each device holds: who is granted where, residents' records, snapshots; and the
ingest of the events devices send up. What a change tells each device is
`fleet_fanout`.

Who is on a device: the residents an active rule grants at one of its entrances (a rule
for everyone or everywhere counts), or every resident when the server has no active rule
at all (as `DbAccessPolicy` decides). Templates only, never photos. Inactive residents are
not sent: a device that does not know a face keeps the door shut.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from facegate.fleet.protocol import (
    EntranceRecord,
    EventBatch,
    EventRecord,
    ResidentRecord,
    RuleSet,
    Snapshot,
    TemplateRecord,
)
from facegate.runtime.access import AccessRule
from facegate.server.db.fleet_capture import RESIDENT
from facegate.server.db.fleet_models import Device, DeviceEvent, FleetChange, uses_on_devices
from facegate.server.db.models import AccessRuleRow, Entrance, Resident, Template, utcnow
from facegate.vault import Vault

_ALL_NAMES = 2_000  # more names wanted than this: read the whole (id, name) column


# -- who is granted where ----------------------------------------------------------------------


@dataclass
class Grants:
    """The active rules, read once per publish round or snapshot, indexed by entrance.

    Why the index and the caches: a publish round asks, for every live device, who is
    granted at its entrances and what its rule set is. Scanning every rule for every
    device (and reading each rule's JSON lists through the ORM each time) cost 2.8 s per
    round at 1,000 devices and 2,000 rules, before a single message went out; with the
    index it is a dictionary lookup per entrance."""

    rules: list[AccessRuleRow]
    entrance_names: dict[int, str]
    #: whether any rule is active anywhere (when only some entrances' rules were loaded)
    any_rules: bool | None = None
    #: opens per rule id on the devices (guest passes count across the fleet)
    device_uses: dict[int, int] = field(default_factory=dict)
    _everywhere: list[int] = field(default_factory=list, repr=False)  # rule indices
    _at_entrance: dict[int, list[int]] = field(default_factory=dict, repr=False)
    _people: list[frozenset[int] | None] = field(default_factory=list, repr=False)
    _granted: dict[frozenset[int], frozenset[int] | None] = field(default_factory=dict, repr=False)
    _rule_sets: dict[tuple[frozenset[int], str | None], RuleSet] = field(
        default_factory=dict, repr=False
    )
    _names: dict[int, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.any_rules is None:
            self.any_rules = bool(self.rules)
        for i, r in enumerate(self.rules):
            people = r.resident_ids
            self._people.append(None if people is None else frozenset(int(x) for x in people))
            if r.entrance_ids is None:
                self._everywhere.append(i)
            else:
                for e in {int(x) for x in r.entrance_ids}:
                    self._at_entrance.setdefault(e, []).append(i)

    @classmethod
    def load(cls, session: Session, entrances: Iterable[int] | None = None) -> Grants:
        """The active rules; with `entrances`, only those that concern them (a snapshot:
        reading all 2,000 rules of the benchmark city with their resident lists was 185 of
        its 226 ms; their entrance lists alone are a small read)."""
        q = select(AccessRuleRow).where(AccessRuleRow.active).order_by(AccessRuleRow.id)
        any_rules = None
        if entrances is not None:
            wanted = set(entrances)
            ids = []
            heads = session.execute(
                select(AccessRuleRow.id, AccessRuleRow.entrance_ids).where(AccessRuleRow.active)
            ).all()
            for rid, ents in heads:
                if ents is None or wanted & {int(e) for e in ents}:
                    ids.append(rid)
            any_rules = bool(heads)
            q = q.where(AccessRuleRow.id.in_(ids))
        rules = list(session.scalars(q))
        names = dict(session.execute(select(Entrance.id, Entrance.name)).all())
        return cls(
            rules, {int(k): v for k, v in names.items()}, any_rules, uses_on_devices(session)
        )

    def _indices(self, entrances: Iterable[int]) -> list[int]:
        found = set(self._everywhere)
        for e in set(entrances):
            found.update(self._at_entrance.get(e, ()))
        return sorted(found)  # the rules' id order, as loaded

    def residents_at(self, entrances: Iterable[int]) -> frozenset[int] | None:
        """The resident ids granted at these entrances; None = every resident."""
        key = frozenset(entrances)
        if key in self._granted:
            return self._granted[key]
        people = [self._people[i] for i in self._indices(key)]
        out = (
            None
            if not self.any_rules or any(p is None for p in people)
            else frozenset().union(*people)
        )
        self._granted[key] = out
        return out

    def load_names(self, session: Session, entrance_sets: Iterable[Iterable[int]]) -> None:
        """Read the names of everyone the rules at these entrances name, in a few queries
        rather than one per device (`rule_set` reads what is still missing)."""
        wanted: set[int] = set()
        for ents in entrance_sets:
            for i in self._indices(ents):
                wanted |= self._people[i] or frozenset()
        self._read_names(session, wanted)

    def _read_names(self, session: Session, ids: set[int]) -> None:
        missing = [i for i in ids if i not in self._names]
        if not missing:
            return
        q = select(Resident.id, Resident.name)
        if len(missing) > _ALL_NAMES:  # one scan beats long IN lists (1.5 s for 50,000 ids)
            self._names.update((int(i), n) for i, n in session.execute(q))
            return
        self._names.update(
            (int(i), n) for i, n in session.execute(q.where(Resident.id.in_(missing)))
        )

    def rule_set(self, session: Session, entrances: Sequence[int], timezone: str | None) -> RuleSet:
        """The device's rules by name, as `DbAccessPolicy` builds the server's. Devices
        with the same entrances share one (read-only) `RuleSet`."""
        key = (frozenset(entrances), timezone)
        if key not in self._rule_sets:
            self._rule_sets[key] = self._build_rule_set(session, key[0], timezone)
        return self._rule_sets[key]

    def _build_rule_set(
        self, session: Session, entrances: frozenset[int], timezone: str | None
    ) -> RuleSet:
        idx = self._indices(entrances)
        self._read_names(session, {p for i in idx for p in self._people[i] or ()})
        names = self._names
        rules, rule_ids, uses = [], [], []
        for i in idx:
            row = self.rules[i]
            people = (
                ["*"]
                if row.resident_ids is None
                else [names[r] for r in row.resident_ids if r in names]
            )
            where = (
                ["*"]
                if row.entrance_ids is None
                else [self.entrance_names[e] for e in row.entrance_ids if e in self.entrance_names]
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
            uses.append(row.uses + self.device_uses.get(row.id, 0))
        # with rules elsewhere but none here, nobody may open here: default_allow is for a
        # server with no active rule at all
        return RuleSet(
            timezone=timezone,
            default_allow=not self.any_rules,
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
    ents = list(device.entrance_ids or [])
    grants = Grants.load(session, ents)
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


# -- events up ---------------------------------------------------------------------------------


def ingest(session: Session, batches: Iterable[tuple[int, EventBatch]]) -> dict[int, list[str]]:
    """Store batches of events, each from its device, once per event id (INSERT .. ON
    CONFLICT DO NOTHING: a redelivered or re-sent batch, or the same batch on two
    replicas, adds nothing) and return each device's ids now done with: the ack. The
    caller commits, then acks.

    All batches go in one statement executed over many rows: compiling a multi-row
    VALUES per batch was 40 % of the ingest's CPU (0.86 ms per event at 20 events per
    batch, 500 batches per transaction, profiled)."""
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    acks: dict[int, list[str]] = {}
    for dev, batch in batches:
        done = acks.setdefault(dev, [])
        for e in batch.events:
            done.append(e.id)  # stored now or before, or unstorable: done with
            if e.id not in rows and math.isfinite(e.time):  # a NaN time sorts nowhere
                rows[e.id] = _event_row(dev, e, now)
    if rows:
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        stmt = insert(DeviceEvent.__table__).on_conflict_do_nothing(index_elements=["event_id"])
        session.execute(stmt, list(rows.values()))
    return acks


def _event_row(device_id: int, e: EventRecord, now: datetime) -> dict[str, Any]:
    return {
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


def _text(v: str) -> str:
    """Text a database can hold (PostgreSQL refuses NUL): a device's event must not be a
    message that fails for ever."""
    return v.replace("\x00", "")
