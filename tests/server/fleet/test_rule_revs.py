"""A resident a rule change takes off a device and a later one puts back is on the device
again at once, not only after its next snapshot."""

from __future__ import annotations

from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.protocol import Step
from facegate.gallery.store import NewTemplate
from facegate.vault import Vault, new_key
from tests.server.conftest import Api, add_resident
from tests.server.fleet.test_prune import (
    _enrolled,
    _publish_as_the_service_does,
    _snapshot,
    _vec,
)


def test_a_resident_put_back_by_a_rule_is_on_the_device_again(api: Api, tmp_path) -> None:
    ann = add_resident(api, "Ann Lee")
    bob = add_resident(api, "Bob Ray")
    api.state.gallery.add_photo(ann["id"], [NewTemplate("sface", "v1", _vec(1))])
    api.state.gallery.add_photo(bob["id"], [NewTemplate("sface", "v1", _vec(2))])
    c = api.client
    assert c.post("/api/v1/rules", headers=api.admin, json={"resident_ids": [bob["id"]]}).is_success
    r = c.post("/api/v1/rules", headers=api.admin, json={"resident_ids": [ann["id"]]})
    assert r.status_code == 201, r.text
    rule = r.json()
    dev, verify = _enrolled(api)
    store = EdgeStore(tmp_path / "edge.sqlite", Vault([new_key()]))
    version, snap = _snapshot(api, dev, verify)
    store.apply_snapshot(snap, version)
    prev, new, delta = _publish_as_the_service_does(api, dev["device_id"])  # the setup's
    assert store.apply_delta(prev, new, delta) is not Step.GAP
    store_ids = lambda: {x.id for x in store.residents()}  # noqa: E731
    assert store_ids() == {ann["id"], bob["id"]}

    def edit(resident_ids: list[int]) -> None:
        body = {**{k: rule[k] for k in ("name", "windows")}, "resident_ids": resident_ids}
        got = c.put(f"/api/v1/rules/{rule['id']}", headers=api.admin, json=body)
        assert got.status_code == 200, got.text
        prev, new, delta = _publish_as_the_service_does(api, dev["device_id"])
        assert store.apply_delta(prev, new, delta) is Step.APPLY

    edit([bob["id"]])  # Ann's only rule no longer names her: off the device
    assert store_ids() == {bob["id"]}
    edit([ann["id"]])  # and back
    assert store_ids() == {ann["id"], bob["id"]}  # was: Ann missing until a snapshot
    store.close()
