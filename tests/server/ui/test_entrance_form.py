"""The entrance form's door fields (generated from the adapters' models), its strictness
presets and its secrets: a door set up field by field stores what the API would store,
a password is never shown and kept when left empty, a preset stores its numbers."""

from __future__ import annotations

import html
import re

from facegate.runtime.doors import MqttDoorConfig
from facegate.server.db.models import Entrance
from facegate.server.ui.door_fields import DOOR_FIELDS, WORDS, door_of
from facegate.server.ui.presets import PRESETS
from tests.server.conftest import ADMIN_PASSWORD, Api
from tests.server.ui.test_routes import FORM, entrances


def test_every_adapter_field_has_words_and_a_fitting_widget() -> None:
    assert set(DOOR_FIELDS) == {"log", "webhook", "mqtt", "gpio", "serial"}
    fields = {(f.kind, f.name): f for fs in DOOR_FIELDS.values() for f in fs}
    assert all(f.name in WORDS for f in fields.values()), "a door field without a label"
    assert fields["mqtt", "password"].widget == "password"
    assert fields["mqtt", "qos"].widget == "select" and fields["mqtt", "qos"].options == (
        "0",
        "1",
        "2",
    )
    assert fields["gpio", "active_low"].widget == "checkbox"
    assert fields["gpio", "line"].widget == "number" and fields["gpio", "line"].required
    assert fields["webhook", "headers"].widget == "json"
    assert fields["webhook", "url"].widget == "text" and fields["webhook", "url"].secret == "url"
    assert fields["log", "pulse_s"].default == 3.0
    door, problems = door_of("mqtt", {"door_mqtt_qos": "2", "door_mqtt_password": ""})
    assert MqttDoorConfig.model_validate(door).qos == 2 and "password" not in door
    assert problems == []


def stored_door(api: Api, name: str) -> dict:
    with api.state.sessions() as s:
        return next(e.door for e in s.query(Entrance).filter_by(name=name))


def test_a_door_set_up_field_by_field_keeps_its_password_unseen(make_api) -> None:
    api = make_api()
    ui = api.browser("admin", ADMIN_PASSWORD)
    mqtt = {
        "door_kind": "mqtt",
        "door_mqtt_host": "10.0.0.7",
        "door_mqtt_port": "1884",
        "door_mqtt_topic": "gate/{entrance}/open",
        "door_mqtt_qos": "2",
        "door_mqtt_username": "gate",
        "door_mqtt_password": "hunter2-relay",
        "door_mqtt_pulse_s": "1.5",
        "door_webhook_url": "http://ignored.example/",  # another adapter's field: not used
    }
    r = ui.post("/entrances", data={**FORM, **mqtt}, follow_redirects=False)
    assert r.status_code == 303, r.text
    door = stored_door(api, "garage")
    assert door["kind"] == "mqtt" and door["password"] == "hunter2-relay"
    assert (door["host"], door["port"], door["qos"], door["pulse_s"]) == ("10.0.0.7", 1884, 2, 1.5)
    assert "url" not in door
    page = ui.get("/entrances").text
    assert "hunter2-relay" not in page
    assert 'name="door_mqtt_host" value="10.0.0.7"' in page
    assert "stored: leave empty to keep" in page
    eid = entrances(api)["garage"]["id"]
    # sent back as shown (the password box empty): the stored password is kept
    r = ui.post(
        f"/entrances/{eid}",
        data={**FORM, **mqtt, "door_mqtt_password": "", "door_mqtt_pulse_s": "2"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    door = stored_door(api, "garage")
    assert door["password"] == "hunter2-relay" and door["pulse_s"] == 2.0
    # a token in a webhook URL reads back as *** and is kept when *** is sent back
    hook = {"door_kind": "webhook", "door_webhook_url": "http://10.0.0.8/open?token=s3cr3t-tok"}
    assert ui.post(f"/entrances/{eid}", data={**FORM, **hook}).status_code in (200, 303)
    page = ui.get("/entrances").text
    assert "s3cr3t-tok" not in page
    card = page[page.index(f'id="entrance-{eid}"') :]
    shown = re.search(r'name="door_webhook_url" value="([^"]*)"', card).group(1)
    assert html.unescape(shown) == "http://10.0.0.8/open?token=***"
    r = ui.post(
        f"/entrances/{eid}",
        data={**FORM, "door_kind": "webhook", "door_webhook_url": html.unescape(shown)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert stored_door(api, "garage")["url"] == "http://10.0.0.8/open?token=s3cr3t-tok"


def test_presets_store_their_numbers_and_show_as_chosen(make_api) -> None:
    api = make_api()
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get("/entrances").text
    # a new entrance starts from the shipped default, which is "balanced"
    new_form = page[page.index('id="add-entrance"') :]
    assert re.search(r'value="balanced"\s+checked', new_form)
    for p in PRESETS:
        name = f"door-{p.key}"
        r = ui.post(
            "/entrances",
            data={**FORM, "name": name, "preset": p.key, "fmr": "0.5"},  # numbers ignored
            follow_redirects=False,
        )
        assert r.status_code == 303, (p.key, r.text[:500])
        d = entrances(api)[name]["decision"]
        assert {k: d[k] for k in p.decision} == p.decision, p.key
        page = ui.get("/entrances").text
        card = page[page.index(f'id="entrance-{entrances(api)[name]["id"]}"') :]
        assert re.search(rf'value="{p.key}"\s+checked', card[: card.index("</form>")]), p.key
    assert "docs/door-benchmark.md" in page and "0 strangers let in out of" in page
