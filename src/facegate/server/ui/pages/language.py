"""The header's language switch: a cookie that overrides the browser's Accept-Language."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from facegate.server.i18n import COOKIE, LANGUAGES

router = APIRouter(include_in_schema=False)
YEAR_S = 365 * 24 * 3600


def _local_path(target: str) -> str:
    """Only a path on this site: a link must not send a signed-in person elsewhere."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> RedirectResponse:
    resp = RedirectResponse(_local_path(next), status_code=303)
    if code in LANGUAGES:
        resp.set_cookie(COOKIE, code, max_age=YEAR_S, samesite="lax", httponly=True)
    else:
        resp.delete_cookie(COOKIE)  # back to the browser's language
    return resp
