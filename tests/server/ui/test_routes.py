"""The web UI's entrance forms (plain HTML posts, no JS needed), on SQLite and PostgreSQL:
adding and editing an entrance stores what the API would store, restarts its runtime and is
audited; a refused form comes back with the message in place and what was typed, never a
500; viewers and signed-out visitors change nothing."""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests.server.conftest import Api, record_events

FORM = {  # what the add form sends for a plain log-only entrance, as a browser fills it
    "name": "garage",
    "enabled": "on",
    "uri": "",
    "pace": "realtime",
    "door_kind": "log",
    "fmr": "0.0001",
    "min_votes": "2",
    "confirm": "on",
    "confirm_by": "fusion",
    "confirm_fmr": "0.001",
    "fusion_fmr": "1e-05",
    "live_checks": "default",
    "pad_model": "",
    "on_undecided": "wait",
}


def entrances(api: Api) -> dict[str, dict]:
    return {e["name"]: e for e in api.client.get("/api/v1/entrances", headers=api.viewer).json()}


def audit_actions(api: Api) -> list[tuple[str, str]]:
    return [
        (a["actor"], a["action"]) for a in api.client.get("/api/v1/audit", headers=api.admin).json()
    ]


def form_errors(html: str) -> list[str]:
    block = re.search(r'<ul class="errors bad"[^>]*>(.*?)</ul>', html, re.S)
    assert block, "the page shows no form errors"
    return [
        re.sub(r"\s+", " ", m).strip() for m in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)
    ]


