"""A guest pass's uses count across the fleet: opens a device reports reach the server's
count, the other devices' rule sets, and the server's own doors; a use at a server door
reaches the devices."""

from __future__ import annotations

from datetime import UTC, datetime

from facegate.fleet.protocol import DeviceStatus, ReplaceRules
from facegate.server.access_policy import DbAccessPolicy
from facegate.server.db.database import transaction
from facegate.server.operations import devices as device_ops
from facegate.server.operations import fleet_fanout
from tests.server.conftest import Api, add_resident


def _round(api: Api) -> dict[int, list[int]]:
    """One publish round: each told device's rule-set uses."""
    with transaction(api.state.sessions) as s:
        changes = fleet_fanout.claim_changes(s, 200)
        out = fleet_fanout.fan_out(s, api.state.gallery.vault, changes, None)
        fleet_fanout.mark_published(s, [c.seq for c in changes], {o.device: o.version for o in out})
    told = {}
    for o in out:
        for op in o.delta.ops:
            if isinstance(op, ReplaceRules):
                told[o.device] = list(op.rules.uses)
    return told


def _report(api: Api, device: int, uses: dict[int, int]) -> None:
    with transaction(api.state.sessions) as s:
        status = DeviceStatus(device=device, online=True, rule_uses=uses)
        assert device_ops.apply_status(s, status, device)


def test_a_guest_pass_used_on_one_device_is_used_on_all(api: Api) -> None:
    c = api.client
    guest = add_resident(api, "Gus Guest")
    ents = {e["name"]: e["id"] for e in c.get("/api/v1/entrances", headers=api.admin).json()}
    body = {"name": "plumber", "resident_ids": [guest["id"]], "max_uses": 2}
    rule = c.post("/api/v1/rules", headers=api.admin, json=body).json()
    devices = []
    for name in ("d1", "d2"):
        r = c.post(
            "/api/v1/devices", headers=api.admin, json={"name": name, "entrances": [ents["main"]]}
        )
        devices.append(c.post("/api/v1/device/enrol", json={"token": r.json()["token"]}).json())
    d1, d2 = (d["device_id"] for d in devices)
    _round(api)  # the setup's changes
    uses = lambda: c.get(f"/api/v1/rules/{rule['id']}", headers=api.viewer).json()["uses"]  # noqa: E731

    _report(api, d1, {rule["id"]: 1})  # the guest came in at d1
    assert uses() == 1
    assert _round(api) == {d1: [1], d2: [1]}  # both devices now count 1 of 2
    _report(api, d1, {rule["id"]: 1})  # the same report again: nothing new
    assert _round(api) == {}
    _report(api, d1, {})  # d1 wiped: its opens still happened
    assert uses() == 1

    # a use at a door the server runs itself: counted with the devices' and sent to them
    policy = DbAccessPolicy(api.state.sessions)
    verdict = policy.check("Gus Guest", "main", datetime.now(UTC))
    assert verdict.allowed and policy.uses[verdict.rule_index] == 1
    policy.record_use(verdict.rule_index)
    assert uses() == 2
    assert _round(api) == {d1: [2], d2: [2]}
    policy.refresh()
    assert not policy.check("Gus Guest", "main", datetime.now(UTC)).allowed  # 2 of 2
