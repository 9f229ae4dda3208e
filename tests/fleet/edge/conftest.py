"""Fixtures of the edge agent's tests: the server's signing key, records, a vault, a
Mosquitto of the test's own (it can be stopped and started), and a small fake server that
speaks the contract (docs: notes/fleet-contract.md) for the tests that need no database."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from facegate.fleet.protocol import (
    EntranceRecord,
    ResidentRecord,
    RuleSet,
    Signer,
    Snapshot,
    TemplateRecord,
)
from facegate.vault import Vault, new_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout: float = 10.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


@pytest.fixture
def vault() -> Vault:
    return Vault([new_key()])


def resident(rid: int, name: str, rev: int, seed: int = 0, **kw) -> ResidentRecord:
    v = np.random.default_rng(seed or rid).standard_normal(128).astype(np.float32)
    v /= np.linalg.norm(v)
    return ResidentRecord(
        id=rid,
        name=name,
        rev=rev,
        templates=[TemplateRecord.from_vector("sface", "v1", v)],
        **kw,
    )


def entrance(eid: int = 1, name: str = "main", **kw) -> EntranceRecord:
    return EntranceRecord(id=eid, name=name, door={"kind": "log"}, **kw)


def snapshot(nonce: str, residents=(), rules: RuleSet | None = None, entrances=()) -> Snapshot:
    return Snapshot(
        nonce=nonce,
        residents=list(residents),
        rules=rules or RuleSet(),
        entrances=list(entrances),
    )


class Mosquitto:
    """A broker on a free loopback port, with persistence, that a test may stop and start."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {workdir}/\n"
            "log_dest none\n"
        )
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return False

        assert wait_for(up, 10), "mosquitto did not start"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    work = tmp_path / "broker"
    work.mkdir()
    b = Mosquitto(work)
    b.start()
    yield b
    b.stop()
