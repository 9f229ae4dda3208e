"""The fleet's wire contract: what the server and an edge device say to each other.

Both sides import this module and nothing else of each other, so a change here is a change
of protocol (bump `PROTOCOL`).

Channels
--------
HTTP (device -> server, `Authorization: Bearer <device secret>`): enrol with the one-time
token, fetch a snapshot, upload best shots. MQTT (QoS 1, per-device topics, see `Topics`):

======================  ===============  =========================================
topic                   direction        payload
======================  ===============  =========================================
``.../sync``            server -> device signed `delta` envelopes, in version order
``.../head``            server -> device signed `head` (retained): the newest version
``.../cmd``             server -> device signed `command` envelopes
``.../acks``            server -> device `EventAck`: event ids stored
``.../events``          device -> server `EventBatch`
``.../status``          device -> server `DeviceStatus` (retained; last will: offline)
======================  ===============  =========================================

Versions
--------
Each device has its own chain: every delta the server sends it carries `version` (this
delta) and `prev` (the one before it, for this device). `next_step` is the whole rule:
apply when `prev` is the device's version, ignore what it already has (QoS 1 redelivers),
and anything else is a gap (a lost delta, a restored server backup) that only a snapshot
mends. Within a delta, revocations come first (`Delta.ordered`), and a device applies the
revocations of a delta even when the delta itself is a gap: removing a resident is always
safe, so a missed message can delay an enrolment but never a removal. The retained head
says where the server's chain is: a head ahead of the device (a lost delta) or behind it (a
server restored from a backup, whose later deltas would all look like duplicates) makes the
device fetch a snapshot; a head at its version confirms it is in sync.

Signatures
----------
Everything that changes what a device decides (deltas, snapshots, heads, commands) is an
`Envelope` signed by the server's Ed25519 key over its canonical JSON (`canonical`). The
device learns the public key when it enrols and refuses anything unsigned, signed by another
key, meant for another device, or stale: a delta it already has (`next_step`), a snapshot
not carrying the nonce the device asked with, a command past its `expires_at` or seen
before.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import time
from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from facegate.errors import FaceGateError
from facegate.runtime.access import AccessConfig, AccessRule
from facegate.runtime.config import RuntimeConfig
from facegate.runtime.decision import DecisionConfig
from facegate.runtime.liveness.config import LivenessConfig
from facegate.runtime.quality import QualityConfig
from facegate.runtime.sources.config import SourceConfig

PROTOCOL = 1

#: Events per MQTT message up; the server acks a batch at once.
MAX_BATCH = 100


class ProtocolError(FaceGateError):
    """A message that must not be acted on. `code` says why, for the device's log."""

    code = "fleet_protocol"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- topics ------------------------------------------------------------------------------------


class Topics:
    """The topics of one device (or, with `device="+"`, the server's wildcard subscriptions)."""

    def __init__(self, prefix: str, device: int | str) -> None:
        base = f"{prefix.rstrip('/')}/devices/{device}"
        self.sync = f"{base}/sync"
        self.head = f"{base}/head"
        self.cmd = f"{base}/cmd"
        self.acks = f"{base}/acks"
        self.events = f"{base}/events"
        self.status = f"{base}/status"
        self.base = base

    @staticmethod
    def device_of(topic: str) -> int | None:
        """The device id in `<prefix>/devices/<id>/<leaf>`, or None."""
        parts = topic.split("/")
        try:
            return int(parts[parts.index("devices") + 1])
        except (ValueError, IndexError):
            return None


