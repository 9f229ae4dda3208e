"""The one place refusals become HTTP: `status_for` and the body's `reason`."""

from __future__ import annotations

import pytest

from facegate.errors import ImageError, NoFaceError
from facegate.server import errors as e
from facegate.server.api.errors import reason_for, status_for


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (e.Invalid("x"), 400),
        (e.UnknownId("x"), 400),
        (e.BadSource("x"), 400),
        (e.BadThreshold("x"), 400),
        (e.BadCursor("x"), 400),
        (e.BadCredentials("x"), 401),
        (e.Forbidden("x"), 403),
        (e.NotFound("x"), 404),
        (e.DuplicateName("x"), 409),
        (e.LastAdmin("x"), 409),
        (e.Disabled("x"), 409),
        (e.UploadTooLarge("x"), 413),
        (e.PhotoRejected("x", ImageError("x")), 422),  # 400 elsewhere, 422 for a photo
        (e.PhotoRejected("x", NoFaceError("x")), 422),
    ],
)
def test_every_server_refusal_has_its_status(exc: Exception, status: int) -> None:
    assert status_for(exc) == status


def test_only_photo_refusals_carry_a_reason() -> None:
    assert reason_for(e.PhotoRejected("x", NoFaceError("x"))) == "no_face"
    assert reason_for(e.PhotoRejected("x", ImageError("x"))) == "bad_file"
    assert reason_for(e.UploadTooLarge("x")) == "bad_file"
    assert e.PhotoRejected("x", NoFaceError("x")).code == "no_face"
    for exc in (e.NotFound("x"), e.DuplicateName("x"), e.BadSource("x")):
        assert reason_for(exc) is None


def test_validation_errors_name_the_field_and_reason_never_the_input(api) -> None:
    """A refused body is not echoed back: not a password (pydantic's `input` of a missing
    field is the whole object), not a 5 MB name; the answer is the field and the reason."""
    secret = "Tr0ub4dor&3-never-echo"
    r = api.client.post(
        "/api/v1/users", headers=api.admin, json={"password": secret, "role": "janitor"}
    )
    assert r.status_code == 422 and secret not in r.text and "janitor" not in r.text
    body = r.json()
    assert body["error"] == "validation_error"
    assert {e["field"] for e in body["detail"]} == {"username", "role"}
    assert "username: Field required" in body["message"]
    assert all(set(e) == {"loc", "field", "msg", "type"} for e in body["detail"])

    huge = "x" * (5 * 1024 * 1024)
    r = api.client.post("/api/v1/residents", headers=api.operator, json={"name": huge})
    assert r.status_code == 422 and len(r.content) < 2000
    assert r.json()["detail"][0]["field"] == "name" and "at most" in r.json()["message"]

    url = "ftp://user:cam-pass-123@10.0.0.5/x"  # a validator that used to quote the URL
    r = api.client.post(
        "/api/v1/entrances",
        headers=api.admin,
        json={"name": "w", "door": {"kind": "webhook", "url": url}},
    )
    assert r.status_code == 422 and "cam-pass-123" not in r.text, r.text
