"""The server's access policy: the runtime's rules over the residents and rules in the
server database; guest-pass uses survive a restart."""

from __future__ import annotations

from sqlalchemy import select

from facegate.server.access_policy import DbAccessPolicy
from facegate.server.db.models import AccessRuleRow
from tests.server.conftest import Api


def test_access_policy_reads_rules_residents_and_persists_guest_pass_uses(
    api: Api,
) -> None:
    from datetime import UTC, datetime

    c = api.client
    ann = c.post("/api/v1/residents", headers=api.admin, json={"name": "Ann Lee"}).json()
    c.post("/api/v1/residents", headers=api.admin, json={"name": "Old Tenant", "active": False})
    policy = DbAccessPolicy(api.state.sessions)
    now = datetime.now(UTC)
    assert policy.check("Ann Lee", "main", now).allowed  # no rules: every resident
    v = policy.check("Old Tenant", "main", now)
    assert not v.allowed and "not an active resident" in v.reason
    r = c.post(
        "/api/v1/rules",
        headers=api.admin,
        json={"name": "pass", "resident_ids": [ann["id"]], "max_uses": 2},
    )
    assert r.status_code == 201
    assert policy.refresh()
    v = policy.check("Ann Lee", "main", now)
    assert v.allowed and v.rule_index == 0
    policy.record_use(0)
    policy.record_use(0)
    v = policy.check("Ann Lee", "main", now)
    assert not v.allowed and "used up (2 of 2)" in v.reason
    with api.state.sessions() as s:
        assert s.scalar(select(AccessRuleRow.uses)) == 2  # survives a restart
    fresh = DbAccessPolicy(api.state.sessions)
    assert not fresh.check("Ann Lee", "main", now).allowed
    assert c.get("/api/v1/rules", headers=api.viewer).json()[0]["uses"] == 2


def test_rules_left_naming_only_deleted_residents_open_for_nobody(api: Api) -> None:
    """Deleting the only resident a rule names must not make the door open for every
    enrolled face (the rule grants nothing; "no rules: everyone" is for no rules at all)."""
    from datetime import UTC, datetime

    c = api.client
    ann = c.post("/api/v1/residents", headers=api.admin, json={"name": "Ann Lee"}).json()
    c.post("/api/v1/residents", headers=api.admin, json={"name": "Bob Roe"})
    r = c.post("/api/v1/rules", headers=api.admin, json={"resident_ids": [ann["id"]]})
    assert r.status_code == 201
    policy = DbAccessPolicy(api.state.sessions)
    now = datetime.now(UTC)
    assert policy.check("Ann Lee", "main", now).allowed
    assert not policy.check("Bob Roe", "main", now).allowed
    assert c.delete(f"/api/v1/residents/{ann['id']}", headers=api.admin).status_code == 204
    assert policy.refresh()
    assert not policy.check("Bob Roe", "main", now).allowed  # was: allowed (fail-open)


def test_weekly_windows_are_read_in_the_sites_zone(api: Api) -> None:
    from datetime import UTC, datetime

    c = api.client
    c.post("/api/v1/residents", headers=api.admin, json={"name": "Ann Lee"})
    window = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    window |= {"start": "08:00", "end": "20:00"}
    r = c.post("/api/v1/rules", headers=api.admin, json={"windows": [window]})
    assert r.status_code == 201, r.text
    at_0600_utc = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow, 06:00 in UTC
    assert (
        DbAccessPolicy(api.state.sessions, "Europe/Moscow")
        .check("Ann Lee", "main", at_0600_utc)
        .allowed
    )
    assert (
        not DbAccessPolicy(api.state.sessions, "UTC").check("Ann Lee", "main", at_0600_utc).allowed
    )
