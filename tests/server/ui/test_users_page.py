"""The Users page: API keys with their expiry and last use (in the site's zone), and the
audit log in sentences with the stored entry under Details, in English and Russian."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.server.conftest import ADMIN_PASSWORD, Api


def key_rows(page: str) -> dict[str, str]:
    rows = re.findall(r'<tr class="key">(.*?)</tr>', page, re.S)
    return {re.search(r"<bdi>(.*?)</bdi>", r).group(1): re.sub(r"<[^>]+>", " ", r) for r in rows}


def test_keys_show_expiry_and_last_use_and_the_log_reads_as_sentences(make_api) -> None:
    api: Api = make_api(timezone="Asia/Tokyo")
    c = api.client
    used = c.post("/api/v1/api-keys", headers=api.admin, json={"name": "door-app", "ttl_days": 30})
    assert used.status_code == 201, used.text
    c.post("/api/v1/api-keys", headers=api.admin, json={"name": "spare", "role": "viewer"})
    assert c.get("/api/v1/residents", headers={"X-API-Key": used.json()["key"]}).is_success
    ui = api.browser("admin", ADMIN_PASSWORD)
    page = ui.get("/users").text
    rows = key_rows(page)
    tokyo = ZoneInfo("Asia/Tokyo")
    expires = datetime.fromisoformat(used.json()["expires_at"]).astimezone(tokyo)
    assert expires.strftime("%Y-%m-%d %H:%M") in rows["door-app"]
    listed = {k["name"]: k for k in c.get("/api/v1/api-keys", headers=api.admin).json()}
    last = datetime.fromisoformat(listed["door-app"]["last_used_at"]).astimezone(tokyo)
    assert last.strftime("%Y-%m-%d %H:%M") in rows["door-app"]
    assert "never" in rows["spare"] and "not used yet" in rows["spare"]

    sentences = re.findall(r'<span class="sentence">(.*?)</span>', page)
    assert "admin created API key door-app (role operator)" in sentences
    assert "admin signed in" in sentences
    assert "<code>api_key_create</code>" in page  # the stored entry, one click away
    assert "{&#39;" not in page and "{'" not in page  # no Python dicts
    ru = ui.get("/users", headers={"Accept-Language": "ru"}).text
    assert "admin: создан ключ API door-app (роль оператор)" in ru
    assert "ещё не использовался" in ru and "Последнее использование" in ru
