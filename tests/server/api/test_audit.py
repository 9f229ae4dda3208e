"""The audit log through the API (`GET /api/v1/audit`): each entry carries the sentence the
UI shows (`summary`, `operations.audit_text`), in English, by the object's current name,
beside the stored action, target and detail."""

from __future__ import annotations

from tests.server.conftest import Api, add_resident


def test_audit_entries_come_with_their_sentence(api: Api) -> None:
    c = api.client
    ann = add_resident(api, "Ann Lee")
    r = c.patch(f"/api/v1/residents/{ann['id']}", headers=api.operator, json={"name": "Ann Ng"})
    assert r.status_code == 200, r.text

    log = c.get("/api/v1/audit?actor=user:oper", headers=api.viewer).json()
    assert [(e["action"], e["summary"]) for e in log] == [
        ("resident_update", "oper changed resident Ann Ng (changed: name)"),
        ("resident_create", "oper added resident Ann Ng"),  # by the name it has now
        ("sign_in", "oper signed in"),
    ]
    assert log[1]["target"] == f"resident:{ann['id']}" and log[1]["detail"]  # kept as stored
    signed_in = c.get("/api/v1/audit?action=sign_in&limit=1", headers=api.viewer).json()
    assert signed_in[0]["summary"] == "view signed in"

    c.delete(f"/api/v1/residents/{ann['id']}", headers=api.operator)
    erased = c.get("/api/v1/audit?action=resident_delete", headers=api.viewer).json()
    assert len(erased) == 1 and "Ann" not in erased[0]["summary"]  # an erased name stays gone