# -- records: what a device keeps --------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateRecord(_Record):
    """One face template, as the device's gallery stores it (float32, little-endian)."""

    model: str
    model_version: str
    dim: int = Field(gt=0)
    embedding: str = Field(description="base64 of `dim` little-endian float32")

    @classmethod
    def from_vector(cls, model: str, model_version: str, v: np.ndarray) -> TemplateRecord:
        v = np.asarray(v, dtype="<f4").ravel()
        return cls(
            model=model,
            model_version=model_version,
            dim=v.size,
            embedding=base64.b64encode(v.tobytes()).decode("ascii"),
        )

    def vector(self) -> np.ndarray:
        try:
            raw = base64.b64decode(self.embedding, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("malformed", "a template is not base64") from None
        if len(raw) != 4 * self.dim:
            raise ProtocolError("malformed", f"a template has {len(raw)} bytes, not {self.dim}x4")
        v = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if not np.all(np.isfinite(v)):
            raise ProtocolError("malformed", "a template holds NaN or infinity")
        return v


class ResidentRecord(_Record):
    """A resident allowed at one of the device's entrances: templates, never photos.

    `rev` is the server's change number of this resident; a device keeps the highest it has
    applied per resident and ignores an older record, so redelivery never resurrects."""

    id: int
    name: str
    active: bool = True
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    rev: int = Field(ge=0)
    templates: list[TemplateRecord] = Field(default_factory=list)


class RuleSet(_Record):
    """The access rules that concern the device's entrances, by name (as `facegate run`
    reads them from YAML), with the server's use counts of guest passes."""

    timezone: str | None = None
    default_allow: bool = True
    rules: list[AccessRule] = Field(default_factory=list)
    rule_ids: list[int] = Field(default_factory=list, description="server ids, rule by rule")
    uses: list[int] = Field(default_factory=list, description="uses so far, rule by rule")

    def access_config(self) -> AccessConfig:
        return AccessConfig(
            rules=self.rules, default_allow=self.default_allow, timezone=self.timezone
        )


class EntranceRecord(_Record):
    """An entrance's settings, the same fields as the server's entrance row."""

    id: int
    name: str
    enabled: bool = True
    source: dict[str, Any] | None = None
    door: dict[str, Any]
    decision: dict[str, Any] = Field(default_factory=dict)
    quality: dict[str, Any] = Field(default_factory=dict)
    liveness: dict[str, Any] = Field(default_factory=dict)

    def runtime_config(self, base: RuntimeConfig) -> RuntimeConfig:
        """The entrance's `RuntimeConfig`: `base` (the device's own file) with this entrance's
        name, source, door, decision, quality and liveness, as the server builds its own."""
        return RuntimeConfig.model_validate(
            {
                **base.model_dump(
                    exclude={"source", "door", "decision", "quality", "liveness", "entrance"}
                ),
                "entrance": self.name,
                "source": SourceConfig.model_validate(self.source) if self.source else None,
                "door": self.door,
                "decision": DecisionConfig.model_validate(self.decision),
                "quality": QualityConfig.model_validate(self.quality),
                "liveness": LivenessConfig.model_validate(self.liveness or {}),
            }
        )


# -- delta operations --------------------------------------------------------------------------


class RemoveResident(_Record):
    op: Literal["remove_resident"] = "remove_resident"
    id: int
    rev: int = Field(ge=0)


class UpsertResident(_Record):
    op: Literal["upsert_resident"] = "upsert_resident"
    resident: ResidentRecord


class ReplaceRules(_Record):
    op: Literal["rules"] = "rules"
    rules: RuleSet


class UpsertEntrance(_Record):
    op: Literal["entrance"] = "entrance"
    entrance: EntranceRecord


class RemoveEntrance(_Record):
    op: Literal["remove_entrance"] = "remove_entrance"
    id: int


Op = Annotated[
    RemoveResident | UpsertResident | ReplaceRules | UpsertEntrance | RemoveEntrance,
    Field(discriminator="op"),
]
REVOCATIONS = (RemoveResident, RemoveEntrance)


class Delta(_Record):
    ops: list[Op] = Field(default_factory=list)

    def ordered(self) -> list[Op]:
        """Revocations first, then the rest in the server's order."""
        first = [o for o in self.ops if isinstance(o, REVOCATIONS)]
        return first + [o for o in self.ops if not isinstance(o, REVOCATIONS)]

    def revocations(self) -> list[Op]:
        return [o for o in self.ops if isinstance(o, REVOCATIONS)]


class Snapshot(_Record):
    """Everything a device holds, replacing what it had; `nonce` is the one it asked with."""

    nonce: str = Field(min_length=16, max_length=128)
    residents: list[ResidentRecord] = Field(default_factory=list)
    rules: RuleSet = Field(default_factory=RuleSet)
    entrances: list[EntranceRecord] = Field(default_factory=list)


class Command(_Record):
    """An order from the server: open a door (audited there, with its reason), reload the
    synced data, or restart an entrance."""

    id: str = Field(min_length=8, max_length=64)
    action: Literal["open", "reload", "restart_entrance"]
    entrance: str | None = None
    reason: str = ""
    by: str = ""
    expires_at: float


# -- device -> server --------------------------------------------------------------------------


class EventRecord(BaseModel):
    """One door event from a device. `id` is made on the device (uuid4 hex) and is what
    makes the server store it exactly once, however often it is sent."""

    model_config = ConfigDict(extra="ignore")  # a newer device may say more

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    entrance: str
    time: float
    decision: str
    person: str | None = None
    person_id: int | None = None
    reason: str = ""
    track: int | None = None
    scores: dict[str, Any] = Field(default_factory=dict)
    liveness: dict[str, Any] = Field(default_factory=dict)
    door: dict[str, Any] | None = None
    snapshot: bool = Field(False, description="a best shot follows over HTTP")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    protocol: int = PROTOCOL
    device: int
    events: list[EventRecord] = Field(max_length=MAX_BATCH)


class EventAck(BaseModel):
    model_config = ConfigDict(extra="ignore")

    protocol: int = PROTOCOL
    ids: list[str]


class EntranceState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    state: str
    since: float | None = None
    detail: str = ""


class DeviceStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")

    protocol: int = PROTOCOL
    device: int
    online: bool
    time: float = Field(default_factory=time.time)
    gallery_version: int | None = None
    software: str = ""
    last_sync: float | None = None
    outbox: int | None = Field(None, description="events waiting to go up")
    outbox_dropped: int | None = Field(
        None, description="events and best shots dropped unsent so far (outbox budget)"
    )
    entrances: dict[str, EntranceState] = Field(default_factory=dict)
    rule_uses: dict[int, int] = Field(
        default_factory=dict,
        description="server rule id -> opens this device has granted by it since it began"
        " (the server adds them up, so a guest pass's uses count across the fleet)",
    )


# -- envelopes and signatures ------------------------------------------------------------------


class Kind(enum.StrEnum):
    DELTA = "delta"
    HEAD = "head"
    SNAPSHOT = "snapshot"
    COMMAND = "command"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: int = PROTOCOL
    kind: Kind
    device: int
    version: int | None = Field(None, ge=0, description="delta/head/snapshot: the chain")
    prev: int | None = Field(None, ge=0, description="delta: the version before this one")
    issued_at: float
    body: dict[str, Any] = Field(default_factory=dict)
    key: str = Field("", description="id of the signing key")
    sig: str = ""


def canonical(obj: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8, no NaN; `sig` left out."""
    unsigned = {k: v for k, v in obj.items() if k != "sig"}
    return json.dumps(
        unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise ProtocolError(
            "bad_key", "the server's public key is not a base64 Ed25519 key"
        ) from None


def key_id(key: Ed25519PublicKey) -> str:
    return public_key_text(key)[:16]


class Signer:
    """The server's side: seals envelopes with its Ed25519 key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def seal(
        self,
        kind: Kind,
        device: int,
        body: BaseModel | dict[str, Any] | None = None,
        *,
        version: int | None = None,
        prev: int | None = None,
        now: float | None = None,
    ) -> bytes:
        content = body.model_dump(mode="json") if isinstance(body, BaseModel) else (body or {})
        env = Envelope(
            kind=kind,
            device=device,
            version=version,
            prev=prev,
            issued_at=time.time() if now is None else now,
            body=content,
            key=self.key_id,
        ).model_dump(mode="json")
        env["sig"] = base64.b64encode(self._private.sign(canonical(env))).decode("ascii")
        return json.dumps(env, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Verifier:
    """The device's side: opens an envelope only if the server signed it for this device."""

    def __init__(self, public: Ed25519PublicKey, device: int) -> None:
        self._public = public
        self.key_id = key_id(public)
        self.device = device

    def open(self, payload: bytes | str, kind: Kind) -> Envelope:
        try:
            raw = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError("malformed", f"a {kind} message is not JSON") from None
        if not isinstance(raw, dict) or not raw.get("sig"):
            raise ProtocolError("unsigned", f"an unsigned {kind} message was refused")
        try:
            sig = base64.b64decode(raw["sig"], validate=True)
            self._public.verify(sig, canonical(raw))
        except (binascii.Error, ValueError, TypeError, InvalidSignature):
            raise ProtocolError(
                "bad_signature", f"a {kind} message with a bad signature was refused"
            ) from None
        try:
            env = Envelope.model_validate(raw)
        except ValidationError:
            raise ProtocolError("malformed", f"a signed {kind} message is malformed") from None
        if env.protocol != PROTOCOL:
            raise ProtocolError("protocol", f"protocol {env.protocol}, this device speaks 1")
        if env.kind != kind:
            raise ProtocolError("wrong_kind", f"expected a {kind} message, got {env.kind}")
        if env.device != self.device:
            raise ProtocolError("wrong_device", f"a message for device {env.device} was refused")
        return env


# -- the version rule --------------------------------------------------------------------------


class Step(enum.Enum):
    APPLY = "apply"
    DUPLICATE = "duplicate"  # already applied (QoS 1 redelivery): ignore
    GAP = "gap"  # something is missing or the server's chain changed: take a snapshot


def next_step(local: int, prev: int | None, version: int | None) -> Step:
    """What a device at version `local` does with a delta `prev -> version`."""
    if version is None or prev is None or version <= prev:
        raise ProtocolError("malformed", "a delta without a forward version")
    if version <= local:
        return Step.DUPLICATE
    if prev == local:
        return Step.APPLY
    return Step.GAP


def check_command(cmd: Command, seen: set[str], now: float | None = None) -> None:
    """Refuse a command that expired or was already carried out (a replay)."""
    now = time.time() if now is None else now
    if cmd.id in seen:
        raise ProtocolError("replayed", f"command {cmd.id} was already carried out")
    if now > cmd.expires_at:
        raise ProtocolError(
            "stale",
            f"command {cmd.id} expired {now - cmd.expires_at:.0f} s ago (device clock?)",
        )
