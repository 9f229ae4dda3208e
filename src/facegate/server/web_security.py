"""What every HTTP response and every cookie-authenticated change goes through: one ASGI
middleware (`WebSecurity`), installed by `create_app`, outermost.

Cross-site request forgery. The web UI signs in with a cookie, and browsers send that cookie
with a form or `fetch` posted by any page of the same *site*: SameSite=Strict does not tell
ports apart, so a page on http://door-host:9999 could change users or open doors through a
signed-in admin's browser. So a change (POST, PUT, PATCH, DELETE) that carries the cookie
and no bearer token or API key must come from the server's own origin: its `Origin` header
(or, without one, its `Referer`) must be this server's scheme, host and port; with neither
it is refused too. Browsers set both themselves and pages cannot forge them. A change with no
cookie but a foreign `Origin` (a forged sign-in form) is refused as well. Bearer tokens and
API keys are not sent by browsers on their own, so those requests are not affected.

Headers. Every response (pages, API, images, static files) gets a Content-Security-Policy
(scripts from this server or inline ones carrying the request's nonce, no framing, no
plugins, forms post only here), X-Content-Type-Options nosniff, Referrer-Policy same-origin
(a page may set a stricter one), X-Frame-Options DENY, and over TLS Strict-Transport-Security.
Images other than the shipped static files (face photos, snapshots) get Cache-Control
no-store: a shared or browser cache keeps no faces. Templates put
`nonce="{{ request.state.csp_nonce }}"` on inline scripts and use no inline event handlers
(`data-call`, see static/app.js).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facegate.server.auth import COOKIE
from facegate.server.errors import CrossOrigin

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def csp(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "  # style attributes in templates; no script
        "img-src 'self' data: blob:; "
        "connect-src 'self'; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL or an Origin value; None when it names none ("null")."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS.get(scheme, 0)


def own_origin(scope: Scope, headers: Headers) -> tuple[str, str, int] | None:
    """This server as the browser addressed it: the request's scheme (uvicorn sets it from
    X-Forwarded-Proto with --proxy-headers) and its Host header."""
    host = headers.get("host")
    return _origin(f"{scope.get('scheme', 'http')}://{host}") if host else None


def csrf_refusal(scope: Scope, headers: Headers) -> str | None:
    """Why this request must be refused as cross-origin, or None."""
    if scope.get("method", "GET") not in UNSAFE:
        return None
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer " or headers.get("x-api-key"):
        return None  # not sent by a browser on its own: no forgery possible
    cookie = f"{COOKIE}=" in headers.get("cookie", "")
    source = headers.get("origin") or headers.get("referer")
    if source is None:
        if cookie:
            return (
                "a change made with the sign-in cookie must say where it comes from "
                "(Origin or Referer header); sent without either, it is refused"
            )
        return None
    if _origin(source) is not None and _origin(source) == own_origin(scope, headers):
        return None
    if not cookie and not headers.get("origin"):
        return None  # a Referer alone, no cookie: nothing to forge
    return (
        f"a change from another origin ({source[:100]}) is refused: changes made with the "
        "sign-in cookie must come from this server's own pages"
    )


class WebSecurity:
    """Pure ASGI (no buffering of bodies): refuses forged changes, adds the headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        headers = Headers(scope=scope)
        tls = scope.get("scheme") == "https"
        static = scope.get("path", "").startswith("/static/")

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                h["Content-Security-Policy"] = csp(nonce)
                h["X-Content-Type-Options"] = "nosniff"
                # a page may be stricter (the enrolment link's page: strict-origin)
                h.setdefault("Referrer-Policy", "same-origin")
                h["X-Frame-Options"] = "DENY"
                if tls:
                    h["Strict-Transport-Security"] = "max-age=31536000"
                if h.get("content-type", "").startswith("image/") and not static:
                    h["Cache-Control"] = "no-store"
            await send(message)

        refusal = csrf_refusal(scope, headers)
        if refusal is not None:
            response = JSONResponse({"error": CrossOrigin.code, "message": refusal}, 403)
            await response(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)
