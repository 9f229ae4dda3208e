"""Validity bounds: naive times are UTC, on create and on update alike."""

from __future__ import annotations

from tests.server.conftest import Api, add_resident


def test_an_update_may_mix_naive_and_aware_bounds(api: Api) -> None:
    rid = add_resident(api, "Ann Lee", valid_from="2026-01-01T00:00:00+00:00")["id"]
    url = f"/api/v1/residents/{rid}"
    r = api.client.patch(url, json={"valid_until": "2026-06-01T00:00:00"}, headers=api.admin)
    assert r.status_code == 200, r.text  # was a 500: naive compared with aware
    assert r.json()["valid_until"].startswith("2026-06-01T00:00:00")
    r = api.client.patch(url, json={"valid_from": "2026-07-01T00:00:00"}, headers=api.admin)
    assert r.status_code == 400 and r.json()["error"] == "bad_value"
