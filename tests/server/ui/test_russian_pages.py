"""Every page of the web UI in Russian (`Accept-Language: ru`) shows no English: no string
of the catalogue appears untranslated in a page's visible text (its words, labels,
placeholders, alt texts and button titles), with a resident, rules, events and audit
entries in place so that every part of each page is rendered."""

from __future__ import annotations

import html
import re

from facegate.runtime.events import Decision, DoorEvent
from facegate.server.i18n.ru import RU
from tests.server.conftest import ADMIN_PASSWORD, Api, add_resident

RU_HEADERS = {"Accept-Language": "ru-RU,ru;q=0.9"}
# words that read the same in both languages or are names, not UI text
SAME = {"API", "FaceGate", "JSON", "CSV", "MQTT", "GPIO", "HTTP"}


def visible_text(page: str) -> str:
    """What a reader sees or hears: text, and the attributes a browser shows or reads out;
    not the engineer's own wording (the runtime's liveness summary) kept under Details."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<details class="engineer">.*?</details>', " ", page, flags=re.S)
    attrs = re.findall(r'(?:placeholder|alt|title|aria-label)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([text, *attrs]))


def english_left(text: str) -> list[str]:
    """Catalogue strings (of two words or more, without placeholders) shown in English."""
    found = []
    for key, value in RU.items():
        if "{" in key or len(key.split()) < 2 or key == value or key in SAME:
            continue
        if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text):
            found.append(key)
    return found


def test_no_page_shows_english_in_russian(make_api) -> None:
    api: Api = make_api()
    rid = add_resident(api, "Анна Ли")["id"]
    api.client.post(
        "/api/v1/rules",
        headers=api.operator,
        json={"name": "Уборка", "resident_ids": [rid], "windows": [{"days": ["mon"]}]},
    )
    api.client.post("/api/v1/api-keys", headers=api.admin, json={"name": "табло"})
    api.state.journal.record(DoorEvent(Decision.UNKNOWN, "main", "no resident matched"))
    ui = api.browser("admin", ADMIN_PASSWORD)
    pages = ["/", "/events", "/residents", f"/residents/{rid}", "/entrances", "/rules", "/users"]
    pages.append("/logout")  # the sign-out page (a GET changes nothing)
    rule = api.client.get("/api/v1/rules", headers=api.admin).json()[0]
    pages.append(f"/rules?edit={rule['id']}")
    stranger = api.client.__class__(api.client.app)
    left = {}
    for path, client in [("/login", stranger), *((p, ui) for p in pages)]:
        r = client.get(path, headers=RU_HEADERS)
        assert r.status_code == 200, path
        assert '<html lang="ru">' in r.text, path
        missing = english_left(visible_text(r.text))
        if missing:
            left[path] = missing
    assert left == {}
