"""Operators are bound by the server config's allow-lists; admins are not.

An operator may run a site's doors but not turn the server into a file reader or a proxy:
a file or folder source, and a PAD model path, must lie inside `server.media_dirs`; a camera
URL, webhook and MQTT broker must be on `server.allowed_hosts` (`facegate.reach`); device
sources and door devices must be the devices they claim to be (`/dev/video3`,
`/dev/gpiochip0`, `/dev/ttyUSB0`). Admins write that config, so they may set any source.

A refused path gets the same code and message whether or not it exists, and the check runs
before anything looks at the file system, so the answer tells nothing about the server's
files. Only what changes is checked: an operator can rename an entrance an admin pointed
at a file outside the media folders, without being refused for the admin's choice.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from facegate.config import ServerConfig
from facegate.reach import host_allowed, path_inside
from facegate.runtime.doors import (
    DoorConfig,
    GpioDoorConfig,
    MqttDoorConfig,
    SerialDoorConfig,
    WebhookDoorConfig,
)
from facegate.runtime.liveness import LivenessConfig
from facegate.runtime.sources import URL_SCHEMES, SourceConfig
from facegate.server.auth import Principal, Role
from facegate.server.errors import NotAllowed

_VIDEO_DEVICE = re.compile(r"^/dev/video[0-9]{1,3}$")
_GPIO_CHIP = re.compile(r"^/dev/gpiochip[0-9]{1,3}$")
_SERIAL = re.compile(r"^/dev/(tty[A-Za-z0-9]{1,16}|serial/by-(id|path)/[A-Za-z0-9_.:+-]{1,200})$")


def _files(sc: ServerConfig, what: str) -> NotAllowed:
    dirs = ", ".join(str(d) for d in sc.resolved_media_dirs())
    return NotAllowed(
        f"{what} must be inside the media folders the server config allows an operator "
        f"(server.media_dirs: {dirs}); an admin may set any path"
    )


def _host(sc: ServerConfig, host: str | None, what: str) -> None:
    if not host or not host_allowed(host, sc.allowed_hosts):
        raise NotAllowed(
            f"{what} {host or '(none)'} is not on the server config's allowed hosts "
            "(server.allowed_hosts); an admin may add it, or set this entrance"
        )


def _url_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def check_source(sc: ServerConfig, who: Principal, source: SourceConfig | None) -> None:
    if source is None or who.allows(Role.ADMIN):
        return
    uri = source.uri.strip()
    if not uri or uri.isdigit():  # blank: `entrances.check_source` says so
        return
    if uri.startswith("/dev/video"):
        if not _VIDEO_DEVICE.match(uri):
            raise NotAllowed("a camera device is /dev/video followed by its number")
        return
    if uri.lower().startswith(URL_SCHEMES):
        _host(sc, _url_host(uri), "camera host")
        return
    if not path_inside(uri, sc.resolved_media_dirs()):
        raise _files(sc, "a file or folder source")


def check_door(sc: ServerConfig, who: Principal, door: DoorConfig | None) -> None:
    if door is None or who.allows(Role.ADMIN):
        return
    if isinstance(door, WebhookDoorConfig):
        _host(sc, _url_host(door.url), "webhook host")
    elif isinstance(door, MqttDoorConfig):
        _host(sc, door.host, "MQTT broker")
    elif isinstance(door, GpioDoorConfig) and not _GPIO_CHIP.match(door.chip):
        raise NotAllowed("a GPIO chip is /dev/gpiochip followed by its number")
    elif isinstance(door, SerialDoorConfig) and not _SERIAL.match(door.port):
        raise NotAllowed("a serial port is /dev/tty... or /dev/serial/by-id/...")


def check_liveness(sc: ServerConfig, who: Principal, liveness: LivenessConfig | None) -> None:
    if liveness is None or liveness.model is None or who.allows(Role.ADMIN):
        return
    if not path_inside(liveness.model, sc.resolved_media_dirs()):
        raise _files(sc, "a PAD model")
