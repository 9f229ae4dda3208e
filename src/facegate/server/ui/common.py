"""What every page of the web UI shares: the templates, the signed-in person, the
reader's language and the site's time zone.

Every template gets, through a context processor (so no route can forget them): `_` (the
reader's `Translator`), `lang` and `languages` for the header's switch, `tz` (the site's
zone, `server.timezone`) and `here` (the page's path, where the switch comes back to).

Every value a template prints passes `_neutralise` first (Jinja's `finalize`): names
stored before bidirectional controls were refused, and names the runtime journalled, are
shown without them, so no name can reverse what is printed after it. Names in tables are
also wrapped in <bdi> (the `bdi` filter), so a right-to-left name keeps to its own cell.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from facegate.server.auth import COOKIE, Principal, Role, principal_for_token
from facegate.server.i18n import COOKIE as LANG_COOKIE
from facegate.server.i18n import LANGUAGES, Translator, negotiate
from facegate.server.operations.dashboard import STATE_WORDS
from facegate.server.text import strip_bidi


def language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))


def site_zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.fg.config.server.timezone)


def _context(request: Request) -> dict[str, object]:
    lang = language(request)
    return {
        "_": Translator(lang),
        "lang": lang,
        "languages": LANGUAGES,
        "tz": site_zone(request),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "state_words": STATE_WORDS,
    }


def _neutralise(value: object) -> object:
    if isinstance(value, Markup):
        return Markup(strip_bidi(str(value)))
    if isinstance(value, str):
        return strip_bidi(value)
    return value


def _local(when: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An aware (or naive = UTC) time in the site's zone."""
    if when is None:
        return ""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(zone).strftime(fmt)


def _bdi(value: object) -> Markup:
    return Markup("<bdi>%s</bdi>") % escape(strip_bidi(str(value or "")))


templates = Jinja2Templates(
    directory=Path(__file__).with_name("templates"), context_processors=[_context]
)
templates.env.finalize = _neutralise  # before the first template is compiled
templates.env.filters["local"] = _local
templates.env.filters["bdi"] = _bdi


def who_of(request: Request, session: Session) -> Principal | None:
    token = request.cookies.get(COOKIE)
    who = principal_for_token(session, token) if token else None
    session.rollback()
    return who


def page(
    request: Request, name: str, who: Principal, status_code: int = 200, **ctx: object
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"who": who, "Role": Role, **ctx}, status_code=status_code
    )


def login_redirect() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)
