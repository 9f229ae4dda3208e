"""Access rules and guest passes through `operations.rules`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facegate.server.access_policy import RULES
from facegate.server.db.database import counter
from facegate.server.db.models import AccessRuleRow, AuditEntry
from facegate.server.errors import Invalid, NotFound, UnknownId
from facegate.server.operations import residents, rules
from facegate.server.schemas import ResidentIn, RuleIn
from tests.server.conftest import OPERATOR


def test_a_rule_naming_a_missing_resident_or_entrance_is_refused(session: Session) -> None:
    ann = residents.create_resident(session, OPERATOR, ResidentIn(name="Ann"))
    audits = session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(UnknownId, match="no resident with id 987654") as e:
        rules.create_rule(session, OPERATOR, RuleIn(name="r", resident_ids=[ann.id, 987654]))
    assert e.value.code == "unknown_id"
    session.rollback()
    with pytest.raises(UnknownId, match="no entrance with id 55"):
        rules.create_rule(session, OPERATOR, RuleIn(name="r", entrance_ids=[55]))
    session.rollback()
    with pytest.raises(Invalid, match="resident_ids is empty: use null for every resident"):
        rules.create_rule(session, OPERATOR, RuleIn(name="r", resident_ids=[]))
    session.rollback()
    assert rules.list_rules(session) == []
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audits


def test_replacing_a_rule_keeps_its_use_count_and_tells_the_runtimes(session: Session) -> None:
    ann = residents.create_resident(session, OPERATOR, ResidentIn(name="Ann"))
    v0 = counter(session, RULES)
    guest = rules.create_rule(session, OPERATOR, RuleIn(resident_ids=[ann.id], max_uses=3))
    assert guest.kind == "guest_pass" and guest.uses == 0
    assert counter(session, RULES) > v0
    session.get(AccessRuleRow, guest.id).uses = 2
    session.commit()
    rule = rules.replace_rule(session, OPERATOR, guest.id, RuleIn(name="cleaning"))
    assert rule.kind == "rule" and rule.uses == 2 and rule.resident_ids is None
    assert rules.get_rule(session, guest.id) == rule
    rules.delete_rule(session, OPERATOR, guest.id)
    with pytest.raises(NotFound, match=f"no rule with id {guest.id}"):
        rules.get_rule(session, guest.id)
    actions = list(
        session.scalars(select(AuditEntry.action).where(AuditEntry.target.like("rule:%")))
    )
    assert sorted(actions) == ["rule_create", "rule_delete", "rule_update"]
