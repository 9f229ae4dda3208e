"""Cross-site request forgery and security headers (`facegate.server.web_security`), through
the API and the UI: a change made with the sign-in cookie from another origin on the same
host (another port: SameSite does not tell ports apart) is refused, the same change from the
server's own pages works, bearer tokens and API keys are not affected; every response carries
the headers, face images are never cached, and the cookie is Secure over TLS."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facegate.runtime.events import Decision, DoorEvent
from tests.server.conftest import ADMIN_PASSWORD, Api, add_resident, upload

HOST = "http://127.0.0.1:8000"  # as the browser addressed the server
EVIL = "http://127.0.0.1:9999"  # another port on the same host
TEMPLATES = Path(__file__).resolve().parents[2] / "src/facegate/server/ui/templates"


def signed_in_browser(api: Api, base_url: str = HOST) -> TestClient:
    """A browser holding the admin's sign-in cookie (no Origin of its own: each test says)."""
    ui = TestClient(api.client.app, base_url=base_url)
    r = ui.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"Origin": base_url},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return ui


def refused(r) -> bool:
    return r.status_code == 403 and r.json()["error"] == "cross_origin" and r.json()["message"]


def test_cookie_changes_from_another_origin_are_refused(api: Api) -> None:
    ui = signed_in_browser(api)
    body = {"name": "Mallory's friend"}
    assert refused(ui.post("/api/v1/residents", json=body, headers={"Origin": EVIL}))
    assert refused(
        ui.post("/api/v1/residents", json=body, headers={"Referer": f"{EVIL}/attack.html"})
    )
    assert refused(ui.post("/api/v1/residents", json=body))  # neither Origin nor Referer
    assert refused(ui.post("/api/v1/residents", json=body, headers={"Origin": "null"}))
    made = ui.post("/api/v1/users", headers={"Origin": EVIL}, json={"username": "eve"})
    assert refused(made)
    # the UI's own form posts, too
    form = ui.post("/entrances", data={"name": "x"}, headers={"Origin": EVIL})
    assert refused(form)
    names = [r["name"] for r in api.client.get("/api/v1/residents", headers=api.admin).json()]
    assert body["name"] not in names

    ok = ui.post("/api/v1/residents", json=body, headers={"Origin": HOST})
    assert ok.status_code == 201, ok.text
    ok = ui.patch(
        f"/api/v1/residents/{ok.json()['id']}",
        json={"apartment": "2A"},
        headers={"Referer": f"{HOST}/residents"},  # no Origin: the Referer decides
    )
    assert ok.status_code == 200, ok.text
    assert ui.get("/api/v1/residents").status_code == 200  # reading needs no Origin


def test_bearer_and_api_key_requests_are_not_affected(api: Api) -> None:
    r = api.client.post(
        "/api/v1/residents", headers={**api.operator, "Origin": EVIL}, json={"name": "Ann"}
    )
    assert r.status_code == 201, r.text
    key = api.client.post("/api/v1/api-keys", headers=api.admin, json={"name": "door"}).json()
    r = api.client.post(
        "/api/v1/residents", headers={"X-API-Key": key["key"], "Origin": EVIL}, json={"name": "Bo"}
    )
    assert r.status_code == 201, r.text


def test_a_forged_sign_in_form_is_refused(api: Api) -> None:
    """Login CSRF: another origin must not sign the victim's browser in as someone else."""
    ui = TestClient(api.client.app, base_url=HOST)
    r = ui.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"Origin": EVIL},
        follow_redirects=False,
    )
    assert refused(r) and "facegate_token" not in r.headers.get("set-cookie", "")


