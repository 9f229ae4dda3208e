"""Open a door by publishing to an MQTT broker (Home Assistant, Zigbee2MQTT, Tasmota relays).

Two rules keep a stale command from opening the door later: messages are never retained, and
a client whose publish was not acknowledged is thrown away (with paho's own reconnect off), so
a queued "open" cannot be delivered minutes later when the broker comes back.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from facegate.masking import Destination, Secret
from facegate.runtime.doors.base import (
    DoorConfigBase,
    DoorError,
    check_template,
    render_template,
    template_values,
)
from facegate.schema import no_control_chars

if TYPE_CHECKING:
    from paho.mqtt.client import Client

log = logging.getLogger(__name__)


def _default_payload() -> dict[str, Any]:
    return {"entrance": "{entrance}", "reason": "{reason}", "pulse_s": "{pulse_s}"}


class MqttDoorConfig(DoorConfigBase):
    kind: Literal["mqtt"]
    host: Annotated[str, Destination()] = "127.0.0.1"
    port: Annotated[int, Destination()] = Field(1883, ge=1, le=65535)
    topic: str = Field("facegate/{entrance}/open", description="placeholders allowed")
    payload: Annotated[dict[str, Any], Secret("mapping")] = Field(
        default_factory=_default_payload, description="JSON payload template"
    )
    qos: Literal[0, 1, 2] = 1
    username: str | None = None
    password: Annotated[str | None, Secret("value")] = Field(
        None, description="write-only: read back as *** once set"
    )
    timeout_s: float = Field(2.0, gt=0, le=60, description="connect and PUBACK wait, each")
    keepalive_s: int = Field(30, ge=5, le=3600)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        return no_control_chars(v, "the broker host")

    @field_validator("topic")
    @classmethod
    def _topic(cls, v: str) -> str:
        if not v or "+" in v or "#" in v:
            raise ValueError(f"topic must be non-empty and contain no wildcards, got {v!r}")
        check_template(v, "topic")
        return v

    @field_validator("payload")
    @classmethod
    def _payload(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_template(v, "payload")
        return v


class MqttDoor:
    """Publishes one message per open. Connects on the first open, and again on the open
    after any failure, so a broker that was down at start-up does not need a restart."""

    def __init__(self, cfg: MqttDoorConfig, name: str) -> None:
        self.cfg = cfg
        self.name = name
        self._client: Client | None = None
        self._where = f"MQTT broker {cfg.host}:{cfg.port}"

    def _connect(self) -> Client:
        try:
            from paho.mqtt.client import CallbackAPIVersion, Client
        except ImportError:
            raise DoorError(
                "door kind 'mqtt' needs the paho-mqtt package: pip install 'paho-mqtt>=2'"
            ) from None
        cfg = self.cfg
        connected = threading.Event()
        refused: list[str] = []

        def on_connect(client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            if rc.is_failure:
                refused.append(str(rc))
            connected.set()

        client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"facegate-{self.name}-{os.getpid()}-{secrets.token_hex(3)}",
            reconnect_on_failure=False,
        )
        client.connect_timeout = cfg.timeout_s
        client.on_connect = on_connect
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        try:
            client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        except OSError as exc:
            raise DoorError(f"{self._where} unreachable: {exc}") from None
        client.loop_start()
        if not connected.wait(cfg.timeout_s) or refused:
            _shutdown(client)
            why = f"refused the connection: {refused[0]}" if refused else "did not answer CONNECT"
            raise DoorError(f"{self._where} {why}")
        return client

    def open(self, pulse_s: float, reason: str) -> None:
        cfg = self.cfg
        if self._client is not None and not self._client.is_connected():
            self._drop()
        if self._client is None:
            self._client = self._connect()
        values = template_values(self.name, reason, pulse_s)
        topic = render_template(cfg.topic, values)
        payload = json.dumps(render_template(cfg.payload, values))
        try:
            info = self._client.publish(topic, payload, qos=cfg.qos, retain=False)
            info.wait_for_publish(cfg.timeout_s)
        except (RuntimeError, ValueError) as exc:
            self._drop()
            raise DoorError(f"{self._where}: publish to {topic} failed: {exc}") from None
        if not info.is_published():
            self._drop()
            raise DoorError(
                f"{self._where}: no acknowledgement for {topic} within {cfg.timeout_s:g} s"
            )

    def _drop(self) -> None:
        if self._client is not None:
            _shutdown(self._client)
            self._client = None

    def close(self) -> None:
        self._drop()


def _shutdown(client: Client) -> None:
    """Disconnect and stop paho's network thread; never raises, it runs on error paths."""
    try:
        client.disconnect()
    except Exception:  # best effort: the client may already be dead
        log.debug("MQTT disconnect failed", exc_info=True)
    client.loop_stop()
