"""Access rules and guest passes. The runtimes pick up a change within
`runtime.gallery_reload_s`; with no active rule, every resident may open every entrance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.server.access_policy import RULES
from facegate.server.api.errors import ApiError, not_found
from facegate.server.db.database import bump
from facegate.server.db.models import AccessRuleRow, Entrance, Resident
from facegate.server.deps import DB, Operator, Viewer, audit
from facegate.server.schemas import DB_INT, ERRORS, RuleIn, RuleOut

router = APIRouter(
    prefix="/rules", tags=["access rules"], responses={k: ERRORS[k] for k in (401, 403, 503)}
)
Id = Annotated[int, Path(ge=1, le=DB_INT)]


def rule_out(row: AccessRuleRow) -> RuleOut:
    return RuleOut(
        id=row.id,
        name=row.name,
        kind="guest_pass" if row.max_uses else "rule",
        resident_ids=row.resident_ids,
        entrance_ids=row.entrance_ids,
        windows=row.windows,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        max_uses=row.max_uses,
        uses=row.uses,
        active=row.active,
        created_at=row.created_at,
    )


def _check_refs(session: Session, body: RuleIn) -> None:
    for ids, model, what in (
        (body.resident_ids, Resident, "resident"),
        (body.entrance_ids, Entrance, "entrance"),
    ):
        if ids is None:
            continue
        if not ids:
            raise ApiError(400, "bad_value", f"{what}_ids is empty: use null for every {what}")
        found = set(session.scalars(select(model.id).where(model.id.in_(ids))))
        missing = sorted(set(ids) - found)
        if missing:
            raise ApiError(400, "unknown_id", f"no {what} with id {missing[0]}")


def _fields(body: RuleIn) -> dict:
    d = body.model_dump(mode="json", exclude={"valid_from", "valid_until"})
    d["valid_from"], d["valid_until"] = body.valid_from, body.valid_until
    return d


@router.get("", response_model=list[RuleOut])
def list_rules(session: DB, who: Viewer) -> list[RuleOut]:
    return [rule_out(r) for r in session.scalars(select(AccessRuleRow).order_by(AccessRuleRow.id))]


@router.post("", response_model=RuleOut, status_code=201, responses={400: ERRORS[400]})
def create_rule(body: RuleIn, session: DB, who: Operator) -> RuleOut:
    """Once any active rule exists, only rules grant access (as in `runtime.access`)."""
    _check_refs(session, body)
    row = AccessRuleRow(**_fields(body), uses=0)
    session.add(row)
    session.flush()
    bump(session, RULES)
    audit(session, who, "rule_create", f"rule:{row.id}", name=row.name, max_uses=row.max_uses)
    session.commit()
    return rule_out(row)


@router.get("/{rule_id}", response_model=RuleOut, responses={404: ERRORS[404]})
def get_rule(rule_id: Id, session: DB, who: Viewer) -> RuleOut:
    row = session.get(AccessRuleRow, rule_id)
    if row is None:
        raise not_found("rule", rule_id)
    return rule_out(row)


@router.put("/{rule_id}", response_model=RuleOut, responses={400: ERRORS[400], 404: ERRORS[404]})
def replace_rule(rule_id: Id, body: RuleIn, session: DB, who: Operator) -> RuleOut:
    """Replace a rule; its use count is kept."""
    row = session.get(AccessRuleRow, rule_id)
    if row is None:
        raise not_found("rule", rule_id)
    _check_refs(session, body)
    for k, v in _fields(body).items():
        setattr(row, k, v)
    bump(session, RULES)
    audit(session, who, "rule_update", f"rule:{row.id}", name=row.name)
    session.commit()
    return rule_out(row)


@router.delete("/{rule_id}", status_code=204, responses={404: ERRORS[404]})
def delete_rule(rule_id: Id, session: DB, who: Operator) -> None:
    row = session.get(AccessRuleRow, rule_id)
    if row is None:
        raise not_found("rule", rule_id)
    audit(session, who, "rule_delete", f"rule:{row.id}", name=row.name)
    session.delete(row)
    bump(session, RULES)
    session.commit()
