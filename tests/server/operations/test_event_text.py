"""Every kind of door event the runtime journals reads as a sentence a building manager
understands; where the runtime's own code can produce the reason here (access rules,
the door actuator), it does, so a changed wording there fails this test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facegate.runtime.access import AccessConfig, AccessPolicy, AccessRule
from facegate.runtime.doors.actuator import DoorActuator
from facegate.runtime.doors.base import DoorError
from facegate.runtime.events import Decision, DoorEvent
from facegate.server.operations.event_text import describe

ANN = "Ann Lee"
CASES = [
    (Decision.OPEN, "Ann Lee matched in 3 shots, confirmed by face_reid", ANN,
     "Recognised Ann Lee; door opened"),
    (Decision.OPEN, "manual open by user:bob: courier with a parcel", None,
     "Opened by hand by user:bob (courier with a parcel)"),
    (Decision.UNKNOWN,
     "no resident matched at FMR 1e-05; closest Lin-Manuel Miranda -0.042 < 0.509",
     None, "Unknown visitor"),
    (Decision.UNKNOWN, "no resident matched at FMR 1e-05", None, "Unknown visitor"),
    (Decision.UNKNOWN, "no resident matched at FMR 1e-05; Ann Lee 0.612 >= 0.509 on 1 of 2 "
     "shots needed", None, "Looked like Ann Lee but not sure enough: door stayed closed"),
    (Decision.UNKNOWN, "face_reid did not confirm Ann Lee (0.301 < 0.512)", None,
     "Looked like Ann Lee but not sure enough: door stayed closed"),
    (Decision.UNKNOWN, "fusion of sface and face_reid did not confirm Ann Lee (-inf < 3.100)",
     None, "Looked like Ann Lee but not sure enough: door stayed closed"),
    (Decision.UNKNOWN, "shots matched different residents", None,
     "Unknown visitor (looked like more than one resident): door stayed closed"),
    (Decision.DENY, "presentation attack suspected (passive)", ANN,
     "Photo or screen suspected: door stayed closed"),
    (Decision.DENY, "liveness required but not established for Ann Lee", ANN,
     "Looked like Ann Lee, but no live face was confirmed: door stayed closed"),
    (Decision.DENY, "Ann Lee has no face_reid template, so the second recogniser cannot "
     "confirm them: re-enrol Ann Lee's photos", ANN,
     "Recognised Ann Lee, but their photos need enrolling again: door stayed closed"),
    (Decision.DENY, "Ann Lee is not an active resident", ANN,
     "Ann Lee is not an active resident: door stayed closed"),
    (Decision.DENY, "Ann Lee is a resident only from 2030-01-01 00:00 UTC", ANN,
     "Ann Lee's access has not started yet: door stayed closed"),
    (Decision.DENY, "Ann Lee was a resident until 2020-01-01 00:00 UTC", ANN,
     "Ann Lee's access has ended: door stayed closed"),
    (Decision.SOURCE_LOST, "no frame for 5.0 s", None, "Camera lost (no frame for 5.0 s)"),
    (Decision.SOURCE_RESTORED, "frames again", None, "Camera back"),
    (Decision.DOOR_ERROR, "door webhook failed: HTTP 500 from http://relay/open", ANN,
     "Door did not open: HTTP 500 from http://relay/open"),
]  # fmt: skip


@pytest.mark.parametrize(("decision", "reason", "person", "sentence"), CASES)
def test_every_journalled_reason_reads_as_a_sentence(decision, reason, person, sentence) -> None:
    assert describe(decision.value, reason, person) == sentence


NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "sentence"),
    [
        ({"people": ["Bob"]}, "Ann Lee may not use this entrance: door stayed closed"),
        (
            {"people": [ANN], "windows": [{"days": ["mon-sun"], "start": "20:00", "end": "22:00"}]},
            "Ann Lee came outside their hours (daily 20:00-22:00): door stayed closed",
        ),
        (
            {"people": [ANN], "valid_until": "2026-03-01"},
            "Ann Lee's guest pass has expired: door stayed closed",
        ),
        (
            {"people": [ANN], "valid_from": "2026-04-01"},
            "Ann Lee's guest pass is not valid yet: door stayed closed",
        ),
    ],
)
def test_access_refusals_from_the_rules_themselves(rule, sentence) -> None:
    verdict = AccessPolicy(AccessConfig(rules=[AccessRule(**rule)])).check(ANN, "main", NOON)
    assert not verdict.allowed
    assert describe("deny", verdict.reason, ANN) == sentence


def test_used_up_guest_pass_and_no_rules() -> None:
    policy = AccessPolicy(AccessConfig(rules=[AccessRule(people=[ANN], max_uses=1)]))
    policy.record_use(0)
    verdict = policy.check(ANN, "main", NOON)
    assert describe("deny", verdict.reason, ANN) == (
        "Ann Lee's guest pass is used up: door stayed closed"
    )
    closed = AccessPolicy(AccessConfig(default_allow=False)).check(ANN, "main", NOON)
    assert describe("deny", closed.reason, ANN) == (
        "Ann Lee may not use this entrance: door stayed closed"
    )


class _BrokenDoor:
    name = "relay"

    def open(self, pulse_s: float, reason: str) -> None:
        raise DoorError("no answer from 10.0.0.9")

    def close(self) -> None:
        pass


def test_a_failed_door_as_the_actuator_reports_it() -> None:
    opened = DoorEvent(Decision.OPEN, "main", "Ann Lee matched", person=ANN)
    actuator = DoorActuator(_BrokenDoor(), pulse_s=0.1, on_done=lambda e, o: e.settle(o))
    actuator.request_open(opened)
    assert actuator.close(5.0)
    # the open itself says so (issue 15), not a separate door_error event
    assert describe(opened.decision.value, opened.reason, opened.person, door=opened.door) == (
        "Recognised Ann Lee, but the door did not open: no answer from 10.0.0.9"
    )


def test_a_name_with_a_direction_override_cannot_turn_the_sentence_around() -> None:
    assert describe("open", "x matched", "\u202eevil") == "Recognised evil; door opened"


def test_an_unknown_decision_is_shown_as_written() -> None:
    assert describe("teleported", "beamed up", None) == "beamed up"
