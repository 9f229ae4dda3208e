"""Change capture for the fleet: every write that changes what an edge device must know
(a resident, their photos and templates, an entrance, an access rule) adds a
`fleet_changes` row in the same transaction, so the row commits with the change or not
at all, and a crash between the commit and the publish loses nothing.

Why session events and not a call in each operation: one choke point covers every write
path there is and every one added later (REST API, web UI, CLI, CSV import, erasure,
invites). Two hooks together see all of them:

* `after_flush`: objects the unit of work inserted, changed or deleted (it still sees
  their attribute history there, so a rule's *old* residents and entrances are known);
* `do_orm_execute`: bulk `update()`/`delete()` statements, which bypass the unit of work;
  the rows they will touch are selected first, with the statement's own WHERE clause (and
  bulk `insert()`s of templates, photos and rules, by the rows' values).

Writes that change nothing a device holds are left out: a resident's apartment or notes,
a photo's thumbnail, a template or thumbnail sealed again under a new key, a guest pass's
use count (counted where it is used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from facegate.server.db.fleet_models import FleetChange
from facegate.server.db.models import AccessRuleRow, Entrance, Photo, Resident, Template, utcnow

RESIDENT = "resident"
ENTRANCE = "entrance"
RULES = "rules"

#: Resident columns a device's decisions depend on.
RESIDENT_FIELDS = frozenset({"name", "active", "valid_from", "valid_until"})
#: Columns whose change is invisible to devices (sealed blobs, use counts).
INERT = {
    Template: frozenset({"embedding"}),
    Photo: frozenset({"thumbnail", "filename", "sharpness"}),
    AccessRuleRow: frozenset({"uses"}),
    Resident: frozenset({"apartment", "notes", "created_at"}),
}
_SEEN = "fleet_changes_seen"
_RECORDED = "fleet_changes_recorded"

Change = tuple[str, int | None, dict[str, Any] | None]


def install(factory: sessionmaker[Session]) -> None:
    """Capture changes in every session this factory makes."""
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _bulk)
    event.listen(factory, "after_transaction_end", _forget)


def on_commit(factory: sessionmaker[Session], callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after each commit that recorded a change (the publisher wakes at
    once instead of at its next tick); returns the function that stops it."""

    def committed(session: Session) -> None:
        if session.info.pop(_RECORDED, False):
            callback()

    def rolled_back(session: Session) -> None:
        session.info.pop(_RECORDED, None)

    event.listen(factory, "after_commit", committed)
    event.listen(factory, "after_rollback", rolled_back)

    def stop() -> None:
        event.remove(factory, "after_commit", committed)
        event.remove(factory, "after_rollback", rolled_back)

    return stop


def record_rule_uses(session: Session, rules: list[tuple[int, list[int] | None]]) -> None:
    """Guest passes (rule id, its entrances) used somewhere: the devices at those entrances
    need the rule set again with the new count. A use is not a write the hooks watch (a
    count is bumped on every open, in bulk, and says nothing about who is granted)."""
    _record(session, [(RULES, rid, {"residents": [], "entrances": ents}) for rid, ents in rules])


def _forget(session: Session, transaction: Any) -> None:
    """A transaction (or a savepoint) ended: what it recorded may be gone with it. A
    flush's own inner transaction is neither and keeps the memory."""
    if transaction.parent is None or transaction.nested:
        session.info.pop(_SEEN, None)


def _changed(obj: Any) -> set[str]:
    state = inspect(obj)
    return {a.key for a in state.attrs if a.history.has_changes()}


def _both(obj: Any, key: str) -> list | None:
    """The union of an id-list column's values before and after (None = every one)."""
    hist = inspect(obj).attrs[key].history
    values = list(hist.added or ()) + list(hist.deleted or ()) + list(hist.unchanged or ())
    if not values:
        values = [getattr(obj, key)]
    out: set[int] = set()
    for v in values:
        if v is None:
            return None
        out.update(int(i) for i in v)
    return sorted(out)


