"""Access rules and guest passes (`/api/v1/rules`)."""

from __future__ import annotations

from tests.server.conftest import Api, add_resident


def test_rules_and_guest_passes(api: Api) -> None:
    c = api.client
    ann = add_resident(api, "Ann Lee")
    main = c.get("/api/v1/entrances", headers=api.viewer).json()[0]
    r = c.post(
        "/api/v1/rules",
        headers=api.operator,
        json={
            "name": "cleaning",
            "resident_ids": [ann["id"]],
            "entrance_ids": [main["id"]],
            "windows": [{"days": ["mon-fri"], "start": "09:00", "end": "12:00"}],
        },
    )
    assert r.status_code == 201 and r.json()["kind"] == "rule"
    r = c.post(
        "/api/v1/rules",
        headers=api.operator,
        json={
            "name": "visitor",
            "resident_ids": [ann["id"]],
            "max_uses": 3,
            "valid_until": "2099-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 201 and r.json()["kind"] == "guest_pass" and r.json()["uses"] == 0
    rid = r.json()["id"]
    bad = c.post("/api/v1/rules", headers=api.operator, json={"resident_ids": [987654]})
    assert bad.status_code == 400 and "no resident with id 987654" in bad.json()["message"]
    bad = c.post(
        "/api/v1/rules",
        headers=api.operator,
        json={"windows": [{"start": "25:00", "end": "26:00"}]},
    )
    assert bad.status_code == 422
    r = c.put(
        f"/api/v1/rules/{rid}",
        headers=api.operator,
        json={"name": "visitor", "resident_ids": [ann["id"]], "max_uses": 5},
    )
    assert r.status_code == 200 and r.json()["max_uses"] == 5
    assert len(c.get("/api/v1/rules", headers=api.viewer).json()) == 2
    assert c.delete(f"/api/v1/rules/{rid}", headers=api.operator).status_code == 204
    actions = [a["action"] for a in c.get("/api/v1/audit", headers=api.viewer).json()]
    assert {"rule_create", "rule_update", "rule_delete", "resident_create"} <= set(actions)