def test_add_form_creates_a_running_entrance_audited(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "media" / "frames"  # an operator's: in server.media_dirs
    folder.mkdir(parents=True)
    assert api.operator  # creates the operator "oper"
    ui = api.browser("oper", "oper-password")
    page = ui.get("/entrances")
    assert page.status_code == 200 and 'id="add-entrance"' in page.text

    r = ui.post(
        "/entrances",
        data={
            **FORM,
            "uri": str(folder),
            "pace": "fast",
            "door_kind": "webhook",
            "door_webhook_url": "http://127.0.0.1:9/open",
            "door_webhook_pulse_s": "2",
            "fmr": "1e-5",
            "live_checks": "off",
            "confirm_by": "model",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    garage = entrances(api)["garage"]
    assert garage["decision"]["confirm_by"] == "model"
    assert garage["decision"]["fusion_fmr"] == 1e-5 and garage["decision"]["confirm_fmr"] == 1e-3
    assert r.headers["location"] == f"/entrances?saved={garage['id']}#entrance-{garage['id']}"
    assert garage["source"]["uri"] == str(folder) and garage["source"]["pace"] == "fast"
    door = garage["door"]
    assert (door["kind"], door["url"], door["pulse_s"]) == (
        "webhook",
        "http://127.0.0.1:9/open",
        2.0,
    )
    assert garage["decision"]["fmr"] == 1e-5 and garage["decision"]["confirm"] is True
    assert garage["liveness"]["checks"] == []
    # the manager built this entrance's runtime from the new row (runtimes are off here)
    assert (
        garage["status"]["state"] == "stopped" and "runtimes are off" in garage["status"]["detail"]
    )
    assert garage["status"]["liveness"]["checks"] == []
    assert ("user:oper", "entrance_create") in audit_actions(api)
    shown = ui.get(r.headers["location"])
    assert "Saved; the entrance's runtime restarted" in html.unescape(shown.text)
    assert "liveness: OFF" in shown.text  # said on the entrance's card


def test_refused_forms_show_why_keep_the_input_and_change_nothing(api: Api) -> None:
    ui = api.browser("admin", "admin-secret-1")
    before = entrances(api)
    audits = len(audit_actions(api))
    cases = [
        ({"name": "main"}, 409, "an entrance named 'main' exists already"),
        ({"uri": "/no/such/visit.mp4"}, 400, "no such file, folder or camera on the server"),
        ({"fmr": "2"}, 422, "Thresholds (fmr): Input should be less than 1"),
        ({"fmr": "often"}, 422, "Thresholds (fmr): Input should be a valid number"),
        ({"fmr": "0.3"}, 400, "is calibrated for FMR"),
        ({"fusion_fmr": "0.3"}, 400, "is calibrated for FMR"),
        ({"confirm_by": "vote"}, 422, "Thresholds (confirm_by): Input should be"),
        ({"door_kind": "webhook"}, 422, "Door adapter (url): Field required"),
        (
            {"door_kind": "webhook", "door_webhook_headers": "{url: x"},
            422,
            "Door adapter (HTTP headers (JSON)): not valid JSON",
        ),
        ({"door_kind": "gpio", "door_gpio_line": "-1"}, 422, "Door adapter (line): Input should"),
        ({"door_kind": "teleport"}, 422, "Door adapter: teleport? choose one of log, webhook"),
        ({"preset": "lax"}, 422, "Strictness: lax? choose one of strict, balanced"),
        ({"live_checks": "motion", "pad_model": "/no/pad.onnx"}, 400, "no PAD model at"),
        ({"name": "bad/name"}, 422, "Name: String should match pattern"),
    ]
    for change, status, message in cases:
        r = ui.post("/entrances", data={**FORM, **change})
        assert r.status_code == status, (change, r.status_code, r.text[:300])
        errors = form_errors(r.text)
        assert any(message in e.replace("&#39;", "'") for e in errors), (change, errors)
        for value in change.values():  # what was typed is still in the form
            assert value.replace("'", "&#39;").replace('"', "&#34;") in r.text, (change, value)
    assert entrances(api).keys() == before.keys()
    assert len(audit_actions(api)) == audits


def test_edit_form_changes_settings_keeps_the_rest_and_restarts(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "media" / "frames"  # an operator's: in server.media_dirs
    folder.mkdir(parents=True)
    main = entrances(api)["main"]
    assert main["status"]["state"] == "no_source"
    assert api.operator  # creates the operator "oper"
    ui = api.browser("oper", "oper-password")
    d = main["decision"]  # the form shows the stored values; these are sent back unchanged
    kept = {
        "confirm_fmr": f"{d['confirm_fmr']:g}",
        "fusion_fmr": f"{d['fusion_fmr']:g}",
        "confirm_by": d["confirm_by"],
        "confirm": "on",
    }
    assert d["confirm"] is True
    r = ui.post(
        f"/entrances/{main['id']}",
        data={
            **FORM,
            **kept,
            "name": "front door",
            "uri": str(folder),
            "fmr": "1e-5",
            "min_votes": "3",
            "live_checks": "motion",
            "on_undecided": "allow",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    after = entrances(api)["front door"]
    assert after["id"] == main["id"] and after["source"]["uri"] == str(folder)
    assert after["decision"] == {**main["decision"], "fmr": 1e-5, "min_votes": 3}
    assert after["liveness"] == {**main["liveness"], "checks": ["motion"], "on_undecided": "allow"}
    assert after["status"]["state"] == "stopped"  # restarted: it has a source now
    assert after["status"]["liveness"]["on_undecided"] == "allow"
    assert ("user:oper", "entrance_update") in audit_actions(api)

    api.client.post("/api/v1/entrances", headers=api.operator, json={"name": "garage"})
    r = ui.post(f"/entrances/{main['id']}", data={**FORM, "name": "garage"})
    assert r.status_code == 409
    assert form_errors(r.text) == [
        "an entrance named 'garage' exists already".replace("'", "&#39;")
    ]
    assert f'action="/entrances/{main["id"]}"' in r.text  # shown in that entrance's form
    assert entrances(api)["front door"]["source"]["uri"] == str(folder)

    r = ui.post(
        f"/entrances/{main['id']}",
        data={**FORM, "name": "front door", "uri": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = entrances(api)["front door"]
    assert after["source"] is None and after["status"]["state"] == "no_source"
    assert ui.post("/entrances/424242", data=FORM).status_code == 404


def test_viewers_and_strangers_cannot_change_entrances(api: Api) -> None:
    assert api.viewer
    ui = api.browser("view", "view-password")
    page = ui.get("/entrances")
    assert page.status_code == 200 and "<h3>main" in page.text
    assert 'id="add-entrance"' not in page.text and 'class="settings"' not in page.text
    main = entrances(api)["main"]
    r = ui.post("/entrances", data=FORM)
    assert r.status_code == 403 and "Only an operator or an admin" in r.text
    r = ui.post(f"/entrances/{main['id']}", data={**FORM, "name": "hacked"})
    assert r.status_code == 403
    stranger = api.client.__class__(api.client.app)
    r = stranger.post("/entrances", data=FORM, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert set(entrances(api)) == {"main"}


def test_event_log_pages_keep_the_filters(api: Api) -> None:
    record_events(api, 60, 1_700_000_000.0)  # 20 times, three events each
    record_events(api, 5, 1_700_000_000.0, entrance="garage")
    ui = api.browser("admin", "admin-secret-1")
    first = ui.get("/events?entrance=main")
    assert first.status_code == 200
    assert first.text.count('<tr class="event">') == 50 and 'id="newest"' not in first.text
    older = re.search(r'<a id="older" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    assert "entrance=main" in older and "cursor=" in older
    second = ui.get(older)
    rows = re.findall(r'<tr class="event"><td class="time">[^<]*</td><td>([^<]*)</td>', second.text)
    assert rows == ["main"] * 10  # the rest of main's events, none of the garage's
    assert 'id="older"' not in second.text
    assert re.search(r'<a id="newest" href="/events\?entrance=main"', second.text)
    shown = re.findall(r"visitor (\d+)", first.text + second.text)
    assert sorted(map(int, shown)) == list(range(60))  # every event once
    bad = ui.get("/events?cursor=forged")
    assert bad.status_code == 400 and "not one this server handed out" in bad.text
