"""The fan-out of one publish round over several devices: each change reaches exactly the
devices whose entrances it concerns, each device's chain moves on by one, and devices at
the same entrances are told the same thing (the round shares records and rule sets)."""

from __future__ import annotations

import uuid

from facegate.fleet.protocol import ReplaceRules, UpsertResident
from facegate.gallery.store import NewTemplate
from facegate.server.db.database import transaction
from facegate.server.db.fleet_models import Device
from facegate.server.operations import fleet_fanout, fleet_sync
from tests.server.conftest import Api, add_resident
from tests.server.fleet.test_prune import _vec


def _round(api: Api) -> dict[int, fleet_fanout.Outgoing]:
    with transaction(api.state.sessions) as s:
        changes = fleet_fanout.claim_changes(s, 200)
        out = fleet_fanout.fan_out(s, api.state.gallery.vault, changes, None)
        fleet_fanout.mark_published(s, [c.seq for c in changes], {o.device: o.version for o in out})
    return {o.device: o for o in out}


def _upserted(o: fleet_fanout.Outgoing) -> set[str]:
    return {op.resident.name for op in o.delta.ops if isinstance(op, UpsertResident)}


def _rules(o: fleet_fanout.Outgoing) -> list[list[str]]:
    (op,) = [op for op in o.delta.ops if isinstance(op, ReplaceRules)]
    return [r.people for r in op.rules.rules]


def test_a_round_tells_each_device_what_its_entrances_need(api: Api) -> None:
    c = api.client
    ents = {e["name"]: e["id"] for e in c.get("/api/v1/entrances", headers=api.admin).json()}
    for name in ("side", "back"):
        ents[name] = c.post("/api/v1/entrances", headers=api.admin, json={"name": name}).json()[
            "id"
        ]
    people = {n: add_resident(api, n)["id"] for n in ("Ann", "Bob", "Cat", "Dan")}
    for name, who, where in (
        ("main people", ["Ann"], ["main"]),
        ("side people", ["Bob"], ["side"]),
    ):
        body = {
            "name": name,
            "resident_ids": [people[p] for p in who],
            "entrance_ids": [ents[e] for e in where],
        }
        assert c.post("/api/v1/rules", headers=api.admin, json=body).status_code == 201
    staff = c.post(
        "/api/v1/rules", headers=api.admin, json={"name": "staff", "resident_ids": [people["Cat"]]}
    ).json()
    devices = {}
    for name, where in (("d1", "main"), ("d2", "side"), ("d3", "side"), ("d4", "back")):
        r = c.post(
            "/api/v1/devices", headers=api.admin, json={"name": name, "entrances": [ents[where]]}
        )
        got = c.post("/api/v1/device/enrol", json={"token": r.json()["token"]}).json()
        devices[name] = got["device_id"]
    by_id = {v: k for k, v in devices.items()}
    versions = {d: o.version for d, o in _round(api).items()}  # the setup's changes

    def step(out: dict[int, fleet_fanout.Outgoing]) -> set[str]:
        for d, o in out.items():
            assert o.prev == versions.get(d, 0), "each delta follows the device's last one"
            assert o.version == o.prev + 1
            versions[d] = o.version
        return {by_id[d] for d in out}

    # Bob's photo: only the side door's two devices, with the same record
    api.state.gallery.add_photo(people["Bob"], [NewTemplate("sface", "v1", _vec(2))])
    out = _round(api)
    assert step(out) == {"d2", "d3"}
    assert all(_upserted(out[devices[d]]) == {"Bob"} for d in ("d2", "d3"))
    # Cat (staff, every entrance): all four
    api.state.gallery.add_photo(people["Cat"], [NewTemplate("sface", "v1", _vec(3))])
    out = _round(api)
    assert step(out) == {"d1", "d2", "d3", "d4"}
    assert all(_upserted(o) == {"Cat"} for o in out.values())
    # Dan joins the staff rule: every device gets Dan and its own entrance's rules
    body = {"name": "staff", "windows": staff["windows"]}
    body["resident_ids"] = [people["Cat"], people["Dan"]]
    assert c.put(f"/api/v1/rules/{staff['id']}", headers=api.admin, json=body).status_code == 200
    out = _round(api)
    assert step(out) == {"d1", "d2", "d3", "d4"}
    assert all("Dan" in _upserted(o) for o in out.values())
    assert _rules(out[devices["d1"]]) == [["Ann"], ["Cat", "Dan"]]
    assert _rules(out[devices["d2"]]) == _rules(out[devices["d3"]]) == [["Bob"], ["Cat", "Dan"]]
    assert _rules(out[devices["d4"]]) == [["Cat", "Dan"]]
    # nothing changed: nobody is told anything
    assert _round(api) == {}
    # a snapshot reads only the rules at the device's entrances, and still knows that
    # rules exist elsewhere: nobody else may open at the back door
    with api.state.sessions() as s:
        d4 = s.get(Device, devices["d4"])
        _, snap = fleet_sync.snapshot(s, api.state.gallery.vault, d4, uuid.uuid4().hex, None)
    assert {r.name for r in snap.residents} == {"Cat", "Dan"}
    assert not snap.rules.default_allow and [r.people for r in snap.rules.rules] == [["Cat", "Dan"]]
