"""The audit log in sentences ("admin added resident Ann Lee", "oper pulsed door Main
entrance to test it") instead of raw actions and Python dicts, in the reader's language;
the stored entry (action, target, detail) stays one click away.

As `event_text` does for door events: one function (`describe`) turns an entry into a
sentence with the `Gettext` it is given. Objects are named by their current name (a
renamed entrance reads as it is called now), else the name the entry recorded, else
"#id": an erased resident's entries lost their name on erasure (`privacy`), and the
sentence must not bring it back. An action this module does not know (a newer feature's)
still reads as "<who>: <action> <target>".
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.server.db.models import AccessRuleRow, Entrance, Resident
from facegate.server.operations.event_text import ENGLISH, N_, Gettext
from facegate.server.schemas import AuditOut
from facegate.server.text import strip_bidi

Names = dict[str, dict[int, str]]  # "resident" -> id -> name, also "entrance", "rule"

SENTENCES = {
    "resident_create": N_("{who} added resident {name}"),
    "resident_update": N_("{who} changed resident {name}"),
    "resident_delete": N_("{who} deleted resident {name} and everything held about them"),
    "resident_export": N_("{who} exported everything held about resident {name}"),
    "photo_add": N_("{who} added a photo of {name}"),
    "photo_delete": N_("{who} deleted a photo of {name}"),
    "entrance_create": N_("{who} added entrance {name}"),
    "entrance_update": N_("{who} changed the settings of entrance {name}"),
    "entrance_delete": N_("{who} deleted entrance {name}"),
    "entrance_restart": N_("{who} restarted entrance {name}"),
    "door_open": N_("{who} opened door {name} by hand"),
    "door_test": N_("{who} pulsed door {name} to test it"),
    "rule_create": N_("{who} added rule {name}"),
    "rule_update": N_("{who} changed rule {name}"),
    "rule_delete": N_("{who} deleted rule {name}"),
    "user_create": N_("{who} added user {name}"),
    "user_update": N_("{who} changed user {name}"),
    "user_delete": N_("{who} deleted user {name}"),
    "api_key_create": N_("{who} created API key {name}"),
    "api_key_delete": N_("{who} revoked API key {name}"),
    "sign_in": N_("{who} signed in"),
    "sign_in_failed": N_("Failed sign-in as {who}"),
    "face_search": N_("{who} searched for a face"),
    "keys_rotate": N_("{who} rotated the key that encrypts faces and snapshots"),
}
GUEST_PASS = N_("{who} added guest pass {name}")
ROLE = N_("role {role}")
REASON = N_("reason: {reason}")
FIELDS = N_("changed: {fields}")


def _person(actor: str) -> str:
    """ "user:ann" -> "ann"; an API key or a system actor as recorded."""
    return strip_bidi(actor.removeprefix("user:"))


def names_for(session: Session, entries: Iterable[AuditOut]) -> Names:
    """The current names of every resident, entrance and rule the entries point at."""
    wanted: dict[str, set[int]] = {"resident": set(), "entrance": set(), "rule": set()}
    for e in entries:
        kind, _, ident = e.target.partition(":")
        if kind in wanted and ident.isdigit():
            wanted[kind].add(int(ident))
    out: Names = {}
    for kind, model in (("resident", Resident), ("entrance", Entrance), ("rule", AccessRuleRow)):
        ids = wanted[kind]
        rows = session.execute(select(model.id, model.name).where(model.id.in_(ids))) if ids else []
        out[kind] = {i: n for i, n in rows}
    return out


def _object(entry: AuditOut, names: Names) -> str:
    kind, _, ident = entry.target.partition(":")
    if kind in ("user", "key"):
        return strip_bidi(ident)
    if ident.isdigit():
        current = names.get(kind, {}).get(int(ident))
        recorded = entry.detail.get("name") if isinstance(entry.detail, dict) else None
        return strip_bidi(str(current or recorded or f"#{ident}"))
    return strip_bidi(entry.target)


def describe(entry: AuditOut, names: Names, _: Gettext = ENGLISH) -> str:
    """One audit entry as a sentence, with its one most useful detail in brackets."""
    who, name = _person(entry.actor), _object(entry, names)
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    template = SENTENCES.get(entry.action)
    if entry.action == "rule_create" and detail.get("max_uses"):
        template = GUEST_PASS
    if template is None:
        return f"{who}: {strip_bidi(entry.action)} {strip_bidi(entry.target)}".strip()
    text = _(template, who=who, name=name)
    extra = None
    if detail.get("role") and entry.action in ("user_create", "user_update", "api_key_create"):
        extra = _(ROLE, role=_(str(detail["role"])))
    elif entry.action == "door_open" and detail.get("reason"):
        extra = _(REASON, reason=strip_bidi(str(detail["reason"])))
    elif entry.action in ("resident_update", "user_update") and detail.get("fields"):
        extra = _(FIELDS, fields=", ".join(str(f) for f in detail["fields"]))
    return f"{text} ({extra})" if extra else text