def _rule_scope(obj: AccessRuleRow, how: str) -> dict[str, Any]:
    """Whom and where a rule's write concerns. An edit that keeps the rule's entrances and
    its being active moves only the residents it adds or drops: the others were granted
    there before and still are (a staff rule naming 20 people that gains a 21st re-sent
    all 21 to every device: 15 MB for 1,000 devices instead of 5)."""
    people = _both(obj, "resident_ids")
    if how == "dirty" and people is not None:
        state = inspect(obj).attrs
        ppl = state["resident_ids"].history
        same_place = not (
            state["entrance_ids"].history.has_changes() or state["active"].history.has_changes()
        )
        if same_place and not ppl.has_changes():
            people = []  # windows, dates, a name: the rule set changes, nobody moves
        elif same_place and ppl.added and ppl.deleted:
            before, after = ppl.deleted[0], ppl.added[0]
            if before is not None and after is not None:
                people = sorted({int(i) for i in before} ^ {int(i) for i in after})
    return {"residents": people, "entrances": _both(obj, "entrance_ids")}


def _of(obj: Any, how: str) -> Change | None:
    """The change an inserted ("new"), updated ("dirty") or deleted object means."""
    if how == "dirty":
        changed = _changed(obj)
        relevant = changed - INERT.get(type(obj), frozenset())
        if isinstance(obj, Resident):
            relevant &= RESIDENT_FIELDS
        if not relevant:
            return None
    if isinstance(obj, Resident):
        return (RESIDENT, obj.id, None)
    if isinstance(obj, Photo | Template):
        return (RESIDENT, obj.resident_id, None)
    if isinstance(obj, Entrance):
        return (ENTRANCE, obj.id, None)
    if isinstance(obj, AccessRuleRow):
        return (RULES, obj.id, _rule_scope(obj, how))
    return None


def _record(session: Session, changes: list[Change]) -> None:
    seen: set[tuple[str, int | None]] = session.info.setdefault(_SEEN, set())
    rows = []
    now = utcnow()
    for kind, subject, scope in changes:
        if kind != RULES:  # a rule's scope differs flush by flush; the rest is one row
            if (kind, subject) in seen:
                continue
            seen.add((kind, subject))
        rows.append({"kind": kind, "subject_id": subject, "scope": scope, "created_at": now})
    if rows:
        session.connection().execute(insert(FleetChange.__table__), rows)
        session.info[_RECORDED] = True


def _after_flush(session: Session, _ctx: Any) -> None:
    changes = []
    for how, objs in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in objs:
            c = _of(obj, how)
            if c is not None:
                changes.append(c)
    _record(session, changes)


def _bulk_insert(state: ORMExecuteState, model: type | None) -> None:
    """An ORM bulk INSERT (`session.execute(insert(Template), rows)`): templates and
    photos name their resident; a rule inserted so may concern anyone. A new resident or
    entrance alone changes nothing a device holds (no template, no device runs it yet)."""
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    if model in (Photo, Template):
        ids = {r.get("resident_id") for r in rows if isinstance(r, dict)}
        _record(state.session, [(RESIDENT, int(i), None) for i in ids if i is not None])
    elif model is AccessRuleRow:
        _record(state.session, [(RULES, None, {"residents": None, "entrances": None})])


def _bulk(state: ORMExecuteState) -> None:
    """A bulk UPDATE or DELETE of a watched table: the rows it matches, as changes."""
    if state.is_insert:
        mapper = state.bind_mapper
        _bulk_insert(state, mapper.class_ if mapper is not None else None)
        return
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    model = mapper.class_ if mapper is not None else None
    if model not in (Resident, Photo, Template, Entrance, AccessRuleRow):
        return
    stmt = state.statement
    if state.is_update:
        values = getattr(stmt, "_values", None) or {}
        keys = {getattr(k, "key", str(k)) for k in values}
        relevant = keys - INERT.get(model, frozenset())
        if model is Resident:
            relevant &= RESIDENT_FIELDS
        if keys and not relevant:
            return
    where = stmt.whereclause
    session = state.session
    if model is AccessRuleRow:
        q = select(AccessRuleRow.id, AccessRuleRow.resident_ids, AccessRuleRow.entrance_ids)
        rows = session.execute(q.where(where) if where is not None else q).all()
        # the new values of an UPDATE are not known row by row: the scope is "every one"
        changes: list[Change] = [
            (
                RULES,
                i,
                {"residents": None, "entrances": None}
                if state.is_update
                else {"residents": r, "entrances": e},
            )
            for i, r, e in rows
        ]
    else:
        col = {
            Resident: Resident.id,
            Photo: Photo.resident_id,
            Template: Template.resident_id,
            Entrance: Entrance.id,
        }[model]
        q = select(col).distinct()
        ids = session.scalars(q.where(where) if where is not None else q).all()
        kind = ENTRANCE if model is Entrance else RESIDENT
        changes = [(kind, int(i), None) for i in ids]
    _record(session, changes)
