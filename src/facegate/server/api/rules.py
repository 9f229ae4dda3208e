"""Access rules and guest passes (`operations.rules`). The runtimes pick up a change within
`runtime.gallery_reload_s`; with no active rule, every resident may open every entrance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from facegate.server.deps import DB, Operator, Viewer
from facegate.server.operations import rules
from facegate.server.schemas import DB_INT, ERRORS, RuleIn, RuleOut

router = APIRouter(
    prefix="/rules", tags=["access rules"], responses={k: ERRORS[k] for k in (401, 403, 503)}
)
Id = Annotated[int, Path(ge=1, le=DB_INT)]


@router.get("", response_model=list[RuleOut])
def list_rules(session: DB, who: Viewer) -> list[RuleOut]:
    return rules.list_rules(session)


@router.post("", response_model=RuleOut, status_code=201, responses={400: ERRORS[400]})
def create_rule(body: RuleIn, session: DB, who: Operator) -> RuleOut:
    """Once any active rule exists, only rules grant access (as in `runtime.access`)."""
    return rules.create_rule(session, who, body)


@router.get("/{rule_id}", response_model=RuleOut, responses={404: ERRORS[404]})
def get_rule(rule_id: Id, session: DB, who: Viewer) -> RuleOut:
    return rules.get_rule(session, rule_id)


@router.put("/{rule_id}", response_model=RuleOut, responses={400: ERRORS[400], 404: ERRORS[404]})
def replace_rule(rule_id: Id, body: RuleIn, session: DB, who: Operator) -> RuleOut:
    """Replace a rule; its use count is kept."""
    return rules.replace_rule(session, who, rule_id, body)


@router.delete("/{rule_id}", status_code=204, responses={404: ERRORS[404]})
def delete_rule(rule_id: Id, session: DB, who: Operator) -> None:
    rules.delete_rule(session, who, rule_id)
