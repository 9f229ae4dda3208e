"""Fleet fixtures: a Mosquitto of the test's own on a free loopback port (so a test may
stop and restart it), optionally with the dynamic security plugin; and a device-side MQTT
client that records what the server sends it."""

from __future__ import annotations

import getpass
import json
import queue
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
DYNSEC_PLUGINS = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)
ADMIN, ADMIN_PASSWORD = "fg-admin", "fg-admin-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dynsec_plugin() -> str | None:
    return next((p for p in DYNSEC_PLUGINS if Path(p).is_file()), None)


class Mosquitto:
    """`mosquitto` on 127.0.0.1:`port`, started and stopped by the test."""

    def __init__(self, workdir: Path, dynsec: bool = False) -> None:
        self.port = free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        # started as root, mosquitto would switch to the `mosquitto` user, who cannot read
        # the test's private temp dir: stay who we are
        conf = [f"listener {self.port} 127.0.0.1", "persistence false", f"user {getpass.getuser()}"]
        if dynsec:
            plugin = dynsec_plugin()
            assert plugin is not None
            store = self.dir / "dynsec.json"
            subprocess.run(
                ["mosquitto_ctrl", "dynsec", "init", str(store), ADMIN, ADMIN_PASSWORD],
                check=True,
                capture_output=True,
            )
            self._grant_admin_the_fleet(store)
            conf += [f"plugin {plugin}", f"plugin_opt_config_file {store}"]
        else:
            conf.append("allow_anonymous true")
        (self.dir / "mosquitto.conf").write_text("\n".join(conf) + "\n")
        self.proc: subprocess.Popen | None = None
        self.start()

    @staticmethod
    def _grant_admin_the_fleet(store: Path) -> None:
        """The server's login also needs the fleet's topics (docs/fleet.md says so)."""
        data = json.loads(store.read_text())
        data.setdefault("roles", []).append(
            {
                "rolename": "facegate-server",
                "acls": [
                    {"acltype": t, "topic": "facegate/#", "priority": 0, "allow": True}
                    for t in ("publishClientSend", "publishClientReceive", "subscribePattern")
                ],
            }
        )
        for c in data["clients"]:
            if c["username"] == ADMIN:
                c.setdefault("roles", []).append({"rolename": "facegate-server"})
        store.write_text(json.dumps(data))

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.dir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.dir / "mosquitto.conf")], stdout=log, stderr=log
        )
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not Path(MOSQUITTO).is_file():
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    m = Mosquitto(tmp_path / "broker")
    yield m
    m.stop()


@pytest.fixture
def dynsec_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not Path(MOSQUITTO).is_file():
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    if dynsec_plugin() is None or not shutil.which("mosquitto_ctrl"):
        pytest.skip("Mosquitto's dynamic security plugin (mosquitto_dynamic_security.so) is absent")
    m = Mosquitto(tmp_path / "dynsec-broker", dynsec=True)
    yield m
    m.stop()


class DeviceClient:
    """What an edge device's MQTT side sees: every message, by topic leaf."""

    def __init__(
        self,
        port: int,
        device_id: int,
        prefix: str = "facegate/v1",
        username: str | None = None,
        password: str | None = None,
        will: bytes | None = None,
    ) -> None:
        self.base = f"{prefix}/devices/{device_id}"
        self.got: dict[str, queue.Queue[bytes]] = {
            k: queue.Queue() for k in ("sync", "head", "cmd", "acks")
        }
        self.granted: list[int] = []
        self.connected = queue.Queue()
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"facegate-device-{device_id}",
            protocol=mqtt.MQTTv5,
        )
        if username:
            c.username_pw_set(username, password)
        if will is not None:
            c.will_set(f"{self.base}/status", will, qos=1, retain=True)
        c.on_connect = lambda cl, u, f, rc, p: self.connected.put(rc)
        c.on_message = self._on_message
        c.on_subscribe = lambda cl, u, mid, codes, p: self.granted.extend(
            int(getattr(x, "value", x)) for x in codes
        )
        self.client = c
        c.connect("127.0.0.1", port, keepalive=5)
        c.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        leaf = msg.topic.rsplit("/", 1)[-1]
        if leaf in self.got:
            self.got[leaf].put(msg.payload)

    def wait_connected(self, timeout: float = 5) -> int:
        rc = self.connected.get(timeout=timeout)
        return int(getattr(rc, "value", rc))

    def subscribe(self, *leaves: str, base: str | None = None) -> None:
        for leaf in leaves:
            self.client.subscribe(f"{base or self.base}/{leaf}", qos=1)

    def publish(self, leaf: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(f"{self.base}/{leaf}", payload, qos=1, retain=retain).wait_for_publish(
            5
        )

    def next(self, leaf: str, timeout: float = 10) -> bytes:
        return self.got[leaf].get(timeout=timeout)

    def close(self, clean: bool = True) -> None:
        """`clean=False`: go as a crashed device would, the broker sending the last will
        (MQTT 5 reason code 4, "disconnect with will message")."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.reasoncodes import ReasonCode

        rc = None if clean else ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
        self.client.disconnect(reasoncode=rc)
        self.client.loop_stop()
