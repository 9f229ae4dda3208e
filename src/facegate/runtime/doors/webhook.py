"""Open a door by calling a URL: home-automation hubs, smart relays (Shelly, Tasmota, ...),
or a building's access server. Stdlib only, so it works on any intercom image."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from facegate.masking import Secret
from facegate.runtime.doors.base import (
    DoorConfigBase,
    DoorError,
    check_template,
    render_template,
    template_values,
)
from facegate.schema import no_control_chars


def _default_body() -> dict[str, Any]:
    return {"entrance": "{entrance}", "reason": "{reason}", "pulse_s": "{pulse_s}"}


class WebhookDoorConfig(DoorConfigBase):
    kind: Literal["webhook"]
    url: Annotated[str, Secret("url")] = Field(
        description="http(s) URL; may contain {entrance} {reason} {pulse_s} {time}; "
        "its password and token-like parameters are write-only (read back as ***)"
    )
    method: Literal["POST", "GET", "PUT"] = "POST"
    headers: Annotated[dict[str, str], Secret("mapping")] = Field(
        default_factory=dict, description="credential-like values are write-only"
    )
    body: Annotated[dict[str, Any], Secret("mapping")] = Field(
        default_factory=_default_body,
        description="JSON body template (not sent with GET); placeholders as in url",
    )
    timeout_s: float = Field(2.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _http_only(cls, v: str) -> str:
        # urllib would also happily "open" file:// or ftp:// URLs and report success.
        # The URL is not quoted back: it may carry a token.
        no_control_chars(v, "the webhook url")
        scheme = urllib.parse.urlsplit(v).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"webhook url must be http:// or https://, not {scheme or 'none'}")
        check_template(v, "url")
        return v

    @field_validator("headers")
    @classmethod
    def _header_lines(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            no_control_chars(name, "a header name")
            no_control_chars(value, f"header {name}")
        return v

    @field_validator("body")
    @classmethod
    def _known_placeholders(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_template(v, "body")
        return v


class WebhookDoor:
    """One HTTP request per open; the device at the other end times the pulse."""

    def __init__(self, cfg: WebhookDoorConfig, name: str) -> None:
        self.cfg = cfg
        self.name = name

    def _request(self, pulse_s: float, reason: str) -> urllib.request.Request:
        values = template_values(self.name, reason, pulse_s)
        url = render_template(
            self.cfg.url, {k: urllib.parse.quote(str(v), safe="") for k, v in values.items()}
        )
        headers = dict(self.cfg.headers)
        data = None
        if self.cfg.method != "GET":
            data = json.dumps(render_template(self.cfg.body, values)).encode()
            if not any(h.lower() == "content-type" for h in headers):
                headers["Content-Type"] = "application/json"
        return urllib.request.Request(url, data=data, headers=headers, method=self.cfg.method)

    def open(self, pulse_s: float, reason: str) -> None:
        req = self._request(pulse_s, reason)
        # The URL is not echoed in errors: it may carry a token in its query string.
        where = f"webhook for door {self.name}"
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                status = resp.status
                if not 200 <= status < 300:
                    raise DoorError(f"{where} answered HTTP {status} {resp.reason}")
        except urllib.error.HTTPError as exc:
            detail = _snippet(exc)
            raise DoorError(
                f"{where} answered HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
            ) from None
        except urllib.error.URLError as exc:
            raise DoorError(f"{where} failed: {exc.reason}") from None
        except TimeoutError:
            raise DoorError(f"{where} timed out after {self.cfg.timeout_s:g} s") from None
        except OSError as exc:
            raise DoorError(f"{where} failed: {exc}") from None

    def close(self) -> None:
        """No connection is kept between opens."""


def _snippet(exc: urllib.error.HTTPError, limit: int = 200) -> str:
    """The start of an error body: devices often explain themselves there."""
    try:
        text = exc.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""
    return " ".join(text.split())
