"""The `fleet:` section: where the broker is, and the edge agent's budgets.

One section for both sides, because both must agree on the broker and topic prefix. The
server reads `mqtt_url` (or `$FACEGATE_MQTT_URL`); a device is told the broker by the server
when it enrols and keeps it in its credentials, so it needs nothing else.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from facegate.schema import StrictModel, no_control_chars


def mqtt_url_from_env() -> str | None:
    return os.environ.get("FACEGATE_MQTT_URL") or None


class BrokerAuth(StrictModel):
    """How the server gives each device its own broker login and topic access.

    `none`: the broker takes anonymous clients (a lab, or a broker on loopback); topic privacy
    then rests on the network. `dynsec`: Mosquitto's dynamic security plugin, driven by the
    server with the admin login below (one client and one role per device)."""

    mode: str = Field("none", pattern="^(none|dynsec)$")
    admin_username: str | None = Field(None, description="dynsec: the broker's admin login")
    admin_password: str | None = Field(None, description="dynsec: its password (write-only)")


class EdgeBudget(StrictModel):
    """What an edge device may hold back while the server or broker is away."""

    outbox_max_age_s: float = Field(
        7 * 86400.0, gt=0, description="events older than this are dropped (and journalled)"
    )
    outbox_max_mb: float = Field(
        200.0, gt=0, description="disk the outbox (events and best shots) may use"
    )
    flush_on_exit_s: float = Field(
        10.0, ge=0, description="on exit, try this long to send what the outbox holds"
    )
    max_offline_s: float | None = Field(
        None,
        gt=0,
        description="refuse to open after this long without a sync (default: keep opening "
        "from the last synced data, for as long as the server is away)",
    )


class FleetConfig(StrictModel):
    mqtt_url: str | None = Field(
        default_factory=mqtt_url_from_env,
        description="mqtt://host:1883 or mqtts://host:8883 ($FACEGATE_MQTT_URL); unset: no "
        "fleet, entrances run in the server process only",
    )
    topic_prefix: str = Field("facegate/v1", min_length=1, pattern=r"^[A-Za-z0-9_\-/]+$")
    device_mqtt_url: str | None = Field(
        None,
        description="the broker URL devices are told when they enrol, when they reach it by "
        "another name than the server does (default: mqtt_url without its login)",
    )
    tls_ca_file: str | None = Field(
        None,
        description="mqtts://: the CA that signed the broker's certificate (default: the system's)",
    )
    broker_auth: BrokerAuth = Field(default_factory=BrokerAuth)
    edge: EdgeBudget = Field(default_factory=EdgeBudget)
    command_ttl_s: float = Field(
        60.0, gt=0, description="a command (open the door) older than this is refused"
    )

    @field_validator("mqtt_url", "device_mqtt_url")
    @classmethod
    def _mqtt(cls, v: str | None) -> str | None:
        if v is None:
            return None
        no_control_chars(v, "fleet.mqtt_url")
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("fleet.mqtt_url must look like mqtt://host:1883 or mqtts://host:8883")
        return v
