"""Sign-in, tokens and roles (`/api/v1/auth`, and the role every router requires)."""

from __future__ import annotations

from tests.server.conftest import Api


def test_bad_password_and_bad_token_are_401(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert r.status_code == 401 and r.json()["error"] == "bad_credentials"
    r = api.client.get("/api/v1/residents", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and "sign in again" in r.json()["message"]


def test_roles_viewer_reads_operator_changes_admin_manages_users(api: Api) -> None:
    c = api.client
    assert c.get("/api/v1/residents", headers=api.viewer).status_code == 200
    r = c.post("/api/v1/residents", headers=api.viewer, json={"name": "X"})
    assert r.status_code == 403 and "viewer may not" in r.json()["message"]
    assert c.post("/api/v1/residents", headers=api.operator, json={"name": "X"}).status_code == 201
    for method, path in (("get", "/api/v1/users"), ("get", "/api/v1/api-keys")):
        assert getattr(c, method)(path, headers=api.operator).status_code == 403
    r = c.post(
        "/api/v1/users",
        headers=api.operator,
        json={"username": "eve", "password": "password1", "role": "admin"},
    )
    assert r.status_code == 403
    assert c.get("/api/v1/users", headers=api.admin).status_code == 200
    assert c.get("/api/v1/auth/me", headers=api.viewer).json() == {
        "name": "user:view",
        "role": "viewer",
    }


def test_logout_revokes_the_token(api: Api) -> None:
    assert api.operator  # creates the user "oper"
    h = api.login("oper", "oper-password")
    assert api.client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert api.client.get("/api/v1/residents", headers=h).status_code == 401
