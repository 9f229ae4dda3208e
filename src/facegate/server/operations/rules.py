"""Access rules and guest passes. The runtimes pick up a change within
`runtime.gallery_reload_s`; with no active rule, every resident may open every entrance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.server.access_policy import RULES
from facegate.server.auth import Principal, Role
from facegate.server.db.database import bump
from facegate.server.db.fleet_models import uses_on_devices
from facegate.server.db.models import AccessRuleRow, Entrance, Resident
from facegate.server.errors import Invalid, UnknownId
from facegate.server.operations.common import audit, fetch, require
from facegate.server.schemas import RuleIn, RuleOut


def rule_out(row: AccessRuleRow, elsewhere: dict[int, int] | None = None) -> RuleOut:
    """The rule as the API shows it; `uses` counts the opens at the server's doors and
    those edge devices reported (`elsewhere`, from `uses_on_devices`)."""
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
        uses=row.uses + (elsewhere or {}).get(row.id, 0),
        active=row.active,
        created_at=row.created_at,
    )


def _check_refs(session: Session, body: RuleIn) -> None:
    """Every resident and entrance the rule names exists (null means every one)."""
    for ids, model, what in (
        (body.resident_ids, Resident, "resident"),
        (body.entrance_ids, Entrance, "entrance"),
    ):
        if ids is None:
            continue
        if not ids:
            raise Invalid(f"{what}_ids is empty: use null for every {what}")
        found = set(session.scalars(select(model.id).where(model.id.in_(ids))))
        missing = sorted(set(ids) - found)
        if missing:
            raise UnknownId(f"no {what} with id {missing[0]}")


def _fields(body: RuleIn) -> dict[str, Any]:
    d = body.model_dump(mode="json", exclude={"valid_from", "valid_until"})
    d["valid_from"], d["valid_until"] = body.valid_from, body.valid_until
    return d


def list_rules(session: Session) -> list[RuleOut]:
    elsewhere = uses_on_devices(session)
    rows = session.scalars(select(AccessRuleRow).order_by(AccessRuleRow.id))
    return [rule_out(r, elsewhere) for r in rows]


def get_rule(session: Session, rule_id: int) -> RuleOut:
    return rule_out(fetch(session, AccessRuleRow, rule_id, "rule"), uses_on_devices(session))


def create_rule(session: Session, who: Principal, body: RuleIn) -> RuleOut:
    """Once any active rule exists, only rules grant access (as in `runtime.access`)."""
    require(who, Role.OPERATOR)
    _check_refs(session, body)
    row = AccessRuleRow(**_fields(body), uses=0)
    session.add(row)
    session.flush()
    bump(session, RULES)
    audit(session, who, "rule_create", f"rule:{row.id}", name=row.name, max_uses=row.max_uses)
    session.commit()
    return rule_out(row)


def replace_rule(session: Session, who: Principal, rule_id: int, body: RuleIn) -> RuleOut:
    """Replace a rule; its use count is kept."""
    require(who, Role.OPERATOR)
    row = fetch(session, AccessRuleRow, rule_id, "rule")
    _check_refs(session, body)
    for k, v in _fields(body).items():
        setattr(row, k, v)
    bump(session, RULES)
    audit(session, who, "rule_update", f"rule:{row.id}", name=row.name)
    session.commit()
    return rule_out(row)


def delete_rule(session: Session, who: Principal, rule_id: int) -> None:
    require(who, Role.OPERATOR)
    row = fetch(session, AccessRuleRow, rule_id, "rule")
    audit(session, who, "rule_delete", f"rule:{row.id}", name=row.name)
    session.delete(row)
    bump(session, RULES)
    session.commit()
