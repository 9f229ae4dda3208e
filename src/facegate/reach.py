"""What an operator may make the server read or contact: the pure rules behind the
`server.media_dirs` and `server.allowed_hosts` settings (`config.ServerConfig`); the server's
`operations.allowed` applies them to a caller's role.

Why allow-lists: an entrance's source is a file the server opens and parses, and a camera,
webhook or MQTT broker is a host the server connects to. Without a list, whoever may edit an
entrance can make the server read any file it can (and learn which exist from the error) and
reach any host, the internet and the cloud metadata address included (server-side request
forgery). Host names are matched as written, never resolved to decide: a name's address can
change between the check and the connection (DNS rebinding), so a name is allowed only when
the list names it (`cam.lobby.lan`) or its domain (`*.lan`).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

#: Loopback and the private ranges (RFC 1918, IPv6 unique-local), and the names home and
#: office networks use for local devices. Not link-local (169.254/16, fe80::/10): that is
#: where cloud metadata services answer.
DEFAULT_ALLOWED_HOSTS = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "localhost",
    "*.local",
    "*.lan",
    "*.home.arpa",
)

_NAME = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _entry(v: str) -> str:
    """A CIDR network (`10.0.0.0/8`), an address, a host name, `*.domain`, or `*` (any)."""
    v = v.strip().lower()
    if v == "*":
        return v
    try:
        return str(ipaddress.ip_network(v, strict=False))
    except ValueError:
        pass
    if not _NAME.match(v):
        raise ValueError(
            f"{v!r} is neither a network (10.0.0.0/8), an address, a host name nor *.domain"
        )
    return v


HostEntry = Annotated[str, AfterValidator(_entry)]


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    return ip


def host_allowed(host: str, entries: list[str] | tuple[str, ...]) -> bool:
    """Whether `host` (an address or a name, as written in a URL) is on the list."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if not host:
        return False
    if "*" in entries:
        return True
    ip = _address(host)
    for entry in entries:
        fixed = _address(entry)
        if "/" in entry or fixed is not None:
            net = ipaddress.ip_network(entry, strict=False)
            if ip is not None and ip.version == net.version and ip in net:
                return True
        elif ip is None and (
            host == entry or (entry.startswith("*.") and host.endswith(entry[1:]))
        ):
            return True
    return False


def path_inside(path: str | Path, folders: list[Path]) -> bool:
    """Whether `path`, with symlinks and `..` resolved, lies inside one of `folders`.

    Answers from the path's name alone when it does not exist (resolve is not strict), so the
    answer for a path outside the folders is the same whether or not it exists."""
    try:
        real = Path(path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    for folder in folders:
        try:
            base = Path(folder).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if real == base or base in real.parents:
            return True
    return False
