"""`facegate edge` as a device runs it (a subprocess), against the fake server of the
contract and a broker of the test's own: enrol, sync, open for the synced resident with the
event stored upstream once (and its best shot); with the server away, run from the last
sync and queue; on the next start, replay what was queued without duplicates."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from facegate import api
from facegate.fleet.protocol import ResidentRecord, TemplateRecord
from facegate.gallery.store import SQLiteGallery
from tests.conftest import approach, write_image
from tests.fleet.edge.conftest import entrance, wait_for
from tests.fleet.edge.fake_server import FakeServer

pytestmark = pytest.mark.slow


def resident_from_photo(engine, photo, tmp_path: Path, rid: int, name: str) -> ResidentRecord:
    """Templates as the server would make them: enrolled through `api.enroll`."""
    with SQLiteGallery(tmp_path / f"enrol-{rid}.sqlite") as g:
        report = api.enroll(engine, g, name, [cv2.imencode(".png", photo)[1].tobytes()])
        assert report.accepted
        models = [
            m for (m,) in sqlite3.connect(g.path).execute("SELECT DISTINCT model FROM templates")
        ]
        templates = []
        for m in models:
            ts = g.templates(m)
            (version,) = ts.versions
            templates += [TemplateRecord.from_vector(m, version, v) for v in ts.matrix]
    return ResidentRecord(id=rid, name=name, rev=1, templates=templates)


def clip(tmp_path: Path, photo, frames: int = 24) -> Path:
    folder = tmp_path / "clip"
    folder.mkdir()
    for i, f in enumerate(approach(photo, frames)):
        write_image(folder / f"{i:03d}.png", f)
    return folder


def run_edge(args: list[str], cfg: Path, timeout: float = 240) -> tuple[int, list[dict], str]:
    cmd = [sys.executable, "-m", "facegate.cli", "edge", "--config", str(cfg), "--json", *args]
    env = {**os.environ, "FACEGATE_DEBUG": "1"}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    events = [json.loads(x) for x in p.stdout.splitlines() if '"decision"' in x]
    return p.returncode, events, p.stderr


@pytest.fixture
def setup(engine, astronaut, tmp_path, signer, broker, cache_dir):
    server = FakeServer(signer, broker.url)
    collins = resident_from_photo(engine, astronaut, tmp_path, 11, "Eileen Collins")
    server.set_state(residents=[collins], entrances=[entrance(1, "main", liveness={"checks": []})])
    server.version = 3
    server.connect()
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"engine:\n  cache_dir: {cache_dir}\nfleet:\n  edge:\n    flush_on_exit_s: 5\n")
    yield server, cfg, clip(tmp_path, astronaut)
    server.close()


def test_the_agent_enrols_syncs_opens_and_replays_after_an_outage(setup, tmp_path, broker):
    server, cfg, frames = setup
    data = tmp_path / "device"
    base = ["--data", str(data), "--source", str(frames), "--until-end"]

    printed: list[dict] = []

    def key(e: dict) -> tuple:
        return e["decision"], e["person"], round(e["time"], 3)

    def upstream() -> list[tuple]:
        return sorted(key(e) for e in server.events.values())

    code, events, err = run_edge(["--server", server.url, "--token", server.token, *base], cfg)
    assert code == 0, err
    printed += events
    assert ("open", "Eileen Collins") in [(e["decision"], e["person"]) for e in events]
    assert (data / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert upstream() == sorted(key(e) for e in printed)  # each event once
    stored = next(e for e in server.events.values() if e["decision"] == "open")
    assert stored["person_id"] == 11
    assert stored["door"] == {"actuated": True}  # sent once the door had opened
    assert stored["snapshot"] is True and server.shots[stored["id"]][:2] == b"\xff\xd8"

    # server and broker away: the door opens from the last sync, the events wait
    server.down = True
    broker.stop()
    before = upstream()
    code, events, err = run_edge(base, cfg)
    assert code == 0, err
    printed += events
    assert ("open", "Eileen Collins") in [(e["decision"], e["person"]) for e in events]
    assert "running from the data synced" in err
    assert "kept in the outbox" in err
    assert upstream() == before

    # back: what was queued goes up, once
    server.down = False
    broker.start()
    code, events, err = run_edge(base, cfg)
    assert code == 0, err
    printed += events
    assert upstream() == sorted(key(e) for e in printed)
    assert server.received >= len(printed)  # sent at least once, stored exactly once
    opened = [i for i, e in server.events.items() if e["decision"] == "open"]
    assert len(opened) >= 3 and set(opened) <= set(server.shots)


def test_sigterm_stops_the_agent_cleanly_and_it_says_offline(setup, tmp_path, astronaut):
    server, cfg, _frames = setup
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for f in approach(astronaut, 15) * 40:  # 40 s at the camera's own pace
        writer.write(f)
    writer.release()
    cmd = [sys.executable, "-m", "facegate.cli", "edge", "--config", str(cfg), "--json",
           "--data", str(tmp_path / "device"), "--server", server.url, "--token", server.token,
           "--source", str(video)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(
            lambda: any(s.entrances.get("main", None) and s.entrances["main"].state == "running"
                        for s in server.statuses), 120,
        )  # fmt: skip
        first = server.statuses[-1]
        assert first.online and first.gallery_version == 3 and first.software
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert wait_for(lambda: not server.statuses[-1].online, 10)
