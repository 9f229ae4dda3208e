"""The Devices page: each device's state, last contact and how far behind it is, in
English and Russian; admins get the create form and revoke buttons, others do not."""

from __future__ import annotations

from facegate.fleet.protocol import DeviceStatus
from facegate.server.operations.devices import apply_status
from tests.server.conftest import ADMIN_PASSWORD, Api


def test_the_page_shows_each_device_and_what_it_lags(make_api) -> None:
    api: Api = make_api()
    main = api.client.get("/api/v1/entrances", headers=api.admin).json()[0]["id"]
    made = [
        api.client.post(
            "/api/v1/devices", headers=api.admin, json={"name": n, "entrances": [main]}
        ).json()
        for n in ("gate-pi", "lobby-pi")
    ]
    enrol = api.client.post("/api/v1/device/enrol", json={"token": made[0]["token"]}).json()
    with api.state.sessions() as s:  # as its status message would, 2 versions behind
        from facegate.server.db.fleet_models import Device

        s.get(Device, enrol["device_id"]).version = 5
        apply_status(
            s,
            DeviceStatus(device=enrol["device_id"], online=True, gallery_version=3),
            enrol["device_id"],
        )
        s.commit()
    admin = api.browser("admin", ADMIN_PASSWORD)
    html = admin.get("/devices").text
    assert "gate-pi" in html and "lobby-pi" in html
    assert "3 / 5 (2 changes behind)" in html
    assert "online" in html and "not enrolled yet" in html
    assert '<form id="add-device"' in html and 'data-call="revokeDevice"' in html
    assert "No broker is configured" in html
    ru = admin.get("/devices", cookies={"fg_lang": "ru"}).text
    assert "Устройства" in ru and "отстаёт на 2 изменения" in ru and "в сети" in ru
    api.operator  # noqa: B018 - makes the operator user
    oper = api.browser("oper", "oper-password")
    page = oper.get("/devices").text
    assert (
        "gate-pi" in page
        and '<form id="add-device"' not in page
        and 'data-call="revokeDevice"' not in page
    )
