"""Secrets in settings (camera passwords, door tokens): write-only outside the process.

A config model marks its secret fields with `Secret` (`Annotated[str | None, Secret("value")]`)
and the fields that say where those secrets are sent with `Destination`, so what is hidden is
decided by the model, next to the field, not by a list in the server that a new door adapter
would have to remember. Three kinds of secret:

- "value": the whole value (an MQTT password) shows as `***` once set;
- "url": the password of `user:password@`, a lone `token@`, and every query parameter whose
  name looks like a credential (`SECRET_NAME`: pass, pwd, token, key, secret, auth, sig, ...)
  show as `***`; the rest of the URL (scheme, host, path, other parameters) stays readable;
- "mapping": in a dict (webhook headers, body templates), the value of every key whose name
  looks like a credential, at any depth, shows as `***`.

`masked(model)` is the dict every reader gets (REST API, web UI, audit log). Writing back is
symmetric: `restore(new, old)` puts the stored secret back wherever the new settings carry
`***` in a secret's place (or leaves a whole-value secret out; `""` clears it), so a form
or a client that round-trips what it read keeps the secrets; but only while the destination
is unchanged (same door kind, same host and port, same URL origin). Pointing a door at
another host with `***` would otherwise send the stored password there: that is refused
(`SecretRequired`), the secret must be given again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import BaseModel

MASK = "***"
SECRET_NAME = re.compile(
    r"pass|pwd|token|secret|key|auth|sig|cookie|credential|session|bearer", re.IGNORECASE
)


class SecretRequired(ValueError):
    """`***` stands where no stored secret may be put back."""


@dataclass(frozen=True)
class Secret:
    """Field marker: this field holds a secret of the given kind (see the module doc)."""

    kind: Literal["value", "url", "mapping"]


@dataclass(frozen=True)
class Destination:
    """Field marker: where the model's secrets go (a host, a port); a changed destination
    needs the secrets given again."""


# -- URLs --------------------------------------------------------------------------------------

Fix = Callable[[tuple[str, ...], str], str]


def _map_url(url: str, fix: Fix) -> str:
    """`url` with each secret slot's value replaced by `fix(slot, value)`: ("userinfo",) for
    the password (or a lone user part), ("query", name, n) for the n-th parameter `name`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        if colon:
            userinfo = f"{user}:{fix(('userinfo',), password)}"
        elif user:
            userinfo = fix(("userinfo",), user)
        netloc = f"{userinfo}@{hostport}"
    query = parts.query
    if query:
        seen: dict[str, int] = {}
        items = []
        for item in query.split("&"):
            name, eq, value = item.partition("=")
            key = unquote(name)
            if eq and value and SECRET_NAME.search(key):
                n = seen[key] = seen.get(key, -1) + 1
                value = fix(("query", key, str(n)), value)
            items.append(f"{name}{eq}{value}")
        query = "&".join(items)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _url_slots(url: str) -> dict[tuple[str, ...], str]:
    found: dict[tuple[str, ...], str] = {}

    def keep(slot: tuple[str, ...], value: str) -> str:
        found[slot] = value
        return value

    _map_url(url, keep)
    return found


def mask_url(url: str) -> str:
    """rtsp://user:pw@cam/x?token=t&ch=1 -> rtsp://user:***@cam/x?token=***&ch=1"""
    return _map_url(url, lambda slot, value: MASK)


def url_origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: what a URL's secrets are sent to."""
    try:
        p = urlsplit(url)
        return p.scheme.lower(), (p.hostname or "").lower(), p.port
    except ValueError:
        return "", url, None


def _restore_url(new: str, old: str | None) -> str:
    stored = _url_slots(old) if old else {}

    def put_back(slot: tuple[str, ...], value: str) -> str:
        if value != MASK:
            return value
        if slot not in stored:
            raise SecretRequired("the URL has *** where no secret is stored: give it in full")
        return stored[slot]

    return _map_url(new, put_back)


# -- mappings ----------------------------------------------------------------------------------


