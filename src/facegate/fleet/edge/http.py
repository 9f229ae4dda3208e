"""The device's HTTP side: enrolment with the one-time token, the credentials file, and the
device routes (snapshot, event fallback, best-shot upload).

Why stdlib `urllib` with explicit timeouts: the device must never hang on a server that
accepts the connection and then says nothing, and it needs no HTTP stack beyond this. Why
the credentials are a 0600 file in a 0700 dir: the secret is the device's identity (anyone
holding it can fetch the residents' templates), so it is readable by its owner only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from facegate import __version__
from facegate.fleet.edge import EdgeError
from facegate.private import private_dir, write_private

log = logging.getLogger("facegate.edge.http")

CREDENTIALS = "credentials.json"


class Unreachable(EdgeError):
    """The server did not answer (network, timeout, 5xx): try again later."""

    code = "server_unreachable"


class Refused(EdgeError):
    """The server answered no (4xx); `status` and `error` (its stable code) say why."""

    code = "server_refused"

    def __init__(self, message: str, status: int, error: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class MqttLogin(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str
    username: str | None = None
    password: str | None = None
    topic_prefix: str = "facegate/v1"


class Credentials(BaseModel):
    """What enrolment gives a device: who it is, how to prove it, whose signatures to trust,
    and which broker to use. Kept in `<data>/credentials.json` (0600)."""

    model_config = ConfigDict(extra="ignore")

    server: str
    device_id: int
    name: str = ""
    secret: str
    public_key: str
    key_id: str = ""
    mqtt: MqttLogin
    enrolled_at: float = 0.0


def load_credentials(data_dir: Path) -> Credentials | None:
    path = data_dir / CREDENTIALS
    if not path.is_file():
        return None
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by others than its owner: chmod 600", path)
    try:
        return Credentials.model_validate_json(path.read_bytes())
    except (ValidationError, OSError) as exc:
        raise EdgeError(f"{path} is damaged ({exc}); delete it and enrol again") from None


def save_credentials(data_dir: Path, creds: Credentials) -> Path:
    private_dir(data_dir)
    path = data_dir / CREDENTIALS
    write_private(path, creds.model_dump_json(indent=2).encode())
    return path


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
    secret: str | None = None,
    timeout_s: float = 10.0,
) -> tuple[int, bytes]:
    """One HTTP exchange: (status, body) for 2xx; `Refused` for 4xx, `Unreachable` for
    5xx, network errors and timeouts."""
    headers = {"User-Agent": f"facegate-edge/{__version__}"}
    if body is not None:
        headers["Content-Type"] = content_type
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read() or b""
        error = None
        with contextlib.suppress(ValueError, AttributeError):
            error = json.loads(raw).get("error")
        if exc.code >= 500:
            raise Unreachable(f"{method} {url}: HTTP {exc.code}") from None
        raise Refused(
            f"{method} {url}: HTTP {exc.code} {error or ''}".strip(), exc.code, error
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"{method} {url}: {reason}") from None


def enrol(server: str, token: str, data_dir: Path, *, timeout_s: float = 15.0) -> Credentials:
    """Trade the one-time token for the device's credentials and keep them (0600)."""
    if not server.startswith(("http://", "https://")):
        raise EdgeError(f"--server must be an http:// or https:// URL, not {server!r}")
    payload = {"token": token, "software": __version__, "hostname": socket.gethostname()}
    try:
        _, raw = request(
            "POST",
            server.rstrip("/") + "/api/v1/device/enrol",
            body=json.dumps(payload).encode(),
            timeout_s=timeout_s,
        )
    except Refused as exc:
        if exc.error in ("bad_device_token", None) and exc.status in (401, 403):
            raise EdgeError(
                "the server refused the device token (used already, expired or unknown): "
                "make a new one on the server (POST /api/v1/devices)"
            ) from None
        raise
    try:
        data: dict[str, Any] = json.loads(raw)
        creds = Credentials(
            server=server.rstrip("/"),
            device_id=data["device_id"],
            name=data.get("name", ""),
            secret=data["secret"],
            public_key=data["public_key"],
            key_id=data.get("key_id", ""),
            mqtt=MqttLogin.model_validate(data["mqtt"]),
            enrolled_at=time.time(),
        )
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise EdgeError(f"the server's enrolment answer is not understood: {exc}") from None
    path = save_credentials(data_dir, creds)
    log.info("enrolled as device %d (%s); credentials in %s", creds.device_id, creds.name, path)
    return creds


class DeviceHttp:
    """The device routes, authenticated with the device secret."""

    def __init__(self, creds: Credentials, timeout_s: float = 10.0) -> None:
        self._base = creds.server.rstrip("/") + "/api/v1/device"
        self._secret = creds.secret
        self.timeout_s = timeout_s

    def snapshot(self, nonce: str) -> bytes:
        _, raw = request(
            "GET", f"{self._base}/snapshot?nonce={nonce}", secret=self._secret,
            timeout_s=self.timeout_s,
        )  # fmt: skip
        return raw

    def post_events(self, batch_json: bytes) -> bytes:
        _, raw = request(
            "POST", f"{self._base}/events", body=batch_json, secret=self._secret,
            timeout_s=self.timeout_s,
        )  # fmt: skip
        return raw

    def put_shot(self, event_id: str, jpeg: bytes) -> None:
        request(
            "PUT",
            f"{self._base}/events/{event_id}/snapshot",
            body=jpeg,
            content_type="image/jpeg",
            secret=self._secret,
            timeout_s=self.timeout_s,
        )
