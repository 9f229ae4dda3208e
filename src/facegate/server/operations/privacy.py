"""A resident's data as a person may ask for it: everything held about them (export), and
nothing left of them once erased.

Erasure removes photos and templates, deletes the snapshots of every door event whose
recognised or claimed person was them, replaces their name in the journal (the events stay,
as "erased resident #id") and in earlier audit entries (photo file names dropped), then
truncates the SQLite WAL files, so no copy of a deleted page lingers on disk. The audit keeps
that an erasure happened, by whom and how much went, with no name and no biometric data.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from facegate.runtime.journal import Journal
from facegate.server.auth import Principal, Role
from facegate.server.db.database import bump, truncate_wal
from facegate.server.db.models import AccessRuleRow, AuditEntry, Photo, Resident, Template
from facegate.server.operations.common import audit, fetch, require, resident_out
from facegate.server.operations.events import event_out
from facegate.server.operations.rules import rule_out
from facegate.server.privacy_schemas import ExportPhoto, ExportTemplate, ResidentExport
from facegate.server.schemas import PhotoOut, ResidentDetail
from facegate.server.sql_gallery import GALLERY, photo_count
from facegate.vault import Vault

#: Audit detail keys that identify a person or a photo: dropped from a resident's old entries.
PERSONAL_KEYS = ("name", "filename")


def erased_label(resident_id: int) -> str:
    return f"erased resident #{resident_id}"


def _scrub(value: Any, name: str, tag: str, drop: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, name, tag, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_scrub(v, name, tag, drop) for v in value]
    if isinstance(value, str):
        return value.replace(name, tag)
    return value


def _scrub_audit(session: Session, rid: int, name: str, tag: str) -> int:
    """Earlier entries about the resident lose names and file names; any other entry that
    quotes the name gets the tag instead. Returns how many entries changed."""
    target = f"resident:{rid}"
    text = cast(AuditEntry.detail, String)
    escaped = json.dumps(name)[1:-1]  # how a JSON column stores a non-ASCII name
    rows = session.scalars(
        select(AuditEntry).where(
            or_(AuditEntry.target == target, text.contains(name), text.contains(escaped))
        )
    ).all()
    for a in rows:
        a.detail = _scrub(a.detail, name, tag, PERSONAL_KEYS if a.target == target else ())
    for rule in session.scalars(
        select(AccessRuleRow).where(AccessRuleRow.name.contains(name))
    ).all():
        rule.name = rule.name.replace(name, tag)
    return len(rows)


def erase_resident(session: Session, journal: Journal, who: Principal, resident_id: int) -> None:
    """Delete a resident and erase what the server kept of them (see the module docstring).

    The journal is scrubbed before the database commits: should the commit fail, the
    resident is still there and the erasure can be run again; the reverse order could lose
    the name needed to find their events."""
    require(who, Role.OPERATOR)
    r = fetch(session, Resident, resident_id, "resident")
    rid, name, tag = r.id, r.name, erased_label(r.id)
    photos = photo_count(session, rid)
    templates = session.scalar(
        select(func.count()).select_from(Template).where(Template.resident_id == rid)
    )
    session.execute(delete(Template).where(Template.resident_id == rid))
    session.execute(delete(Photo).where(Photo.resident_id == rid))
    entries = _scrub_audit(session, rid, name, tag)
    session.delete(r)
    bump(session, GALLERY)
    session.flush()
    events, snapshots = journal.erase_person(name, rid, tag)
    audit(
        session,
        who,
        "resident_delete",
        f"resident:{rid}",
        erased=True,
        photos=photos,
        templates=templates,
        events_anonymised=events,
        snapshots_deleted=snapshots,
        audit_entries_scrubbed=entries,
    )
    session.commit()
    truncate_wal(session.get_bind())  # type: ignore[arg-type]


def export_resident(
    session: Session, journal: Journal, vault: Vault, who: Principal, resident_id: int
) -> ResidentExport:
    """Everything held about one resident: the record, each photo (the kept JPEG, base64),
    which templates exist (model and version; the embeddings themselves mean nothing to a
    person and stay sealed), the access rules that name them, and the door events whose
    recognised or claimed person they were, with links to their snapshots. Audited."""
    require(who, Role.OPERATOR)
    r = fetch(session, Resident, resident_id, "resident")
    out = resident_out(session, r)
    detail = ResidentDetail(
        **out.model_dump(), photo_list=[PhotoOut.model_validate(p) for p in r.photos]
    )
    photos = [
        ExportPhoto(
            id=p.id,
            filename=p.filename,
            sharpness=p.sharpness,
            created_at=p.created_at,
            jpeg_base64=base64.b64encode(vault.open(p.thumbnail)).decode() if p.thumbnail else None,
        )
        for p in r.photos
    ]
    templates = [
        ExportTemplate(
            id=t.id,
            photo_id=t.photo_id,
            model=t.model,
            model_version=t.model_version,
            created_at=t.created_at,
        )
        for t in session.scalars(
            select(Template).where(Template.resident_id == r.id).order_by(Template.id)
        )
    ]
    rules = [
        rule_out(row)
        for row in session.scalars(select(AccessRuleRow).order_by(AccessRuleRow.id))
        if row.resident_ids and r.id in row.resident_ids
    ]
    events = [event_out(d) for d in journal.events_of(r.name, r.id)]
    audit(
        session,
        who,
        "resident_export",
        f"resident:{r.id}",
        photos=len(photos),
        rules=len(rules),
        events=len(events),
    )
    session.commit()
    return ResidentExport(
        exported_at=datetime.now(UTC),
        resident=detail,
        photos=photos,
        templates=templates,
        rules=rules,
        events=events,
    )
