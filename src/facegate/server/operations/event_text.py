"""Door events in plain language, for people who look after a building rather than a model:
"Recognised Ann Lee; door opened" instead of "Ann Lee matched in 3 shots, confirmed by
face_reid", "Unknown visitor" instead of "closest Lin-Manuel Miranda -0.042 < 0.509".

One function (`describe`) used by the REST API (`EventOut.summary`), the web UI (the
dashboard and the event log, in the reader's language) and the CSV export, so the three
never tell one event differently. The journal keeps the engineer's wording (`reason`,
`scores`): the UI shows it one click away and the export keeps it in its own column.

The runtime writes `reason` as text, so the kind of event is read from the decision and
from the fixed beginnings and phrases of the texts the runtime writes:
- `runtime/decision.py`: an open ("<name> matched in N shots..."), a presentation attack
  ("presentation attack suspected (...)"), liveness never established ("liveness required
  but not established for <name>"), a resident the confirming model cannot check ("<name>
  has no <model> template..."), an access refusal (below), and an unknown visitor: nobody
  close ("no resident matched ...; closest ..."), someone close on too few shots ("...; <name>
  s >= t on v of n shots needed"), not confirmed by the second model ("<model> did not
  confirm <name>", "fusion of ... did not confirm <name>"), or shots that matched different
  residents;
- access refusals (`runtime/access.py`, `server/access_policy.py`): not an active resident,
  a resident only from / until a date, outside the allowed hours, a pass not yet valid,
  expired or used up, no rule for this person here, no rules and no default access;
- `server/runtimes.py`: a manual open ("manual open by <who>: <reason>");
- `runtime/doors/actuator.py`: a door adapter that failed or an open that waited too long
  (`door_error`); the camera going away and coming back (`source_lost`,
  `source_restored`, from `runtime/sources/camera.py`).
A text none of these match still reads sensibly by its decision alone.
"""

from __future__ import annotations

import re
from typing import Protocol

from facegate.runtime.events import Decision
from facegate.server.text import strip_bidi


class Gettext(Protocol):
    def __call__(self, message: str, /, **values: object) -> str: ...


class English:
    """The source strings, formatted: what the API and a caller without a language use."""

    def __call__(self, message: str, /, **values: object) -> str:
        return message.format(**values) if values else message


ENGLISH = English()


def N_(message: str) -> str:
    """Marks a string for translation where it is defined; `_` translates it where shown."""
    return message


_MANUAL = re.compile(r"^manual open by (?P<who>.*?): (?P<why>.*)$", re.S)
_NEAR_MISS = re.compile(r"; (?P<name>.+) -?[\d.]+ >= -?[\d.]+ on \d+ of \d+ shots needed$")
_NOT_CONFIRMED = re.compile(r"did not confirm (?P<name>.+) \(-?[\d.inf]+ < -?[\d.]+\)$")
_DOOR_FAILED = re.compile(r"^door \S+ failed(?: unexpectedly)?: ")
_HOURS = re.compile(r"outside .*'s hours \((?P<hours>.*)\)")


def _deny(reason: str, name: str, _: Gettext) -> str:
    """A recognised resident the door did not open for, by why."""
    r = reason
    if r.startswith("presentation attack suspected"):
        return _("Photo or screen suspected: door stayed closed")
    if r.startswith("liveness required but not established"):
        return _(
            "Looked like {name}, but no live face was confirmed: door stayed closed", name=name
        )
    if " template, so the second recogniser cannot confirm" in r:
        return _(
            "Recognised {name}, but their photos need enrolling again: door stayed closed",
            name=name,
        )
    if r.endswith("is not an active resident"):
        return _("{name} is not an active resident: door stayed closed", name=name)
    if " is a resident only from " in r:
        return _("{name}'s access has not started yet: door stayed closed", name=name)
    if " was a resident until " in r:
        return _("{name}'s access has ended: door stayed closed", name=name)
    hours = _HOURS.search(r)
    if hours:
        return _(
            "{name} came outside their hours ({hours}): door stayed closed",
            name=name,
            hours=hours.group("hours"),
        )
    if "pass used up" in r:
        return _("{name}'s guest pass is used up: door stayed closed", name=name)
    if "pass expired" in r:
        return _("{name}'s guest pass has expired: door stayed closed", name=name)
    if "pass not valid before" in r:
        return _("{name}'s guest pass is not valid yet: door stayed closed", name=name)
    if r.startswith("no rule lets") or r.startswith("no access rules"):
        return _("{name} may not use this entrance: door stayed closed", name=name)
    return _("Recognised {name}, but not let in: door stayed closed", name=name)


def _unknown(reason: str, _: Gettext) -> str:
    """A face nobody was matched to, and how near it came."""
    near = _NEAR_MISS.search(reason) or _NOT_CONFIRMED.search(reason)
    if near:
        return _(
            "Looked like {name} but not sure enough: door stayed closed",
            name=strip_bidi(near.group("name")),
        )
    if reason.startswith("shots matched different residents"):
        return _("Unknown visitor (looked like more than one resident): door stayed closed")
    return _("Unknown visitor")


def describe(
    decision: str,
    reason: str,
    person: str | None,
    _: Gettext = ENGLISH,
    *,
    manual: bool = False,
    door: dict | None = None,
) -> str:
    """One event as a sentence, in the language of `_` (English by default).

    Names are stripped of bidirectional controls (`server.text`): a sentence is shown as
    one line of text, and a stored name with an override would reverse the rest of it."""
    name = strip_bidi(person or "") or _("someone")
    reason = reason or ""
    try:
        kind = Decision(decision)
    except ValueError:
        return strip_bidi(reason) or decision
    if kind is Decision.OPEN:
        m = _MANUAL.match(reason)
        if m or manual:
            who, why = (m.group("who"), m.group("why")) if m else ("?", reason)
            return _("Opened by hand by {who} ({why})", who=strip_bidi(who), why=strip_bidi(why))
        return _("Recognised {name}; door opened", name=name)
    if kind is Decision.OPEN_FAILED:  # the open's own event; `door` says what failed
        error = strip_bidi(_DOOR_FAILED.sub("", str((door or {}).get("error") or "")))
        m = _MANUAL.match(reason)
        if m or manual:
            who, why = (m.group("who"), m.group("why")) if m else ("?", reason)
            return _(
                "Opened by hand by {who} ({why}), but the door did not open: {error}",
                who=strip_bidi(who),
                why=strip_bidi(why),
                error=error,
            )
        return _("Recognised {name}, but the door did not open: {error}", name=name, error=error)
    if kind is Decision.DENY:
        return _deny(reason, name, _)
    if kind is Decision.UNKNOWN:
        return _unknown(reason, _)
    if kind is Decision.SOURCE_LOST:
        return _("Camera lost ({detail})", detail=strip_bidi(reason))
    if kind is Decision.SOURCE_RESTORED:
        return _("Camera back")
    # Decision.DOOR_ERROR: "door <adapter> failed: <why>", or an open that waited too long
    error = _DOOR_FAILED.sub("", reason)
    return _("Door did not open: {error}", error=strip_bidi(error))


def describe_event(event: object, _: Gettext = ENGLISH) -> str:
    """`describe` of anything with the event's fields (`EventOut`, or a journal row)."""
    get = event.get if isinstance(event, dict) else lambda k: getattr(event, k, None)
    live = get("liveness") or {}
    return describe(
        str(get("decision")),
        str(get("reason") or ""),
        get("person"),
        _,
        manual=bool(live.get("manual")) if isinstance(live, dict) else False,
        door=door if isinstance(door := get("door"), dict) else None,
    )