def mask_mapping(value: Any) -> Any:
    """A dict with the values of credential-like keys (any depth) shown as `***`."""
    if isinstance(value, dict):
        return {
            k: (MASK if SECRET_NAME.search(str(k)) and v not in (None, "") else mask_mapping(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_mapping(v) for v in value]
    return value


def _restore_mapping(new: Any, old: Any) -> Any:
    if isinstance(new, dict):
        olds = old if isinstance(old, dict) else {}
        out = {}
        for k, v in new.items():
            if v == MASK and SECRET_NAME.search(str(k)):
                if k not in olds:
                    raise SecretRequired(f"{k} is *** but no value is stored: give it")
                out[k] = olds[k]
            else:
                out[k] = _restore_mapping(v, olds.get(k))
        return out
    if isinstance(new, list):
        olds = old if isinstance(old, list) else []
        return [_restore_mapping(v, olds[i] if i < len(olds) else None) for i, v in enumerate(new)]
    return new


# -- models ------------------------------------------------------------------------------------


def _marker(model: type[BaseModel], name: str, kind: type) -> Any:
    return next((m for m in model.model_fields[name].metadata if isinstance(m, kind)), None)


def mask_field(secret: Secret, value: Any) -> Any:
    if value is None or value == "":
        return value
    if secret.kind == "value":
        return MASK
    if secret.kind == "url":
        return mask_url(str(value))
    return mask_mapping(value)


def masked(model: BaseModel) -> dict[str, Any]:
    """The model as JSON with every secret masked: what any reader may see."""
    data = model.model_dump(mode="json")
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            data[name] = masked(value)
            continue
        secret = _marker(type(model), name, Secret)
        if secret is not None:
            data[name] = mask_field(secret, data[name])
    return data


def destination(model: BaseModel) -> tuple[Any, ...]:
    """Where the model's secrets are sent: its type, `Destination` fields, URL origins."""
    out: list[Any] = [type(model).__name__]
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out.append(destination(value))
        elif _marker(type(model), name, Destination) is not None:
            out.append(value)
        else:
            secret = _marker(type(model), name, Secret)
            if secret is not None and secret.kind == "url" and isinstance(value, str):
                out.append(url_origin(value))
    return tuple(out)


def restore(new: BaseModel, old: BaseModel | None) -> BaseModel:
    """`new` with each `***` in a secret's place replaced by the stored secret of `old`.

    Raises `SecretRequired` when `***` stands where nothing can be put back: nothing stored,
    a different kind of model, or a different destination (see the module doc)."""
    same = old is not None and destination(new) == destination(old)
    data = new.model_dump(mode="json")
    changed = False
    for name in type(new).model_fields:
        value = getattr(new, name)
        before = getattr(old, name, None) if same else None
        if isinstance(value, BaseModel):
            fixed = restore(value, before if isinstance(before, BaseModel) else None)
            if fixed is not value:
                data[name], changed = fixed.model_dump(mode="json"), True
            continue
        secret = _marker(type(new), name, Secret)
        if secret is None:
            continue
        if value is None:
            if secret.kind == "value" and name not in new.model_fields_set and before:
                data[name], changed = before, True  # left out: keep the stored one
            continue
        fixed = _restore_field(secret, data[name], before, same)
        if fixed != data[name]:
            data[name], changed = fixed, True
    return type(new).model_validate(data) if changed else new


def _restore_field(secret: Secret, value: Any, before: Any, same: bool) -> Any:
    stored = before if same else None
    if secret.kind == "value":
        if value == MASK:
            if stored in (None, ""):
                raise SecretRequired(
                    "a secret is *** but none is stored for this destination: give it again"
                )
            return stored
        return value
    try:
        if secret.kind == "url":
            return _restore_url(str(value), stored)
        return _restore_mapping(value, stored)
    except SecretRequired:
        raise SecretRequired(
            "the settings carry *** where no secret is stored for this destination "
            "(a new host or door kind): give the secrets again"
        ) from None
