"""The UI in the reader's language: English and Russian, chosen by Accept-Language, with
the header's switch (a cookie) overriding it; the event sentences are translated too, and
every string the UI passes to `_()` has its Russian."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import facegate.server as server_pkg
from facegate.runtime.events import Decision, DoorEvent
from facegate.server.i18n import Translator, negotiate
from facegate.server.i18n.ru import RU
from tests.server.conftest import ADMIN_PASSWORD

RU_HEADERS = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"}


def test_dashboard_in_russian_by_accept_language(make_api) -> None:
    api = make_api()
    api.state.journal.record(
        DoorEvent(Decision.OPEN, "main", "Anna matched in 2 shots", person="Анна Ли")
    )
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get("/", headers=RU_HEADERS).text
    assert '<html lang="ru">' in page
    for text in ("Обзор", "Жильцы", "Последние события", "Камера не задана", "Выйти"):
        assert text in page, text
    assert "Dashboard" not in page and "Last events" not in page
    assert "Анна Ли: лицо распознано; дверь открыта" in page  # the sentence too
    body = ui.get("/dashboard.json", headers=RU_HEADERS).json()
    assert body["cards"][0]["words"] == "Камера не задана"
    assert "Анна Ли: лицо распознано; дверь открыта" in body["events_html"]
    english = ui.get("/").text
    assert "Last events" in english and "Recognised Анна Ли; door opened" in english


def test_the_switch_overrides_the_browser(make_api) -> None:
    api = make_api()
    ui = api.browser("admin", ADMIN_PASSWORD)
    r = ui.get("/lang/en?next=/events", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/events"
    assert "Event log" in ui.get("/events", headers=RU_HEADERS).text  # cookie beats header
    ui.get("/lang/ru?next=/")
    page = ui.get("/events").text
    assert "Журнал событий" in page and 'href="/lang/en?next=%2Fevents"' in page
    assert (
        ui.get("/lang/ru?next=//evil.example/", follow_redirects=False).headers["location"] == "/"
    )  # never off the site
    ui.get("/lang/xx")  # an unknown language: back to the browser's
    assert "Журнал событий" in ui.get("/events", headers=RU_HEADERS).text
    assert "Event log" in ui.get("/events").text


def test_csv_and_login_follow_the_language(make_api) -> None:
    api = make_api()
    api.state.journal.record(DoorEvent(Decision.UNKNOWN, "main", "no resident matched"))
    csv = api.client.get("/api/v1/events.csv", headers={**api.viewer, **RU_HEADERS})
    assert "Неизвестный посетитель" in csv.content.decode("utf-8-sig")
    assert (
        "Неизвестный посетитель"
        not in api.client.get("/api/v1/events", headers={**api.viewer, **RU_HEADERS}).text
    )  # the JSON API's `summary` stays English
    login = api.client.__class__(api.client.app).get("/login", headers=RU_HEADERS).text
    assert "Вход в FaceGate" in login and "Пароль" in login


@pytest.mark.parametrize(
    ("header", "cookie", "lang"),
    [
        ("ru", None, "ru"),
        ("en-GB,en;q=0.9,ru;q=0.8", None, "en"),
        ("de-DE,de;q=0.9,ru;q=0.5", None, "ru"),
        ("de", None, "en"),
        (None, None, "en"),
        ("ru;q=0", None, "en"),
        ("ru", "en", "en"),
        ("en", "ru", "ru"),
        ("ru", "klingon", "ru"),
    ],
)
def test_negotiation(header, cookie, lang) -> None:
    assert negotiate(header, cookie) == lang


def test_russian_plurals() -> None:
    ru = Translator("ru")
    forms = [ru.plural("{n} resident", "{n} residents", n) for n in (1, 2, 5, 11, 21, 22, 112)]
    assert forms == [
        "1 жилец",
        "2 жильца",
        "5 жильцов",
        "11 жильцов",
        "21 жилец",
        "22 жильца",
        "112 жильцов",
    ]
    assert Translator("en").plural("{n} resident", "{n} residents", 2) == "2 residents"


_CALL = re.compile(r"""\b(?:N_|_)(?:\.plural)?\(\s*(["'])((?:(?!\1).)+)\1""", re.S)


def test_every_ui_string_has_its_russian() -> None:
    root = Path(server_pkg.__file__).parent
    files = [*root.glob("ui/**/*.html"), *root.glob("ui/**/*.py"), *root.glob("operations/*.py")]
    used = {m.group(2) for f in files for m in _CALL.finditer(f.read_text())}
    assert len(used) > 100
    missing = sorted(s for s in used if s not in RU)
    assert missing == []
