"""The Rules & passes page: a rule made with the pickers (residents and entrances ticked,
weekdays ticked, times and dates from the browser's inputs) is the rule the API stores, in
the site's time zone; its edit form shows it as made and saving it unchanged changes
nothing; refusals come back in place; viewers change nothing."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.server.conftest import ADMIN_PASSWORD, Api, add_resident

ZONE = "Europe/Moscow"  # UTC+3 all year: a day starts at 21:00 UTC the day before


def form_of(page: str) -> list[tuple[str, str]]:
    """What a browser would post from the page's rule form, as it stands."""
    form = re.search(r'<form id="add-rule".*?</form>', page, re.S).group(0)
    out = []
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name:
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                out.append((name.group(1), value.group(1)))
        else:
            out.append((name.group(1), value.group(1) if value else ""))
    return out


def post_data(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Repeated keys as httpx sends them (a list per key)."""
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def rules(api: Api) -> list[dict]:
    return api.client.get("/api/v1/rules", headers=api.viewer).json()


def test_a_rule_made_with_pickers_round_trips(make_api) -> None:
    api: Api = make_api(timezone=ZONE)
    ann, bob = add_resident(api, "Ann Lee")["id"], add_resident(api, "Bob Stone")["id"]
    garage = api.client.post(
        "/api/v1/entrances", headers=api.operator, json={"name": "garage"}
    ).json()["id"]
    ui = api.browser("oper", "oper-password")
    page = ui.get("/rules").text
    assert 'type="search"' in page and f'name="resident_ids" value="{bob}"' in page
    posted = [
        ("name", "Cleaner"),
        ("resident_ids", str(ann)),
        ("resident_ids", str(bob)),
        ("entrance_ids", str(garage)),
        ("days", "mon"),
        ("days", "wed"),
        ("days", "fri"),
        ("start", "08:00"),
        ("end", "20:30"),
        ("valid_from", "2030-01-01"),
        ("valid_until", "2030-12-31"),
        ("max_uses", "3"),
    ]
    r = ui.post("/rules", data=post_data(posted), follow_redirects=False)
    assert r.status_code == 303, r.text
    [rule] = rules(api)
    zone = ZoneInfo(ZONE)
    assert rule["resident_ids"] == [ann, bob] and rule["entrance_ids"] == [garage]
    assert rule["windows"] == [{"days": ["mon", "wed", "fri"], "start": "08:00", "end": "20:30"}]
    assert rule["kind"] == "guest_pass" and rule["max_uses"] == 3
    start = datetime.fromisoformat(rule["valid_from"])
    end = datetime.fromisoformat(rule["valid_until"])
    assert start.astimezone(zone) == datetime(2030, 1, 1, tzinfo=zone)  # the site's midnight
    assert end.astimezone(zone) == datetime(2031, 1, 1, tzinfo=zone)  # to the end of the 31st
    assert r.headers["location"] == f"/rules#rule-{rule['id']}"

    edit = ui.get(f"/rules?edit={rule['id']}").text
    assert f'action="/rules/{rule["id"]}"' in edit
    shown = form_of(edit)
    assert sorted(shown) == sorted(posted)  # the pickers show the rule as it was made
    page = ui.get("/rules").text
    assert "Mon, Wed, Fri 08:00–20:30" in page
    ru = ui.get("/rules", headers={"Accept-Language": "ru"}).text
    assert "Пн, Ср, Пт 08:00–20:30" in ru

    r = ui.post(f"/rules/{rule['id']}", data=post_data(shown), follow_redirects=False)
    assert r.status_code == 303
    again = rules(api)[0]
    assert {k: again[k] for k in rule if k != "created_at"} == {
        k: rule[k] for k in rule if k != "created_at"
    }

    # nothing ticked: everyone, everywhere, always
    r = ui.post(f"/rules/{rule['id']}", data={"name": "Open house"}, follow_redirects=False)
    assert r.status_code == 303
    plain = rules(api)[0]
    assert plain["resident_ids"] is None and plain["entrance_ids"] is None
    assert plain["windows"] == [] and plain["valid_until"] is None and plain["kind"] == "rule"


def test_a_refused_rule_form_says_why_and_keeps_what_was_ticked(make_api) -> None:
    api: Api = make_api()
    ann = add_resident(api, "Ann Lee")["id"]
    ui = api.browser("admin", ADMIN_PASSWORD)
    bad = [("resident_ids", str(ann)), ("start", "09:00"), ("end", "09:00")]
    r = ui.post("/rules", data=post_data(bad))
    assert r.status_code == 400 and 'role="alert"' in r.text and "is empty" in r.text
    assert f'value="{ann}" checked' in r.text and 'name="start" value="09:00"' in r.text
    r = ui.post("/rules", data={"valid_from": "2030-02-01", "valid_until": "2030-01-01"})
    assert r.status_code == 400
    assert rules(api) == []
    assert api.viewer
    viewer = api.browser("view", "view-password")
    assert viewer.post("/rules", data={"name": "x"}).status_code == 403
    assert 'id="add-rule"' not in viewer.get("/rules").text
    assert rules(api) == []
