"""Pruning the change outbox, on SQLite and PostgreSQL: every unpublished change stays, and
per (kind, subject) the newest published one (it is the resident's revision on the
devices); older published changes go after a day. Afterwards the residents' revisions are
what they were, and a delta built after the pruning still applies on a device's store.
The fleet service prunes on its own, periodically."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select, update

from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.protocol import Kind, Snapshot, Step, Verifier, load_public_key
from facegate.gallery.store import NewTemplate
from facegate.server.db.database import transaction
from facegate.server.db.fleet_capture import RESIDENT
from facegate.server.db.fleet_models import FleetChange
from facegate.server.db.models import utcnow
from facegate.server.operations import fleet_fanout, fleet_sync
from facegate.server.operations.fleet_prune import prune_changes
from facegate.vault import Vault, new_key
from tests.server.conftest import Api, add_resident
from tests.server.fleet.conftest import Mosquitto


def _vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(16).astype(np.float32)


def _enrolled(api: Api) -> tuple[dict, Verifier]:
    ents = {
        e["name"]: e["id"] for e in api.client.get("/api/v1/entrances", headers=api.admin).json()
    }
    r = api.client.post(
        "/api/v1/devices", headers=api.admin, json={"name": "door-1", "entrances": [ents["main"]]}
    )
    assert r.status_code == 201, r.text
    got = api.client.post("/api/v1/device/enrol", json={"token": r.json()["token"]}).json()
    return got, Verifier(load_public_key(got["public_key"]), got["device_id"])


def _snapshot(api: Api, dev: dict, verify: Verifier) -> tuple[int, Snapshot]:
    r = api.client.get(
        "/api/v1/device/snapshot",
        params={"nonce": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {dev['secret']}"},
    )
    env = verify.open(r.content, Kind.SNAPSHOT)
    assert env.version is not None
    return env.version, Snapshot.model_validate(env.body)


def _rename(api: Api, rid: int, name: str) -> None:
    r = api.client.patch(f"/api/v1/residents/{rid}", headers=api.operator, json={"name": name})
    assert r.status_code == 200, r.text


def _rows(api: Api) -> list[FleetChange]:
    with api.state.sessions() as s:
        rows = list(s.scalars(select(FleetChange).order_by(FleetChange.seq)))
        s.expunge_all()
    return rows


def _publish(api: Api, seqs: list[int], ago: timedelta) -> None:
    with transaction(api.state.sessions) as s:
        s.execute(
            update(FleetChange)
            .where(FleetChange.seq.in_(seqs))
            .values(published_at=utcnow() - ago, created_at=utcnow() - ago)
        )


def _publish_as_the_service_does(api: Api, device_id: int) -> tuple[int, int, object]:
    """One publisher round without a broker: (prev, version, delta) for the device."""
    with transaction(api.state.sessions) as s:
        changes = fleet_fanout.claim_changes(s, 200)
        out = fleet_fanout.fan_out(s, api.state.gallery.vault, changes, None)
        mine = next(o for o in out if o.device == device_id)
        fleet_fanout.mark_published(s, [c.seq for c in changes], {o.device: o.version for o in out})
    return mine.prev, mine.version, mine.delta


def prune_changes_again(api: Api) -> int:
    with transaction(api.state.sessions) as s:
        return prune_changes(s)


def test_pruning_keeps_what_revisions_need_and_deltas_still_apply(api: Api, tmp_path) -> None:
    dev, verify = _enrolled(api)
    ann = add_resident(api, "Ann Lee")
    bob = add_resident(api, "Bob Ray")
    api.state.gallery.add_photo(ann["id"], [NewTemplate("sface", "v1", _vec(1))])
    api.state.gallery.add_photo(bob["id"], [NewTemplate("sface", "v1", _vec(2))])
    for k in range(3):  # history: several published changes about Ann
        _rename(api, ann["id"], f"Ann Lee {k}")
    _publish(api, [r.seq for r in _rows(api)], timedelta(days=2))
    _rename(api, ann["id"], "Ann Lee 3")
    _rename(api, ann["id"], "Ann Lee 4")
    recent = [r.seq for r in _rows(api) if r.published_at is None]
    _publish(api, recent, timedelta(hours=1))  # published within the day: kept
    _rename(api, bob["id"], "Bob Ray 2")  # not published yet, however old
    with transaction(api.state.sessions) as s:
        s.execute(
            update(FleetChange)
            .where(FleetChange.published_at.is_(None))
            .values(created_at=utcnow() - timedelta(days=3))
        )
    before = _rows(api)
    unpublished = {r.seq for r in before if r.published_at is None}
    assert unpublished
    bob_published = [
        r.seq
        for r in before
        if (r.kind, r.subject_id) == (RESIDENT, bob["id"]) and r.published_at is not None
    ]
    assert len(bob_published) >= 2  # resident and photo changes: all but the newest go
    bob_unpublished = {
        r.seq
        for r in before
        if (r.kind, r.subject_id) == (RESIDENT, bob["id"]) and r.published_at is None
    }
    assert len(bob_unpublished) == 1
    with api.state.sessions() as s:
        revs_before = fleet_sync.revs(s, None)

    store = EdgeStore(tmp_path / "edge.sqlite", Vault([new_key()]))
    version, snap = _snapshot(api, dev, verify)
    store.apply_snapshot(snap, version)
    held = {r.id: r.rev for r in store.residents()}
    assert held == {ann["id"]: revs_before[ann["id"]], bob["id"]: revs_before[bob["id"]]}

    with transaction(api.state.sessions) as s:
        gone = prune_changes(s)
    after = _rows(api)
    assert gone == len(before) - len(after) > 0
    kept = {r.seq for r in after}
    assert unpublished <= kept
    ann_rows = [r.seq for r in after if (r.kind, r.subject_id) == (RESIDENT, ann["id"])]
    assert ann_rows == recent  # the two from within the day; the older three are gone
    bob_rows = {r.seq for r in after if (r.kind, r.subject_id) == (RESIDENT, bob["id"])}
    assert bob_rows == {max(bob_published)} | bob_unpublished
    cutoff = utcnow() - timedelta(days=1)
    groups = {(r.kind, r.subject_id) for r in after}
    for kind, subject in groups:  # at most one old published row per subject: its newest
        old = [
            r
            for r in after
            if (r.kind, r.subject_id) == (kind, subject)
            and r.published_at is not None
            and r.published_at < cutoff
        ]
        assert len(old) <= 1
    assert max(kept) == max(r.seq for r in before)  # no change number can come back
    with api.state.sessions() as s:
        assert fleet_sync.revs(s, None) == revs_before
    # a snapshot taken now carries the revisions the device already holds
    _, again = _snapshot(api, dev, verify)
    assert {r.id: r.rev for r in again.residents} == held
    assert prune_changes_again(api) == 0  # nothing more to take

    # after the pruning: Ann renamed, Bob deleted; the delta applies on the device
    _rename(api, ann["id"], "Ann Lee-Smith")
    assert (
        api.client.delete(f"/api/v1/residents/{bob['id']}", headers=api.operator).status_code == 204
    )
    prev, new_version, delta = _publish_as_the_service_does(api, dev["device_id"])
    assert prev == store.version
    assert store.apply_delta(prev, new_version, delta) is Step.APPLY
    now_held = {r.id: r for r in store.residents()}
    assert set(now_held) == {ann["id"]}
    assert now_held[ann["id"]].name == "Ann Lee-Smith"
    assert store.rev(ann["id"]) > held[ann["id"]] and store.rev(bob["id"]) > held[bob["id"]]
    # the same delta redelivered changes nothing
    assert store.apply_delta(prev, new_version, delta) is Step.DUPLICATE
    store.close()


def test_the_fleet_service_prunes_periodically(
    make_api, broker: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEGATE_MQTT_URL", broker.url)
    api = make_api()
    fleet = api.state.fleet
    assert fleet.broker.wait_connected(10)
    _enrolled(api)
    ann = add_resident(api, "Ann Lee")
    for k in range(3):
        _rename(api, ann["id"], f"Ann Lee {k}")
    end = time.monotonic() + 20
    while any(r.published_at is None for r in _rows(api)):  # the service publishes them
        assert time.monotonic() < end, "changes not published"
        time.sleep(0.1)
    rows = _rows(api)
    _publish(api, [r.seq for r in rows], timedelta(days=2))
    newest = max(r.seq for r in rows if (r.kind, r.subject_id) == (RESIDENT, ann["id"]))
    fleet.prune_every_s = 0.2
    end = time.monotonic() + 20

    def ann_rows() -> list[int]:
        return [r.seq for r in _rows(api) if (r.kind, r.subject_id) == (RESIDENT, ann["id"])]

    while len(ann_rows()) > 1:
        assert time.monotonic() < end, "the service did not prune"
        time.sleep(0.1)
    assert ann_rows() == [newest]
    assert fleet.pruned >= 3
