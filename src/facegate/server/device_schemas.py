"""Request and response models of the fleet's REST routes (`api.devices`): devices as an
administrator sees them, and what a device sends and gets when it enrols. The wire
formats of sync itself (snapshots, deltas, events) are `fleet.protocol`'s."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from facegate.server.schemas import DB_INT, NAME_PATTERN, In, Out


class DeviceIn(In):
    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    entrances: list[int] = Field(
        min_length=1, max_length=64, description="ids of the entrances the device runs"
    )

    @field_validator("entrances")
    @classmethod
    def _ids(cls, v: list[int]) -> list[int]:
        if any(i < 1 or i > DB_INT for i in v):
            raise ValueError("entrance ids are positive integers")
        return sorted(set(v))


class DeviceCreated(Out):
    """The answer to a create: the enrolment token is shown only this once."""

    id: int
    name: str
    entrances: list[int]
    token: str = Field(description="one-time enrolment token for `facegate edge --token`")
    token_expires_at: datetime


class DeviceOut(Out):
    id: int
    name: str
    entrances: list[int]
    enrolled: bool
    revoked: bool
    online: bool
    last_seen: datetime | None
    gallery_version: int | None = Field(description="the version the device says it holds")
    server_version: int = Field(description="the newest version the server made for it")
    behind: int | None = Field(
        description="server_version - gallery_version: deltas the device has yet to apply"
    )
    software: str
    hostname: str
    entrance_states: dict[str, Any]
    outbox: int | None = Field(description="events waiting on the device to go up")
    created_at: datetime


class CommandIn(In):
    action: Literal["open", "reload", "restart_entrance"]
    entrance: str | None = Field(None, max_length=128)
    reason: str = Field("", max_length=500)


class CommandOut(Out):
    id: str


class EnrolIn(In):
    token: str = Field(min_length=8, max_length=200)
    software: str = Field("", max_length=128)
    hostname: str = Field("", max_length=255)


class MqttLogin(Out):
    url: str | None
    username: str | None
    password: str | None
    topic_prefix: str


class EnrolOut(Out):
    device_id: int
    name: str
    secret: str = Field(description="the device's bearer secret from now on; shown once")
    public_key: str = Field(description="base64 Ed25519 key that signs what the server sends")
    key_id: str
    mqtt: MqttLogin
    server_time: float
