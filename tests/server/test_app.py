"""What `create_app` serves besides the routers: /health (no sign-in), /metrics, the OpenAPI
schema and /docs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.server.conftest import Api


def test_health_needs_no_sign_in_and_everything_else_does(api: Api) -> None:
    h = api.client.get("/health")
    assert h.status_code == 200 and h.json()["status"] == "ok"
    assert h.json()["entrances"] == {"main": "no_source"}  # the default entrance exists
    live = h.json()["liveness"]["main"]  # the default: the shipped passive model, motion, screen
    assert live["checks"] == ["passive", "motion", "screen"] and live["passive"] is True
    assert "minifasnet (shipped)" in live["summary"]
    assert live["described_by"] == "config"  # no runtime is running
    for path in ("/api/v1/residents", "/api/v1/events", "/api/v1/entrances", "/metrics"):
        r = api.client.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"] == "unauthorized"


def test_metrics_are_prometheus_text(api: Api) -> None:
    main = api.client.get("/api/v1/entrances", headers=api.viewer).json()[0]
    api.client.post(
        f"/api/v1/entrances/{main['id']}/open", headers=api.operator, json={"reason": "test"}
    )
    text = api.client.get("/metrics", headers=api.viewer).text
    assert 'facegate_events_total{decision="open",entrance="main"} 1.0' in text
    assert "facegate_time_to_open_seconds" in text and "facegate_frames_per_second" in text


def test_openapi_lists_the_stable_paths(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path in (
        "/api/v1/auth/token",
        "/api/v1/residents",
        "/api/v1/residents/{resident_id}/photos",
        "/api/v1/identify",
        "/api/v1/verify",
        "/api/v1/events",
        "/health",
    ):
        assert path in spec["paths"], path
    schemes = spec["components"]["securitySchemes"]
    assert {"OAuth2PasswordBearer", "APIKeyHeader"} <= set(schemes)
    assert api.client.get("/docs").status_code == 200


def test_locked_sqlite_database_is_503_and_nothing_is_lost(make_api, tmp_path: Path) -> None:
    api: Api = make_api(db_timeout_s=0.3)
    headers = api.operator
    db = sqlite3.connect(tmp_path / "server.sqlite", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")  # another writer holds the lock
    try:
        r = api.client.post("/api/v1/residents", headers=headers, json={"name": "Ann Lee"})
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "database_unavailable"
        assert "locked" in r.json()["message"] and "nothing was changed" in r.json()["message"]
    finally:
        db.execute("ROLLBACK")
        db.close()
    r = api.client.post("/api/v1/residents", headers=headers, json={"name": "Ann Lee"})
    assert r.status_code == 201
    names = [p["name"] for p in api.client.get("/api/v1/residents", headers=headers).json()]
    assert names == ["Ann Lee"]