def test_signing_out_is_a_post_from_the_servers_own_pages(api: Api) -> None:
    """An <img src=/logout> on another site sends a GET: it must sign no one out. The
    header's button posts, and a post from another origin is refused like any change."""
    ui = signed_in_browser(api)
    token = ui.cookies["facegate_token"]
    header = ui.get("/residents").text
    assert '<form method="post" action="/logout"' in header
    assert 'href="/logout"' not in header

    page = ui.get("/logout", follow_redirects=False)  # what an <img> or a link would do
    assert page.status_code == 200
    assert 'action="/logout"' in page.text and 'id="signout-confirm"' in page.text
    assert ui.get("/residents", follow_redirects=False).status_code == 200  # still signed in

    assert refused(ui.post("/logout", headers={"Origin": EVIL}, follow_redirects=False))
    assert refused(ui.post("/logout", follow_redirects=False))  # neither Origin nor Referer
    assert ui.get("/residents", follow_redirects=False).status_code == 200

    out = ui.post("/logout", headers={"Origin": HOST}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert 'facegate_token=""' in out.headers["set-cookie"]
    assert ui.get("/residents", follow_redirects=False).headers["location"] == "/login"
    # the token itself is revoked, not only the cookie dropped
    stolen = TestClient(api.client.app, base_url=HOST, cookies={"facegate_token": token})
    assert stolen.get("/residents", follow_redirects=False).status_code == 303
    assert stolen.get("/logout", follow_redirects=False).headers["location"] == "/login"


def _headers_ok(r, nonce_needed: bool = False) -> str:
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "same-origin"
    policy = h["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    script = re.search(r"script-src ([^;]+)", policy).group(1)
    assert "unsafe-inline" not in script and "unsafe-eval" not in script
    return re.search(r"'nonce-([^']+)'", script).group(1)


def test_every_response_has_the_security_headers_and_inline_scripts_their_nonce(
    api: Api,
) -> None:
    ui = signed_in_browser(api, "http://testserver")
    for r in (
        api.client.get("/login"),
        api.client.get("/health"),
        api.client.get("/api/v1/residents"),  # 401
        api.client.get("/api/v1/residents", headers=api.viewer),
        api.client.get("/static/app.js"),
        api.client.get("/docs"),
        ui.get("/"),
        ui.get("/users"),
        ui.get("/residents"),
    ):
        nonce = _headers_ok(r)
        if r.headers["content-type"].startswith("text/html"):
            for tag in re.findall(r"<script\b[^>]*>", r.text):
                assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
    first, second = (_headers_ok(api.client.get("/login")) for _ in range(2))
    assert first != second  # a nonce per response


def test_no_template_has_inline_event_handlers() -> None:
    """The policy blocks onclick="..." and the like: the UI would silently stop working."""
    for page in TEMPLATES.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+\s*=", text), page.name
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or "csp_nonce" in tag, (page.name, tag)


def test_face_images_are_never_cached(api: Api, photos: dict) -> None:
    res = add_resident(api)
    photo = upload(api, res["id"], photos["hopper"]).json()["photo"]
    img = api.client.get(
        f"/api/v1/residents/{res['id']}/photos/{photo['id']}/image", headers=api.viewer
    )
    assert img.status_code == 200 and img.headers["cache-control"] == "no-store"
    _headers_ok(img)

    snap = np.full((64, 64, 3), 128, np.uint8)
    api.state.journal.record(DoorEvent(Decision.UNKNOWN, "main", "x", time.time(), snapshot=snap))
    event = api.client.get("/api/v1/events", headers=api.viewer).json()["items"][0]
    r = api.client.get(event["snapshot_url"], headers=api.viewer)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_the_sign_in_cookie_is_httponly_strict_and_secure_over_tls(api: Api, scheme: str) -> None:
    ui = TestClient(api.client.app, base_url=f"{scheme}://door.example")
    r = ui.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"Origin": f"{scheme}://door.example"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert ("secure" in cookie.split("; ")) == (scheme == "https")
    if scheme == "https":
        assert r.headers["strict-transport-security"].startswith("max-age=")


def test_in_a_browser_no_page_breaks_the_policy_and_buttons_still_work(live_server) -> None:
    """Debian's chromium (skipped without it): no page or /docs reports a CSP violation,
    and a data-call button (revoke an API key) does what its onclick did."""
    import importlib.util
    import shutil

    import httpx

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if importlib.util.find_spec("playwright") is None or not Path(chromium).is_file():
        pytest.skip("needs playwright and chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    srv = live_server()
    token = httpx.post(
        f"{srv.url}/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    key = httpx.post(f"{srv.url}/api/v1/api-keys", headers=bearer, json={"name": "door"}).json()

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        try:
            page = b.new_page()
            page.set_default_timeout(30_000)
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text))
            page.goto(f"{srv.url}/login")
            page.fill("#username", "admin")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("#signin")
            page.wait_for_url(f"{srv.url}/")
            for path in ("/", "/residents", "/entrances", "/rules", "/events", "/docs"):
                page.goto(f"{srv.url}{path}")
                page.wait_for_load_state("networkidle")
            page.goto(f"{srv.url}/users")
            with page.expect_navigation():
                page.click(f'button[data-call="delKey"][data-arg="{key["id"]}"]')
            page.click("#signout")  # the header's sign-out button posts with the Origin
            page.wait_for_url(f"{srv.url}/login")
            page.goto(f"{srv.url}/residents")
            assert page.url == f"{srv.url}/login"
        finally:
            b.close()
    assert not [m for m in console if "Content Security Policy" in m], console
    keys = httpx.get(f"{srv.url}/api/v1/api-keys", headers=bearer).json()
    assert key["id"] not in [k["id"] for k in keys]
