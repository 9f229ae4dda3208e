"""The processes the fleet benchmark runs against: its own Mosquitto and the real server.

Both are started here, on free loopback ports, so the benchmark can stop and restart them in
the middle of an event storm without touching the machine's own broker. Mosquitto keeps its
sessions on disk (`persistence true`): a restart with SIGTERM, as a service manager does it,
brings back the server's and devices' persistent sessions and their queued QoS 1 messages.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_file_limit() -> tuple[int, int]:
    """Soft open-files limit up to the hard one (children inherit it); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process and its children (uvicorn may fork), in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1) if total else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU seconds of every PostgreSQL process so far (backends come and go: a lower bound
    over an interval when one exits in it)."""
    total = 0.0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(d.name))
            except OSError:
                continue
    return total


def wait_port(port: int, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


class Broker:
    """A Mosquitto of our own: `max_connections -1`, persistence, a log in `workdir`."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.dir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "max_connections -1\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            "max_queued_messages 200000\n"
            "max_inflight_messages 100\n"
            "set_tcp_nodelay true\n"
            f"log_dest file {self.dir}/mosquitto.log\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "connection_messages false\n"
        )

    @staticmethod
    def available() -> str | None:
        """None when a mosquitto binary exists, else why not."""
        if shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").is_file():
            return None
        return "no mosquitto binary (apt-get install mosquitto)"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.dir / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "mosquitto.stderr", "ab"),  # noqa: SIM115 - the child's
        )
        wait_port(self.port, 10, self.proc)

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file and exits, as on a service restart."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> float:
        t = time.perf_counter()
        self.stop()
        self.start()
        return time.perf_counter() - t


class Server:
    """`facegate serve` in a subprocess against the benchmark's database and broker."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        broker_url: str,
        key: str,
        admin_password: str,
        port: int | None = None,
    ) -> None:
        self.dir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.database_url = database_url
        self.broker_url = broker_url
        self.key = key
        self.admin_password = admin_password
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config.yaml").write_text(
            "server:\n"
            "  run_entrances: false\n"
            "  allowed_hosts: ['*']\n"
            "fleet:\n"
            f"  mqtt_url: {broker_url}\n"
        )
        self.log = self.dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 120.0) -> float:
        t = time.perf_counter()
        env = {
            **os.environ,
            "FACEGATE_KEY": self.key,
            "FACEGATE_MQTT_URL": self.broker_url,
            "FACEGATE_ADMIN_PASSWORD": self.admin_password,
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "facegate.cli",
                "serve",
                "--config",
                str(self.dir / "config.yaml"),
                "--port",
                str(self.port),
                "--data-dir",
                str(self.dir / "data"),
                "--database-url",
                self.database_url,
                "--verbose",
            ],
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the child's
            stderr=subprocess.STDOUT,
            env=env,
        )
        wait_port(self.port, timeout_s, self.proc)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=5).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        return time.perf_counter() - t

    def rss_mb(self) -> float | None:
        return rss_mb(self.proc.pid) if self.proc else None

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, kill: bool = True) -> float:
        t = time.perf_counter()
        self.stop(kill=kill)
        self.start()
        return time.perf_counter() - t
