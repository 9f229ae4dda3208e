"""Self-enrolment over HTTP: the manager's endpoints need a sign-in and a role, the three
public ones need only the link; refusals have stable codes and statuses; the public ones
are size- and rate-limited; the resident's page leaks its token to no Referer."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from facegate.server.db.models import EnrolInvite, utcnow
from tests.server.conftest import ADMIN_PASSWORD, Api, add_resident, jpeg


def _link(api: Api, rid: int, **body: object) -> dict:
    r = api.client.post(f"/api/v1/residents/{rid}/invites", headers=api.operator, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _send(api: Api, token: str, photos: dict[str, bytes], **override: bytes):
    files = {p: (f"{p}.jpg", photos["hopper"], "image/jpeg") for p in ("straight", "left")}
    files["right"] = ("right.jpg", photos["again"], "image/jpeg")
    files.update({k: (f"{k}.jpg", v, "image/jpeg") for k, v in override.items()})
    return api.client.post(f"/api/v1/enrol/{token}", files=files)


def test_invite_photos_and_approval(api: Api, photos: dict[str, bytes]) -> None:
    rid = add_resident(api)["id"]
    assert (
        api.client.post(f"/api/v1/residents/{rid}/invites", headers=api.viewer).status_code == 403
    )
    assert api.client.post(f"/api/v1/residents/{rid}/invites").status_code == 401
    link = _link(api, rid, ttl_h=2)
    assert link["status"] == "open" and link["path"] == f"/enrol/{link['token']}"

    view = api.client.get(f"/api/v1/enrol/{link['token']}")  # no sign-in
    assert view.status_code == 200 and view.json()["resident_name"] == "Grace Hopper"
    hint = api.client.post(
        f"/api/v1/enrol/{link['token']}/check",
        files={"frame": ("f.jpg", photos["hopper"], "image/jpeg")},
        data={"pose": "straight"},
    )
    assert hint.status_code == 200 and hint.json()["hint"] == "ok", hint.text

    bad = _send(api, link["token"], photos, left=jpeg(np.full((240, 320, 3), 90, np.uint8)))
    assert bad.status_code == 422 and bad.json()["reason"] == "no_face"
    assert bad.json()["message"].startswith("left:")
    sent = _send(api, link["token"], photos)
    assert sent.status_code == 201 and sent.json()["status"] == "pending", sent.text
    again = _send(api, link["token"], photos)
    assert again.status_code == 410 and again.json()["error"] == "invite_used"

    pending = api.client.get(f"/api/v1/pending-photos?resident_id={rid}", headers=api.viewer)
    items = pending.json()
    assert [p["pose"] for p in items] == ["straight", "left", "right"]
    image = api.client.get(f"/api/v1/pending-photos/{items[0]['id']}/image", headers=api.viewer)
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["cache-control"] == "no-store"
    url = f"/api/v1/pending-photos/{items[0]['id']}/approve"
    assert api.client.post(url, headers=api.viewer).status_code == 403
    ok = api.client.post(url, headers=api.operator)
    assert ok.status_code == 201 and ok.json()["resident"]["photos"] == 1, ok.text
    gone = api.client.delete(f"/api/v1/pending-photos/{items[1]['id']}", headers=api.operator)
    assert gone.status_code == 204
    assert len(api.client.get("/api/v1/pending-photos", headers=api.viewer).json()) == 1


def test_expired_revoked_and_unknown_links(api: Api, photos: dict[str, bytes]) -> None:
    rid = add_resident(api)["id"]
    expired, revoked = _link(api, rid), _link(api, rid)
    with api.state.sessions() as s:
        s.get(EnrolInvite, expired["id"]).expires_at = utcnow() - timedelta(minutes=1)
        s.commit()
    r = api.client.post(f"/api/v1/invites/{revoked['id']}/revoke", headers=api.operator)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    for token, status, code in (
        (expired["token"], 410, "invite_expired"),
        (revoked["token"], 410, "invite_revoked"),
        ("n" * 32, 404, "invite_unknown"),
    ):
        for answer in (api.client.get(f"/api/v1/enrol/{token}"), _send(api, token, photos)):
            assert (answer.status_code, answer.json()["error"]) == (status, code)
    listed = api.client.get(f"/api/v1/invites?resident_id={rid}", headers=api.viewer).json()
    assert {i["status"] for i in listed} == {"expired", "revoked"}
    assert all("token" not in i for i in listed)  # shown once, at creation


def test_public_endpoints_are_size_and_rate_limited(make_api, photos: dict[str, bytes]) -> None:
    api = make_api(self_enrolment={"checks_per_minute": 3, "max_frame_kb": 50})
    rid = add_resident(api)["id"]
    token = _link(api, rid)["token"]
    big = api.client.post(
        f"/api/v1/enrol/{token}/check",
        files={"frame": ("f.jpg", b"\xff" * 60_000, "image/jpeg")},
    )
    assert big.status_code == 413
    for _ in range(2):
        assert api.client.get(f"/api/v1/enrol/{token}").status_code == 200
    refused = api.client.get(f"/api/v1/enrol/{token}")
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
    assert int(refused.headers["retry-after"]) >= 1
    page = api.client.get(f"/enrol/{token}")
    assert page.status_code == 429 and page.headers["referrer-policy"] == "strict-origin"


def test_the_residents_page_works_without_an_account_and_keeps_its_token(
    api: Api, photos: dict[str, bytes]
) -> None:
    rid = add_resident(api)["id"]
    link = _link(api, rid)
    page = api.client.get(link["path"], headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "strict-origin"  # the path never leaves
    assert page.headers["cache-control"] == "no-store"
    assert "Grace Hopper: запись лица" in page.text and 'src="/static/enrol.js"' in page.text
    csp = page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert " on" not in page.text.split("<body>")[1].replace(" one", "")  # no onclick=...
    assert 'id="enrol-video"' in page.text
    _send(api, link["token"], photos)
    used = api.client.get(link["path"])
    assert used.status_code == 410 and "were sent already" in used.text
    assert 'id="enrol-video"' not in used.text
    assert api.client.get("/enrol/nonsense").status_code == 404


def test_the_managers_pages_list_pending_photos(api: Api, photos: dict[str, bytes]) -> None:
    rid = add_resident(api)["id"]
    _send(api, _link(api, rid)["token"], photos)
    ui = api.browser("admin", ADMIN_PASSWORD)
    part = ui.get(f"/residents/{rid}/enrolment")
    assert part.status_code == 200 and part.text.count('class="pending"') == 3
    assert 'data-call="approvePending"' in part.text and "Create an enrolment link" in part.text
    whole = ui.get("/enrolment", headers={"Accept-Language": "ru"})
    assert "Фотографии ждут одобрения (3)" in whole.text
    assert f'href="/residents/{rid}"' in whole.text
    assert 'id="enrolment"' in ui.get(f"/residents/{rid}").text  # the resident page loads it
    dash = ui.get("/", headers={"Accept-Language": "ru"}).text
    assert "3 фотографии от жильцов ждут одобрения" in dash and 'href="/enrolment"' in dash
    anonymous = api.client.__class__(api.client.app)
    assert anonymous.get("/enrolment", follow_redirects=False).status_code == 303
