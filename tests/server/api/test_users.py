"""Users and API keys (`/api/v1/users`, `/api/v1/api-keys`): admins only."""

from __future__ import annotations

from tests.server.conftest import Api


def test_api_key_header_and_revocation(api: Api) -> None:
    c = api.client
    r = c.post("/api/v1/api-keys", headers=api.admin, json={"name": "door-app", "role": "viewer"})
    assert r.status_code == 201
    key, kid = r.json()["key"], r.json()["id"]
    assert c.get("/api/v1/residents", headers={"X-API-Key": key}).status_code == 200
    assert c.get("/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert (
        c.post("/api/v1/residents", headers={"X-API-Key": key}, json={"name": "Y"}).status_code
        == 403
    )
    assert c.get("/api/v1/api-keys", headers=api.admin).json()[0]["prefix"] == key[:8]
    assert c.delete(f"/api/v1/api-keys/{kid}", headers=api.admin).status_code == 204
    assert c.get("/api/v1/residents", headers={"X-API-Key": key}).status_code == 401


def test_last_admin_cannot_be_removed_and_password_change_ends_sessions(api: Api) -> None:
    c = api.client
    viewer = api.viewer  # creates the user "view"
    admin_id = next(
        u["id"]
        for u in c.get("/api/v1/users", headers=api.admin).json()
        if u["username"] == "admin"
    )
    r = c.delete(f"/api/v1/users/{admin_id}", headers=api.admin)
    assert r.status_code == 409 and r.json()["error"] == "last_admin"
    view_id = next(
        u["id"] for u in c.get("/api/v1/users", headers=api.admin).json() if u["username"] == "view"
    )
    r = c.patch(f"/api/v1/users/{view_id}", headers=api.admin, json={"password": "new-pass-9"})
    assert r.status_code == 200
    assert c.get("/api/v1/residents", headers=viewer).status_code == 401
    api.login("view", "new-pass-9")
