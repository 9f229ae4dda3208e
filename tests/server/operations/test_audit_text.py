"""The audit log in sentences (`operations.audit_text`), on SQLite and PostgreSQL: real
entries written by the operations read as sentences in English and Russian, objects by
their current name, an erased resident without their name, an unknown action sensibly."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from facegate.server.i18n import Translator
from facegate.server.operations import audit_text, entrances, events, residents, rules, trials
from facegate.server.schemas import AuditOut, EntranceIn, EntranceUpdate, ResidentIn, RuleIn
from facegate.server.state import ServerState
from tests.server.conftest import ADMIN, OPERATOR


def sentences(session: Session, lang: str = "en") -> list[str]:
    entries = events.audit_log(session)
    names = audit_text.names_for(session, entries)
    return [audit_text.describe(a, names, Translator(lang)) for a in reversed(entries)]


def test_entries_read_as_sentences(session: Session, state: ServerState) -> None:
    ann = residents.create_resident(session, ADMIN, ResidentIn(name="Ann Lee", apartment="4B"))
    gate = entrances.create_entrance(session, state, ADMIN, EntranceIn(name="Main entrance"))
    trials.try_door(session, state, OPERATOR, gate.id)
    rules.create_rule(session, OPERATOR, RuleIn(name="Courier", max_uses=2))
    entrances.update_entrance(session, state, ADMIN, gate.id, EntranceUpdate(name="Front door"))
    entrances.open_door(session, state, OPERATOR, gate.id, "parcel")
    assert sentences(session) == [
        "admin added resident Ann Lee",
        "admin added entrance Front door",  # objects by their current name
        "oper pulsed door Front door to test it",
        "oper added guest pass Courier",
        "admin changed the settings of entrance Front door",
        "oper opened door Front door by hand (reason: parcel)",
    ]
    assert sentences(session, "ru")[:3] == [
        "admin: добавлен жилец Ann Lee",
        "admin: добавлен вход Front door",
        "oper: проверка двери Front door импульсом",
    ]
    residents.delete_resident(session, state.journal, ADMIN, ann.id)
    erased = sentences(session)
    assert erased[0] == f"admin added resident #{ann.id}"  # the name went with the erasure
    assert erased[-1] == f"admin deleted resident #{ann.id} and everything held about them"
    assert not any("Ann Lee" in s for s in erased)


def test_unknown_actions_and_failed_sign_ins() -> None:
    when = datetime(2030, 1, 1, tzinfo=UTC)
    odd = AuditOut(
        id=1, time=when, actor="user:ann", action="fleet_pair", target="device:7", detail={}
    )
    assert audit_text.describe(odd, {}) == "ann: fleet_pair device:7"
    failed = AuditOut(
        id=2, time=when, actor="user:mallory", action="sign_in_failed", target="", detail={}
    )
    assert audit_text.describe(failed, {}) == "Failed sign-in as mallory"
    made = AuditOut(
        id=3,
        time=when,
        actor="user:admin",
        action="user_create",
        target="user:bob",
        detail={"role": "viewer"},
    )
    assert audit_text.describe(made, {}) == "admin added user bob (role viewer)"
    assert audit_text.describe(made, {}, Translator("ru")) == (
        "admin: добавлен пользователь bob (роль наблюдатель)"
    )
