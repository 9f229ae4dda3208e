"""Per-device broker logins through Mosquitto's dynamic security plugin.

The server sends plugin commands on `$CONTROL/dynamic-security/v1` (as `mosquitto_ctrl
dynsec` does) with its admin login and reads the answers on `.../response`. Each device
gets a client `facegate-device-<id>` with a random password and a role of the same name
whose ACLs allow exactly its own topics: subscribe to `sync`, `head`, `cmd`, `acks`;
publish to `events` and `status` (its last will too). A revoke deletes both; Mosquitto
disconnects a deleted client at once.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from facegate.fleet.protocol import Topics
from facegate.server.errors import BrokerUnavailable
from facegate.server.fleet.broker import Broker

log = logging.getLogger("facegate.server.fleet")

CONTROL = "$CONTROL/dynamic-security/v1"


def login_name(device_id: int) -> str:
    return f"facegate-device-{device_id}"


def device_acls(prefix: str, device_id: int) -> list[dict[str, Any]]:
    t = Topics(prefix, device_id)
    acls = [
        {"acltype": "subscribeLiteral", "topic": topic, "priority": 0, "allow": True}
        for topic in (t.sync, t.head, t.cmd, t.acks)
    ]
    acls += [
        {"acltype": "publishClientSend", "topic": topic, "priority": 0, "allow": True}
        for topic in (t.events, t.status)
    ]
    return acls


def create_commands(prefix: str, device_id: int, password: str) -> list[dict[str, Any]]:
    name = login_name(device_id)
    return [
        {"command": "deleteClient", "username": name},  # a leftover of an earlier try
        {"command": "deleteRole", "rolename": name},
        {"command": "createRole", "rolename": name, "acls": device_acls(prefix, device_id)},
        {
            "command": "createClient",
            "username": name,
            "password": password,
            "clientid": name,
            "roles": [{"rolename": name, "priority": 0}],
        },
    ]


def delete_commands(device_id: int) -> list[dict[str, Any]]:
    name = login_name(device_id)
    return [
        {"command": "deleteClient", "username": name},
        {"command": "deleteRole", "rolename": name},
    ]


@dataclass
class _Pending:
    expected: int
    answers: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


class DynSec:
    """Request/response over the plugin's control topic, one request at a time."""

    def __init__(self, broker: Broker, prefix: str, timeout_s: float = 5.0) -> None:
        self.broker = broker
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._waiting: dict[str, _Pending] = {}
        broker.subscribe(f"{CONTROL}/response", self._on_response)

    def _on_response(self, msg: mqtt.MQTTMessage) -> None:
        self.broker.ack(msg)
        try:
            answers = json.loads(msg.payload).get("responses", [])
        except (ValueError, AttributeError):
            return
        for a in answers:
            slot = self._waiting.get(str(a.get("correlationData", "")))
            if slot is not None:
                slot.answers.append(a)
                if len(slot.answers) >= slot.expected:
                    slot.done.set()

    def run(self, commands: list[dict[str, Any]], tolerate: set[str]) -> None:
        """Send `commands`; wait for every answer. An error is raised unless the command is
        in `tolerate` (deleting what is not there is fine)."""
        ident = uuid.uuid4().hex
        for c in commands:
            c["correlationData"] = ident
        slot = _Pending(len(commands))
        with self._lock:
            self._waiting[ident] = slot
            try:
                ok = self.broker.publish(
                    [(CONTROL, json.dumps({"commands": commands}).encode(), False)],
                    timeout=self.timeout_s,
                )
                if not ok or not slot.done.wait(self.timeout_s):
                    raise BrokerUnavailable(
                        "the MQTT broker did not answer the dynamic security request; try again",
                        retry_after=5,
                    )
            finally:
                self._waiting.pop(ident, None)
        for a in slot.answers:
            if a.get("error") and a.get("command") not in tolerate:
                raise BrokerUnavailable(
                    f"the broker refused {a.get('command')}: {a.get('error')}", retry_after=5
                )

    def add_device(self, device_id: int) -> tuple[str, str]:
        password = secrets.token_urlsafe(24)
        self.run(create_commands(self.prefix, device_id, password), {"deleteClient", "deleteRole"})
        return login_name(device_id), password

    def remove_device(self, device_id: int) -> None:
        self.run(delete_commands(device_id), {"deleteClient", "deleteRole"})
