"""The device's local copy: snapshot replaces, deltas by the version rule with revocations
first (even on a gap), no resurrection by an older record, templates sealed at rest, and
the access policy over it (fail closed after max_offline_s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from facegate.errors import GalleryError
from facegate.fleet.edge.policy import EdgeAccessPolicy
from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.protocol import (
    Delta,
    RemoveEntrance,
    RemoveResident,
    ReplaceRules,
    RuleSet,
    Step,
    UpsertEntrance,
    UpsertResident,
)
from facegate.runtime.access import AccessRule
from tests.fleet.edge.conftest import entrance, resident, snapshot

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path, vault):
    with EdgeStore(tmp_path / "edge.sqlite", vault) as s:
        s.apply_snapshot(
            snapshot(
                "n" * 16, [resident(1, "Ann", 3), resident(2, "Bob", 4)], entrances=[entrance()]
            ),
            version=10,
        )
        yield s


def names(store: EdgeStore) -> list[str]:
    return sorted(p.name for p in store.persons())


def test_a_snapshot_replaces_everything_in_one_go(store: EdgeStore) -> None:
    assert names(store) == ["Ann", "Bob"] and store.version == 10
    store.apply_snapshot(
        snapshot("m" * 16, [resident(3, "Cy", 1)], entrances=[entrance(2, "back")]), version=4
    )
    assert names(store) == ["Cy"]
    assert [e.name for e in store.entrances()] == ["back"]
    assert store.version == 4  # the server's chain may have restarted: a snapshot is the truth
    ts = store.templates("sface")
    assert ts.matrix.shape == (1, 128) and ts.names == {3: "Cy"}


def test_a_delta_applies_revocations_first_and_an_older_record_never_resurrects(store) -> None:
    # the server listed the upsert first, but the removal is newer: removal wins
    delta = Delta(ops=[UpsertResident(resident=resident(1, "Ann", 5)), RemoveResident(id=1, rev=6)])
    before = store.data_version()
    assert store.apply_delta(10, 11, delta) is Step.APPLY
    assert names(store) == ["Bob"] and store.version == 11
    assert store.data_version() > before  # the door reloads its gallery
    # a later delta carrying an older record of Ann (rev 5 < tombstone 6): ignored
    stale = Delta(ops=[UpsertResident(resident=resident(1, "Ann", 5))])
    assert store.apply_delta(11, 12, stale) is Step.APPLY
    assert names(store) == ["Bob"] and store.rev(1) == 6
    # a newer one (re-added on the server) comes back
    again = Delta(ops=[UpsertResident(resident=resident(1, "Ann", 7))])
    assert store.apply_delta(12, 13, again) is Step.APPLY
    assert names(store) == ["Ann", "Bob"]


def test_a_duplicate_delta_is_ignored(store: EdgeStore) -> None:
    delta = Delta(ops=[UpsertResident(resident=resident(3, "Cy", 1))])
    assert store.apply_delta(10, 11, delta) is Step.APPLY
    version = store.data_version()
    assert store.apply_delta(10, 11, delta) is Step.DUPLICATE
    assert store.data_version() == version and names(store) == ["Ann", "Bob", "Cy"]


def test_a_gap_applies_only_the_revocations(store: EdgeStore) -> None:
    delta = Delta(
        ops=[
            UpsertResident(resident=resident(3, "Cy", 9)),
            RemoveResident(id=2, rev=9),
            RemoveEntrance(id=1),
        ]
    )
    assert store.apply_delta(12, 13, delta) is Step.GAP  # 11 and 12 were missed
    assert names(store) == ["Ann"]  # Bob removed at once; Cy waits for the snapshot
    assert store.entrances() == []
    assert store.version == 10


def test_a_never_synced_store_treats_every_delta_as_a_gap(tmp_path, vault) -> None:
    with EdgeStore(tmp_path / "e.sqlite", vault) as s:
        assert s.version is None
        d = Delta(ops=[UpsertResident(resident=resident(1, "Ann", 1)), RemoveResident(id=2, rev=1)])
        assert s.apply_delta(0, 1, d) is Step.GAP
        assert s.persons() == [] and s.rev(2) == 1


def test_rules_and_entrances_change_by_delta(store: EdgeStore) -> None:
    rules = RuleSet(rules=[AccessRule(people=["Ann"], entrances=["main"])], rule_ids=[5], uses=[0])
    changes = store.changes()
    d = Delta(
        ops=[ReplaceRules(rules=rules), UpsertEntrance(entrance=entrance(1, "main", enabled=False))]
    )
    assert store.apply_delta(10, 11, d) is Step.APPLY
    assert store.rules() == rules
    assert store.entrances()[0].enabled is False
    after = store.changes()
    assert after[1] > changes[1] and after[2] > changes[2] and after[0] == changes[0]


def test_templates_are_sealed_at_rest(tmp_path, vault) -> None:
    r = resident(1, "Ann", 1)
    raw = np.asarray(r.templates[0].vector(), "<f4").tobytes()
    path = tmp_path / "edge.sqlite"
    with EdgeStore(path, vault) as s:
        s.apply_snapshot(snapshot("n" * 16, [r]), version=1)
        assert np.allclose(s.templates("sface").matrix[0], r.templates[0].vector())
        files = b"".join(p.read_bytes() for p in tmp_path.glob("edge.sqlite*"))
        assert raw[:64] not in files and raw[64:] not in files
        assert b"Ann" in files  # names are not sealed, so this is a fair search
    assert (path.stat().st_mode & 0o777) == 0o600


def test_the_door_cannot_write_the_synced_gallery(store: EdgeStore) -> None:
    with pytest.raises(GalleryError, match="come from the server"):
        store.add_person("Eve", [])
    with pytest.raises(GalleryError):
        store.remove_person("Ann")


# -- the access policy over the store ---------------------------------------------------------


def test_the_policy_follows_the_synced_rules_and_residents(store: EdgeStore) -> None:
    policy = EdgeAccessPolicy(store)
    assert policy.check("Ann", "main", NOW).allowed  # no rules: default_allow
    rules = RuleSet(rules=[AccessRule(people=["Bob"], entrances=["main"])], rule_ids=[5], uses=[0])
    store.apply_delta(10, 11, Delta(ops=[ReplaceRules(rules=rules)]))
    assert policy.refresh() is True and policy.refresh() is False
    assert not policy.check("Ann", "main", NOW).allowed
    assert policy.check("Bob", "main", NOW).allowed
    gone = resident(2, "Bob", 9, active=False)
    store.apply_delta(11, 12, Delta(ops=[UpsertResident(resident=gone)]))
    policy.refresh()
    v = policy.check("Bob", "main", NOW)
    assert not v.allowed and v.reason == "Bob is not an active resident"
    later = resident(1, "Ann", 9, valid_until=NOW - timedelta(days=1))
    store.apply_delta(12, 13, Delta(ops=[UpsertResident(resident=later)]))
    policy.refresh()
    assert "was a resident until" in policy.check("Ann", "main", NOW).reason


def test_a_guest_pass_used_here_stays_used_after_a_restart(store: EdgeStore) -> None:
    rules = RuleSet(
        rules=[AccessRule(people=["Ann"], entrances=["*"], max_uses=1)], rule_ids=[42], uses=[0]
    )
    store.apply_delta(10, 11, Delta(ops=[ReplaceRules(rules=rules)]))
    policy = EdgeAccessPolicy(store)
    v = policy.check("Ann", "main", NOW)
    assert v.allowed and v.rule_index == 0
    policy.record_use(0)
    again = EdgeAccessPolicy(store)  # a restart
    assert not again.check("Ann", "main", NOW).allowed
    assert store.local_uses() == {42: 1}


def test_max_offline_s_keeps_the_door_shut_when_the_data_is_too_old(store: EdgeStore) -> None:
    t0 = store.last_sync
    assert t0 is not None
    clock = [t0 + 60]
    policy = EdgeAccessPolicy(store, max_offline_s=3600, clock=lambda: clock[0])
    assert policy.check("Ann", "main", NOW).allowed
    clock[0] = t0 + 3 * 3600
    v = policy.check("Ann", "main", NOW)
    assert not v.allowed
    assert v.reason == "no sync for 3 h: this door is set to stay closed"
    store.touch_sync(clock[0])  # the device heard from the server again
    assert policy.check("Ann", "main", NOW).allowed
    # the default: keep deciding from the last synced data, however old
    clock[0] = t0 + 30 * 86400
    assert EdgeAccessPolicy(store, clock=lambda: clock[0]).check("Ann", "main", NOW).allowed
