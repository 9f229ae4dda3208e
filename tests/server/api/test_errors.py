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
