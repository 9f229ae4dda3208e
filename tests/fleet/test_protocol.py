"""The wire contract: what a device accepts, refuses and applies in which order."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from facegate.fleet.protocol import (
    Command,
    Delta,
    EntranceRecord,
    Kind,
    ProtocolError,
    RemoveResident,
    ResidentRecord,
    Signer,
    Step,
    TemplateRecord,
    Topics,
    UpsertResident,
    Verifier,
    check_command,
    load_public_key,
    next_step,
    public_key_text,
)
from facegate.runtime.config import RuntimeConfig


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


def _delta() -> Delta:
    ann = ResidentRecord(
        id=1,
        name="Ann Lee",
        rev=7,
        templates=[TemplateRecord.from_vector("sface", "v1", np.arange(4, dtype=np.float32))],
    )
    return Delta(ops=[UpsertResident(resident=ann), RemoveResident(id=2, rev=8)])


def test_a_signed_delta_opens_for_its_device_with_revocations_first(signer: Signer) -> None:
    raw = signer.seal(Kind.DELTA, 5, _delta(), version=3, prev=2)
    env = Verifier(load_public_key(public_key_text(signer.public)), 5).open(raw, Kind.DELTA)
    delta = Delta.model_validate(env.body)
    assert (env.version, env.prev) == (3, 2)
    assert [o.op for o in delta.ordered()] == ["remove_resident", "upsert_resident"]
    assert [o.op for o in delta.revocations()] == ["remove_resident"]
    vec = delta.ops[0].resident.templates[0].vector()
    assert vec.dtype == np.float32 and vec.tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda env: {k: v for k, v in env.items() if k != "sig"}, "unsigned"),
        (lambda env: {**env, "version": 99}, "bad_signature"),
        (lambda env: {**env, "body": {"ops": []}}, "bad_signature"),
        (lambda env: {**env, "sig": "bm90IGEgc2lnbmF0dXJl"}, "bad_signature"),
        (lambda env: {**env, "sig": "***"}, "bad_signature"),
    ],
)
def test_unsigned_or_tampered_messages_are_refused(signer: Signer, tamper, code: str) -> None:
    env = json.loads(signer.seal(Kind.DELTA, 5, _delta(), version=3, prev=2))
    with pytest.raises(ProtocolError) as err:
        Verifier(signer.public, 5).open(json.dumps(tamper(env)), Kind.DELTA)
    assert err.value.code == code


def test_another_key_device_or_kind_is_refused(signer: Signer) -> None:
    raw = signer.seal(Kind.DELTA, 5, _delta(), version=3, prev=2)
    other = Signer(Ed25519PrivateKey.generate())
    cases = [
        (Verifier(other.public, 5), Kind.DELTA, "bad_signature"),
        (Verifier(signer.public, 6), Kind.DELTA, "wrong_device"),
        (Verifier(signer.public, 5), Kind.COMMAND, "wrong_kind"),
    ]
    for verifier, kind, code in cases:
        with pytest.raises(ProtocolError) as err:
            verifier.open(raw, kind)
        assert err.value.code == code
    with pytest.raises(ProtocolError) as err:
        Verifier(signer.public, 5).open(b"\xff not json", Kind.DELTA)
    assert err.value.code == "malformed"


def test_the_version_rule() -> None:
    assert next_step(local=2, prev=2, version=3) is Step.APPLY
    assert next_step(local=3, prev=2, version=3) is Step.DUPLICATE  # QoS 1 redelivery
    assert next_step(local=2, prev=3, version=4) is Step.GAP  # a delta was lost
    assert next_step(local=5, prev=3, version=6) is Step.GAP  # the server's chain changed
    with pytest.raises(ProtocolError):
        next_step(local=1, prev=4, version=4)


def test_commands_expire_and_are_not_replayed() -> None:
    cmd = Command(id="c0ffee00", action="open", entrance="main", reason="courier", expires_at=100)
    check_command(cmd, seen=set(), now=99.0)
    with pytest.raises(ProtocolError, match="expired") as err:
        check_command(cmd, seen=set(), now=161.0)
    assert err.value.code == "stale"
    with pytest.raises(ProtocolError) as err:
        check_command(cmd, seen={"c0ffee00"}, now=99.0)
    assert err.value.code == "replayed"


def test_templates_that_are_not_what_they_say_are_refused() -> None:
    good = TemplateRecord.from_vector("sface", "v1", np.ones(4))
    with pytest.raises(ProtocolError):
        good.model_copy(update={"dim": 8}).vector()
    with pytest.raises(ProtocolError):
        good.model_copy(update={"embedding": "!!"}).vector()
    nan = TemplateRecord.from_vector("sface", "v1", np.array([1.0, np.nan, 0, 0]))
    with pytest.raises(ProtocolError):
        nan.vector()


def test_an_entrance_record_becomes_the_runtime_config_the_server_would_build() -> None:
    rec = EntranceRecord(
        id=3,
        name="Back door",
        source={"uri": "rtsp://10.0.0.5/stream"},
        door={"kind": "log"},
        decision={},
    )
    rc = rec.runtime_config(RuntimeConfig(track_max_age_s=2.5))
    assert rc.entrance == "Back door" and rc.track_max_age_s == 2.5
    assert rc.source is not None and rc.source.uri == "rtsp://10.0.0.5/stream"


def test_topics_name_the_device() -> None:
    t = Topics("facegate/v1", 42)
    assert t.sync == "facegate/v1/devices/42/sync"
    assert Topics.device_of(t.events) == 42
    assert Topics.device_of("facegate/v1/devices/x/events") is None
    assert Topics("facegate/v1", "+").events == "facegate/v1/devices/+/events"
