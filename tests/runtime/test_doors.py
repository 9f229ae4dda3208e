"""Door adapters against real servers where one can run here (HTTP, Mosquitto, a pty standing
in for a USB relay), and with injected fakes where only hardware would do (GPIO)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import types
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from facegate.runtime.doors import (
    DoorActuator,
    DoorConfig,
    DoorError,
    GpioDoor,
    GpioDoorConfig,
    LogDoor,
    LogDoorConfig,
    MqttDoor,
    MqttDoorConfig,
    SerialDoor,
    SerialDoorConfig,
    WebhookDoor,
    WebhookDoorConfig,
    build_door,
)
from facegate.runtime.events import Decision, DoorEvent

DOOR_CONFIG: TypeAdapter[Any] = TypeAdapter(DoorConfig)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --- config ---------------------------------------------------------------------------------


def test_config_union_picks_adapter_by_kind() -> None:
    cfgs = [
        {"kind": "log"},
        {"kind": "webhook", "url": "http://relay.local/open"},
        {"kind": "mqtt", "topic": "lock/{entrance}/set"},
        {"kind": "gpio", "line": 17, "active_low": True},
        {"kind": "serial", "port": "/dev/ttyUSB0"},
    ]
    doors = [build_door(DOOR_CONFIG.validate_python(c), "main") for c in cfgs]
    assert [type(d) for d in doors] == [LogDoor, WebhookDoor, MqttDoor, GpioDoor, SerialDoor]
    assert all(d.name == "main" for d in doors)
    assert DOOR_CONFIG.validate_python({"kind": "log"}).pulse_s == 3.0


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"kind": "relay"}, "kind"),
        ({"kind": "log", "pulse_s": 0.05}, "pulse_s"),
        ({"kind": "log", "pulse_s": 31}, "pulse_s"),
        ({"kind": "log", "colour": "red"}, "colour"),
        ({"kind": "webhook", "url": "file:///etc/passwd"}, "http:// or https://"),
        ({"kind": "webhook", "url": "http://x", "body": {"who": "{person}"}}, "{person}"),
        ({"kind": "mqtt", "topic": "locks/#"}, "wildcards"),
        ({"kind": "serial", "port": "/dev/ttyUSB0", "on_bytes": "A0 0Z"}, "not a hex"),
    ],
)
def test_config_rejects(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        DOOR_CONFIG.validate_python(cfg)


# --- log ------------------------------------------------------------------------------------


def test_log_door_logs(caplog: pytest.LogCaptureFixture) -> None:
    door = LogDoor(LogDoorConfig(), "main-door")
    with caplog.at_level(logging.INFO, logger="facegate.runtime.doors"):
        door.open(3.0, "Ann recognised")
    assert "door main-door opened for 3 s: Ann recognised" in caplog.messages
    door.close()


# --- webhook --------------------------------------------------------------------------------


class _Hook:
    """A real HTTP server on a random local port that records requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.delay_s = 0.0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hook.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                time.sleep(hook.delay_s)
                body = b"relay offline" if hook.status >= 400 else b"ok"
                self.send_response(hook.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[_Hook]:
    h = _Hook()
    yield h
    h.stop()


def test_webhook_posts_json(hook: _Hook) -> None:
    cfg = WebhookDoorConfig(
        kind="webhook", url=hook.url + "/open", headers={"Authorization": "Bearer s3cret"}
    )
    WebhookDoor(cfg, "main-door").open(3.0, "Ann recognised")
    (req,) = hook.requests
    assert req["method"] == "POST"
    assert req["path"] == "/open"
    assert req["headers"]["Authorization"] == "Bearer s3cret"
    assert req["headers"]["Content-Type"] == "application/json"
    assert json.loads(req["body"]) == {
        "entrance": "main-door",
        "reason": "Ann recognised",
        "pulse_s": 3.0,
    }


def test_webhook_get_fills_url_placeholders(hook: _Hook) -> None:
    cfg = WebhookDoorConfig(
        kind="webhook", url=hook.url + "/relay/0?turn=on&timer={pulse_s}&why={reason}", method="GET"
    )
    WebhookDoor(cfg, "gate").open(1.5, "Bob & co")
    (req,) = hook.requests
    assert req["method"] == "GET"
    assert req["path"] == "/relay/0?turn=on&timer=1.5&why=Bob%20%26%20co"
    assert req["body"] == b""


def test_webhook_http_500_is_door_error(hook: _Hook) -> None:
    hook.status = 500
    door = WebhookDoor(WebhookDoorConfig(kind="webhook", url=hook.url), "main-door")
    with pytest.raises(DoorError, match=r"HTTP 500 .*relay offline") as info:
        door.open(3.0, "Ann")
    assert info.value.code == "door_error"


def test_webhook_timeout_is_door_error(hook: _Hook) -> None:
    hook.delay_s = 1.0
    door = WebhookDoor(WebhookDoorConfig(kind="webhook", url=hook.url, timeout_s=0.2), "main")
    t0 = time.monotonic()
    with pytest.raises(DoorError, match="timed out"):
        door.open(3.0, "Ann")
    assert time.monotonic() - t0 < 0.9


def test_webhook_connection_refused_is_door_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/open"
    door = WebhookDoor(WebhookDoorConfig(kind="webhook", url=url), "main-door")
    with pytest.raises(DoorError, match=r"webhook for door main-door failed: .*refused"):
        door.open(3.0, "Ann")


# --- MQTT -----------------------------------------------------------------------------------


class _Subscriber:
    """A paho client subscribed to one topic, collecting payloads."""

    def __init__(self, port: int, topic: str) -> None:
        from paho.mqtt.client import CallbackAPIVersion, Client

        self.messages: list[bytes] = []
        self.got = threading.Event()
        subscribed = threading.Event()
        self.client = Client(callback_api_version=CallbackAPIVersion.VERSION2)

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            self.messages.append(msg.payload)
            self.got.set()

        self.client.on_message = on_message
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        assert subscribed.wait(3), "subscription not acknowledged"

    def wait(self, n: int, timeout: float = 3.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.messages

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mqtt_publishes_to_mosquitto() -> None:
    if not listening("127.0.0.1", 1883):
        pytest.skip("no MQTT broker on 127.0.0.1:1883 (start mosquitto to run this test)")
    entrance = f"test-{uuid.uuid4().hex[:8]}"
    sub = _Subscriber(1883, f"facegate/{entrance}/open")
    door = MqttDoor(MqttDoorConfig(kind="mqtt"), entrance)
    try:
        door.open(2.5, "Ann recognised")
        door.open(2.5, "Bob recognised")  # the same connection is reused
        payloads = sub.wait(2)
    finally:
        door.close()
        sub.stop()
    assert [json.loads(p) for p in payloads] == [
        {"entrance": entrance, "reason": "Ann recognised", "pulse_s": 2.5},
        {"entrance": entrance, "reason": "Bob recognised", "pulse_s": 2.5},
    ]


def test_mqtt_broker_down_fails_fast() -> None:
    port = free_port()
    door = MqttDoor(MqttDoorConfig(kind="mqtt", port=port), "main-door")
    t0 = time.monotonic()
    with pytest.raises(DoorError, match=rf"MQTT broker 127\.0\.0\.1:{port} unreachable: "):
        door.open(3.0, "Ann")
    assert time.monotonic() - t0 < 1.0
    door.close()


def test_mqtt_reconnects_on_the_open_after_a_failure(tmp_path: Path) -> None:
    mosquitto = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if mosquitto is None:
        pytest.skip("the mosquitto binary is not installed (apt-get install mosquitto)")
    port = free_port()
    door = MqttDoor(MqttDoorConfig(kind="mqtt", port=port, topic="t/{entrance}"), "side")
    with pytest.raises(DoorError, match="unreachable"):
        door.open(1.0, "Ann")  # broker not started yet
    conf = tmp_path / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(
        [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 5
        while not listening("127.0.0.1", port):
            assert time.monotonic() < deadline, "private mosquitto did not start"
            time.sleep(0.05)
        sub = _Subscriber(port, "t/side")
        door.open(1.0, "Ann")  # same door object, now connects
        assert [json.loads(p)["reason"] for p in sub.wait(1)] == ["Ann"]
        sub.stop()
    finally:
        door.close()
        broker.terminate()
        broker.wait(5)


# --- GPIO -----------------------------------------------------------------------------------


class FakeLine:
    """Stands in for a requested gpiod line; records every level it is driven to."""

    def __init__(self, fail_on: bool | None = None) -> None:
        self.levels: list[bool] = []
        self.released = False
        self.fail_on = fail_on

    def set_active(self, active: bool) -> None:
        if active == self.fail_on:
            raise OSError(5, "Input/output error")
        self.levels.append(active)

    def release(self) -> None:
        self.released = True


def _gpio(line: FakeLine, sleep: Any = lambda s: None) -> GpioDoor:
    cfg = GpioDoorConfig(kind="gpio", line=17)
    return GpioDoor(cfg, "main", line_factory=lambda c, consumer: line, sleep=sleep)


def test_gpio_pulses_active_then_inactive() -> None:
    line, slept = FakeLine(), []
    door = _gpio(line, sleep=slept.append)
    door.open(2.0, "Ann")
    assert line.levels == [True, False]
    assert slept == [2.0]
    door.close()
    assert line.released and line.levels[-1] is False


def test_gpio_line_returns_inactive_when_sleep_is_interrupted() -> None:
    line = FakeLine()

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _gpio(line, sleep=interrupted).open(3.0, "Ann")
    assert line.levels == [True, False]


def test_gpio_write_errors_are_door_errors_and_still_switch_off() -> None:
    line = FakeLine(fail_on=True)
    with pytest.raises(DoorError, match="cannot drive the lock"):
        _gpio(line).open(3.0, "Ann")
    assert line.levels == [False]
    with pytest.raises(DoorError, match="may still be energised"):
        _gpio(FakeLine(fail_on=False)).open(3.0, "Ann")


def test_gpio_without_hardware_says_what_is_missing() -> None:
    door = GpioDoor(GpioDoorConfig(kind="gpio", line=17, chip="/dev/gpiochip-missing"), "main")
    with pytest.raises(DoorError, match=r"pip install 'gpiod>=2'|/dev/gpiochip-missing not found"):
        door.open(3.0, "Ann")


def test_gpio_module_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gpiod", None)
    with pytest.raises(DoorError, match=r"libgpiod v2 Python bindings: pip install 'gpiod>=2'"):
        GpioDoor(GpioDoorConfig(kind="gpio", line=17), "main").open(3.0, "Ann")


def _fake_gpiod(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A module with the libgpiod v2 calls the adapter uses; returns the log of calls."""
    calls: list[Any] = []
    gpiod = types.ModuleType("gpiod")
    line_mod = types.ModuleType("gpiod.line")
    line_mod.Direction = types.SimpleNamespace(OUTPUT="output")  # type: ignore[attr-defined]
    line_mod.Value = types.SimpleNamespace(ACTIVE="active", INACTIVE="inactive")  # type: ignore[attr-defined]

    class Request:
        def set_value(self, offset: int, value: str) -> None:
            calls.append(("set", offset, value))

        def release(self) -> None:
            calls.append(("release",))

    def request_lines(chip: str, consumer: str, config: dict[int, Any]) -> Request:
        calls.append(("request", chip, consumer, config))
        return Request()

    gpiod.LineSettings = lambda **kw: kw  # type: ignore[attr-defined]
    gpiod.request_lines = request_lines  # type: ignore[attr-defined]
    gpiod.line = line_mod  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gpiod", gpiod)
    monkeypatch.setitem(sys.modules, "gpiod.line", line_mod)
    return calls


def test_gpio_chip_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_gpiod(monkeypatch)
    chip = tmp_path / "gpiochip7"
    door = GpioDoor(GpioDoorConfig(kind="gpio", line=4, chip=str(chip)), "main")
    with pytest.raises(DoorError, match=rf"GPIO chip {chip} not found: .*gpiodetect"):
        door.open(3.0, "Ann")


def test_gpio_drives_libgpiod_v2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = _fake_gpiod(monkeypatch)
    chip = tmp_path / "gpiochip0"
    chip.touch()
    cfg = GpioDoorConfig(kind="gpio", line=4, chip=str(chip), active_low=True)
    door = GpioDoor(cfg, "main", sleep=lambda s: None)
    door.open(1.0, "Ann")
    door.open(1.0, "Bob")  # the line is requested once and held
    door.close()
    settings = {"direction": "output", "output_value": "inactive", "active_low": True}
    assert calls == [
        ("request", str(chip), "facegate-main", {4: settings}),
        ("set", 4, "active"),
        ("set", 4, "inactive"),
        ("set", 4, "active"),
        ("set", 4, "inactive"),
        ("set", 4, "inactive"),
        ("release",),
    ]


# --- serial ---------------------------------------------------------------------------------


def test_serial_missing_port_is_door_error() -> None:
    door = SerialDoor(SerialDoorConfig(kind="serial", port="/dev/ttyFACEGATE-missing"), "main")
    with pytest.raises(DoorError, match="serial port /dev/ttyFACEGATE-missing cannot be opened"):
        door.open(3.0, "Ann")


def test_serial_module_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "serial", None)
    door = SerialDoor(SerialDoorConfig(kind="serial", port="/dev/ttyUSB0"), "main")
    with pytest.raises(DoorError, match=r"pip install 'pyserial>=3.5'"):
        door.open(3.0, "Ann")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_serial_sends_on_then_off_through_a_real_tty() -> None:
    pytest.importorskip("serial", reason="pyserial is not installed")
    master, slave = os.openpty()
    try:
        cfg = SerialDoorConfig(kind="serial", port=os.ttyname(slave))
        door = SerialDoor(cfg, "main")
        door.open(0.1, "Ann")
        got = b""
        deadline = time.monotonic() + 2
        while len(got) < 8 and time.monotonic() < deadline:
            got += os.read(master, 64)
        door.close()
    finally:
        os.close(master)
        os.close(slave)
    assert got == bytes.fromhex("A00101A2") + bytes.fromhex("A00100A1")


class FakePort:
    def __init__(self, fail_writes: int = 0) -> None:
        self.written: list[bytes] = []
        self.fail_writes = fail_writes
        self.closed = False

    def write(self, data: bytes) -> int:
        if self.fail_writes:
            self.fail_writes -= 1
            raise OSError(5, "Input/output error")
        self.written.append(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_serial_sends_off_even_when_interrupted() -> None:
    port = FakePort()

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    cfg = SerialDoorConfig(kind="serial", port="/dev/ttyUSB0", off_bytes="A0 01 00 A1")
    door = SerialDoor(cfg, "main", port_factory=lambda c: port, sleep=interrupted)
    with pytest.raises(KeyboardInterrupt):
        door.open(3.0, "Ann")
    assert port.written == [b"\xa0\x01\x01\xa2", b"\xa0\x01\x00\xa1"]


def test_serial_reopens_after_a_write_error() -> None:
    ports = [FakePort(fail_writes=1), FakePort()]
    opened: list[FakePort] = []

    def factory(cfg: SerialDoorConfig) -> FakePort:
        opened.append(ports[len(opened)])
        return opened[-1]

    door = SerialDoor(
        SerialDoorConfig(kind="serial", port="/dev/ttyUSB0"),
        "main",
        port_factory=factory,
        sleep=lambda s: None,
    )
    with pytest.raises(DoorError, match="serial relay on /dev/ttyUSB0 failed"):
        door.open(1.0, "Ann")
    assert ports[0].written == [bytes.fromhex("A00100A1")]  # "on" failed, "off" still sent
    assert ports[0].closed
    door.open(1.0, "Ann")
    assert ports[1].written == [bytes.fromhex("A00101A2"), bytes.fromhex("A00100A1")]


# --- actuator -------------------------------------------------------------------------------


class RecordingDoor:
    """A door whose open takes `delay_s`, optionally fails, and can be held until released."""

    def __init__(self, delay_s: float = 0.0, fail_times: int = 0, exc: type = DoorError) -> None:
        self.name = "main"
        self.delay_s = delay_s
        self.fail_times = fail_times
        self.exc = exc
        self.opens: list[tuple[float, str]] = []
        self.closed = False
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def open(self, pulse_s: float, reason: str) -> None:
        self.started.set()
        self.gate.wait(5)
        time.sleep(self.delay_s)
        if self.fail_times:
            self.fail_times -= 1
            raise self.exc("relay board not responding")
        self.opens.append((pulse_s, reason))

    def close(self) -> None:
        self.closed = True


def event(reason: str = "Ann recognised", person: str | None = "Ann") -> DoorEvent:
    return DoorEvent(Decision.OPEN, "main", reason, track=7, person=person, person_id=1)


def test_request_open_does_not_block_the_caller() -> None:
    door = RecordingDoor(delay_s=0.5)
    act = DoorActuator(door)
    t0 = time.perf_counter()
    assert act.request_open(event()) is True
    assert time.perf_counter() - t0 < 0.05
    assert act.close(timeout=5) is True
    assert door.opens == [(3.0, "Ann recognised")]
    assert door.closed


def test_a_failure_is_the_outcome_of_its_own_open_and_the_worker_goes_on() -> None:
    done: list[tuple[DoorEvent, dict]] = []
    door = RecordingDoor(fail_times=1)
    act = DoorActuator(door, pulse_s=1.0, on_done=lambda e, o: done.append((e, o)))
    first = event()
    act.request_open(first)
    deadline = time.monotonic() + 2
    while not done and time.monotonic() < deadline:
        time.sleep(0.01)
    ((ev, outcome),) = done
    assert ev is first and outcome["actuated"] is False
    assert "relay board not responding" in outcome["error"]
    ev.settle(outcome)  # what the journal does with it: the open says it failed
    assert ev.decision is Decision.OPEN_FAILED and ev.door == outcome
    assert act.request_open(event()) is True  # a failed pulse does not swallow the retry
    act.close()
    assert door.opens == [(1.0, "Ann recognised")]
    assert done[1][1] == {"actuated": True}


def test_coalesced_opens_get_the_outcome_of_the_open_they_rode_on() -> None:
    done: list[tuple[DoorEvent, dict]] = []
    door = RecordingDoor(fail_times=1)
    door.gate.clear()  # the first open hangs until released
    act = DoorActuator(door, on_done=lambda e, o: done.append((e, o)))
    first, second = event(), event()
    assert act.request_open(first) is True
    assert door.started.wait(2)
    assert act.request_open(second) is False  # the same visitor, while the pulse is sent
    door.gate.set()
    act.close()
    assert [(e is first, o["actuated"], o.get("coalesced")) for e, o in done] == [
        (True, False, None),
        (False, False, True),
    ]


def test_adapter_bug_and_failing_callback_do_not_kill_the_worker() -> None:
    def bad_callback(e: DoorEvent, outcome: dict) -> None:
        raise RuntimeError("journal is full")

    door = RecordingDoor(fail_times=1, exc=ZeroDivisionError)
    act = DoorActuator(door, on_done=bad_callback)
    act.request_open(event("first"))
    act.request_open(event("second"))
    act.close()
    assert door.opens == [(3.0, "second")]


def test_same_reason_is_coalesced_while_pulsing() -> None:
    door = RecordingDoor(delay_s=0.3)
    act = DoorActuator(door)
    accepted = [act.request_open(event()) for _ in range(10)]
    assert door.started.wait(2)
    accepted += [act.request_open(event()) for _ in range(5)]  # while the pulse runs
    assert accepted == [True] + [False] * 14
    assert act.request_open(event("Bob recognised", "Bob")) is True  # another reason queues
    act.close()
    assert [r for _, r in door.opens] == ["Ann recognised", "Bob recognised"]


def test_same_reason_is_accepted_again_once_the_pulse_is_over() -> None:
    now = [100.0]
    door = RecordingDoor()  # returns at once, like a webhook: the device times the pulse
    act = DoorActuator(door, pulse_s=3.0, clock=lambda: now[0])
    assert act.request_open(event()) is True
    deadline = time.monotonic() + 2
    while (act.busy or not door.opens) and time.monotonic() < deadline:
        time.sleep(0.005)
    now[0] = 102.0
    assert act.request_open(event()) is False  # the lock is still energised
    now[0] = 103.5
    assert act.request_open(event()) is True
    act.close()
    assert len(door.opens) == 2


def test_stale_request_is_dropped_not_opened_late() -> None:
    now = [0.0]
    done: list[tuple[DoorEvent, dict]] = []
    door = RecordingDoor()
    door.gate.clear()  # the first open hangs, like a webhook waiting for its timeout
    act = DoorActuator(
        door, on_done=lambda e, o: done.append((e, o)), max_wait_s=10, clock=lambda: now[0]
    )
    act.request_open(event("Ann recognised"))
    assert door.started.wait(2)
    act.request_open(event("Bob recognised", "Bob"))
    now[0] = 30.0
    door.gate.set()
    act.close()
    assert [r for _, r in door.opens] == ["Ann recognised"]
    (err,) = [(e, o) for e, o in done if not o["actuated"]]
    assert err[0].person == "Bob" and "waited 30.0 s" in err[1]["error"]


def test_close_drains_the_queue_and_refuses_new_requests() -> None:
    door = RecordingDoor(delay_s=0.05)
    act = DoorActuator(door)
    for name in ("Ann", "Bob", "Cyd"):
        act.request_open(event(f"{name} recognised", name), pulse_s=0.5)
    assert act.close(timeout=5) is True
    assert door.opens == [(0.5, "Ann recognised"), (0.5, "Bob recognised"), (0.5, "Cyd recognised")]
    assert act.request_open(event()) is False
    assert act.close() is True  # idempotent


@pytest.mark.parametrize("pulse", [0.0, 0.05, 30.5])
def test_pulse_is_validated(pulse: float) -> None:
    with pytest.raises(ValueError, match="pulse_s"):
        DoorActuator(RecordingDoor(), pulse_s=pulse)
