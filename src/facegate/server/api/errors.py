"""Every failure a caller can cause becomes a 4xx (or 503 for a busy database or a full
inference queue) with an `ErrorOut` body; a 500 is a bug.

The operations (`facegate.server.operations`) and the engine refuse with `FaceGateError`s
(`facegate.errors`, `facegate.server.errors`); `status_for` is the one place that gives each
an HTTP status, and the body is `{"error": exc.code, "message": str(exc)}` (plus `reason` for
a refused photo).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    StatementError,
)

from facegate.errors import (
    FaceGateError,
    FaceQualityError,
    GalleryError,
    ImageTooLargeError,
    ModelVersionMismatch,
    MultipleFacesError,
    NoFaceError,
    OtherResidentFaceError,
)
from facegate.server.errors import (
    BadCredentials,
    Busy,
    Conflict,
    Forbidden,
    InviteRefused,
    NotFound,
    PhotoRejected,
    ServerError,
    TooManyAttempts,
    photo_reason,
)

log = logging.getLogger("facegate.server")


def reason_for(exc: FaceGateError) -> str | None:
    """The body's `reason`: why a photo was refused; none for the server's other refusals."""
    if isinstance(exc, PhotoRejected):
        return photo_reason(exc.cause)
    if isinstance(exc, ServerError):
        return None
    return photo_reason(exc)


def status_for(exc: FaceGateError) -> int:
    """The HTTP status of a refusal (400 unless it is one of these)."""
    if isinstance(exc, PhotoRejected):  # an unusable upload is 422 here, not 400
        status = status_for(exc.cause)
        return 422 if status == 400 else status
    if isinstance(exc, BadCredentials):
        return 401
    if isinstance(exc, TooManyAttempts):
        return 429
    if isinstance(exc, Busy):
        return 503
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, InviteRefused):  # expired, used, revoked: gone for good
        return 404 if isinstance(exc, NotFound) else 410
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, ImageTooLargeError):
        return 413
    if isinstance(exc, NoFaceError | MultipleFacesError | FaceQualityError):
        return 422
    if isinstance(exc, OtherResidentFaceError):
        return 409
    if isinstance(exc, ModelVersionMismatch):
        return 409
    if isinstance(exc, GalleryError) and "locked" in str(exc):
        return 503
    return 400


MAX_ERRORS = 20  # a body with 10,000 bad items gets the first ones, not a 10,000-line answer
MAX_MSG = 200


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors reduced to where and why: `loc`, `field` (the dotted path without
    `body`), `msg` and `type`. Pydantic puts the offending value in `input` (for a missing
    field: the whole enclosing object, password included) and may quote it in `ctx` and in
    a validator's `msg`, so `input`, `ctx` and `url` are dropped and a `msg` quoting the input
    has it cut out. Messages are capped, and so is the number of errors."""
    out = []
    for err in list(errors)[:MAX_ERRORS]:
        loc = [p if isinstance(p, int) else str(p)[:64] for p in err.get("loc", ())]
        msg = str(err.get("msg", "invalid"))
        given = err.get("input")
        if isinstance(given, str) and len(given) >= 3 and given in msg:
            msg = msg.replace(given, "<the value given>")
        for quoted in (repr(given), f"'{given}'") if isinstance(given, str) else ():
            msg = msg.replace(quoted, "<the value given>")
        out.append(
            {
                "loc": loc,
                "field": ".".join(str(p) for p in loc if p != "body") or "body",
                "msg": msg[:MAX_MSG],
                "type": str(err.get("type", "value_error"))[:64],
            }
        )
    return out


def _body(
    status: int, code: str, message: str, reason: str | None = None, headers: dict | None = None
) -> JSONResponse:
    content = {"error": code, "message": message}
    if reason:
        content["reason"] = reason
    return JSONResponse(content, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
        }.get(exc.status_code, f"http_{exc.status_code}")
        return _body(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's own 422 in FaceGate's shape: `error`, a `message` a person can read
        (every field and what is wrong with it), and `detail` for tools. Only the field and
        the reason: never the input (a password, a 5 MB body), see `field_errors`."""
        errs = field_errors(exc.errors())
        return JSONResponse(
            {
                "error": "validation_error",
                "message": "; ".join(f"{e['field']}: {e['msg']}" for e in errs)
                or "invalid request",
                "detail": errs,
            },
            status_code=422,
        )

    @app.exception_handler(FaceGateError)
    async def _facegate(_: Request, exc: FaceGateError) -> JSONResponse:
        wait = getattr(exc, "retry_after", None)  # TooManyAttempts: when to try again
        headers = {"Retry-After": str(wait)} if wait is not None else None
        return _body(status_for(exc), exc.code, str(exc), reason_for(exc), headers)

    @app.exception_handler(IntegrityError)
    async def _conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        return _body(409, "conflict", "that conflicts with an existing object (a name in use?)")

    @app.exception_handler(OperationalError)
    async def _busy(_: Request, exc: OperationalError) -> JSONResponse:
        msg = str(exc.orig) if exc.orig else str(exc)
        log.warning("database unavailable: %s", msg)
        text = (
            "the database is locked by another writer; nothing was changed, try again"
            if "locked" in msg or "busy" in msg
            else f"the database is unavailable; nothing was changed ({msg.splitlines()[0]})"
        )
        return _body(503, "database_unavailable", text, headers={"Retry-After": "2"})

    @app.exception_handler(StatementError)
    async def _statement(_: Request, exc: StatementError) -> JSONResponse:
        if isinstance(exc, DataError):
            return _body(
                400, "bad_value", "a value cannot be stored (out of range or contains NUL?)"
            )
        if isinstance(exc, DBAPIError) and not isinstance(exc.orig, ValueError | OverflowError):
            log.error("database error: %s", exc)
            return _body(
                503, "database_error", "the database refused the request; nothing was changed"
            )
        return _body(400, "bad_value", f"a value cannot be stored: {exc.orig}")
