"""The entrance journal: rows and snapshots land, survive kill -9, expire, never block a door."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from facegate.errors import FaceGateError
from facegate.runtime import journal as journal_mod
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.journal import Journal, JournalConfig, JournalError

DAY = 86400.0


def noise(seed: int, size: int = 96) -> np.ndarray:
    """Random pixels compress badly: every snapshot costs a predictable, non-trivial size."""
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    return tmp_path / "door" / "journal.sqlite"


def test_record_and_query_with_filters(jpath: Path) -> None:
    t0 = 1_700_000_000.0
    with Journal(JournalConfig(), jpath) as j:
        ids = [
            j.record(
                DoorEvent(
                    Decision.OPEN,
                    "front",
                    "resident",
                    time=t0,
                    track=1,
                    person="alice",
                    person_id=7,
                    scores={"sface": np.float32(0.61)},
                    liveness={"score": np.float64(0.9), "votes": np.array([1, 1])},
                    time_to_open_ms=412.34,
                )
            ),
            j.record(DoorEvent(Decision.UNKNOWN, "front", "no match", time=t0 + 10, track=2)),
            j.record(
                DoorEvent(
                    Decision.DENY,
                    "garage",
                    "not allowed at night",
                    time=t0 + 20,
                    person="bob",
                    person_id=8,
                )
            ),
            j.record(
                DoorEvent(
                    Decision.OPEN, "garage", "resident", time=t0 + 30, person="alice", person_id=7
                )
            ),
        ]
        assert ids == sorted(ids) and len(set(ids)) == 4

        everything = j.query()
        assert [r["id"] for r in everything] == ids[::-1]  # newest first
        first = everything[-1]
        assert first["decision"] == "open" and first["person"] == "alice"
        assert first["person_id"] == 7 and first["track"] == 1
        assert first["scores"] == {"sface": pytest.approx(0.61, abs=1e-6)}
        assert first["liveness"] == {"score": 0.9, "votes": [1, 1]}
        assert first["time_to_open_ms"] == pytest.approx(412.34)
        assert first["snapshot"] is None and first["snapshot_path"] is None

        assert [r["id"] for r in j.query(entrance="garage")] == [ids[3], ids[2]]
        assert [r["id"] for r in j.query(person="alice")] == [ids[3], ids[0]]
        assert [r["id"] for r in j.query(decision=Decision.OPEN)] == [ids[3], ids[0]]
        assert [r["id"] for r in j.query(decision="unknown")] == [ids[1]]
        assert [r["id"] for r in j.query(since=t0 + 10, until=t0 + 20)] == [ids[2], ids[1]]
        assert [r["id"] for r in j.query(entrance="front", person="alice")] == [ids[0]]
        assert [r["id"] for r in j.query(limit=2)] == [ids[3], ids[2]]
        assert j.query(person="nobody") == []
        with pytest.raises(ValueError):
            j.query(decision="maybe")

    # committed rows are there for a fresh process, schema included
    db = sqlite3.connect(jpath)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 4
    indexes = {r[1] for r in db.execute("PRAGMA index_list(events)")}
    assert "events_time" in indexes
    db.close()


def test_snapshot_is_written_atomically_and_decodes(jpath: Path) -> None:
    img = np.zeros((80, 60, 3), np.uint8)
    img[:, :, 2] = 200  # a red crop: checks the colour order survives
    t = 1_700_000_000.0  # 2023-11-14 UTC
    with Journal(JournalConfig(), jpath) as j:
        ev = DoorEvent(Decision.OPEN, "front", "resident", time=t, person="alice", snapshot=img)
        rid = j.record(ev)
        row = j.query()[0]
    assert row["id"] == rid
    assert row["snapshot"].startswith("2023/11/14/") and row["snapshot"].endswith(".jpg")
    path = Path(ev.snapshot_path or "")
    assert path == jpath.parent / "snapshots" / row["snapshot"] == Path(row["snapshot_path"])
    decoded = cv2.imread(str(path))
    assert decoded is not None and decoded.shape == img.shape
    assert np.abs(decoded.astype(int) - img.astype(int)).mean() < 3
    assert files_under(jpath.parent / "snapshots") == [path]  # no temporary file left behind


def test_retention_by_age_deletes_rows_and_their_snapshots(jpath: Path) -> None:
    now = 1_700_000_000.0
    with Journal(JournalConfig(retention_days=30), jpath) as j:
        old = DoorEvent(Decision.OPEN, "front", "r", time=now - 31 * DAY, snapshot=noise(1))
        old_id = j.record(old)
        old_nosnap = j.record(DoorEvent(Decision.UNKNOWN, "front", "r", time=now - 40 * DAY))
        new = DoorEvent(Decision.OPEN, "front", "r", time=now - 29 * DAY, snapshot=noise(2))
        new_id = j.record(new)
        assert j.enforce_retention(now=now) == (2, 1)
        assert [r["id"] for r in j.query()] == [new_id]
        assert old_id not in {r["id"] for r in j.query()} and old_nosnap != new_id
        assert not Path(old.snapshot_path or "x").exists()
        assert Path(new.snapshot_path or "").exists()
        assert j.enforce_retention(now=now) == (0, 0)  # idempotent


def test_retention_by_disk_budget_keeps_rows_drops_oldest_files(jpath: Path) -> None:
    now = time.time()
    with Journal(JournalConfig(), jpath) as j:
        events = [
            DoorEvent(Decision.OPEN, "front", "r", time=now - 100 + i, snapshot=noise(i))
            for i in range(5)
        ]
        ids = [j.record(e) for e in events]
        sizes = [Path(e.snapshot_path or "").stat().st_size for e in events]
        assert min(sizes) > 5_000
        assert j.snapshot_bytes() == sum(sizes)
    budget_mb = (sum(sizes[2:]) + 100) / (1024 * 1024)  # room for the newest three only
    with Journal(JournalConfig(max_snapshot_mb=budget_mb), jpath) as j:
        assert j.enforce_retention(now=now) == (0, 2)
        rows = {r["id"]: r for r in j.query()}
        assert set(rows) == set(ids)  # every event kept
        assert [rows[i]["snapshot"] is None for i in ids] == [True, True, False, False, False]
        assert [Path(e.snapshot_path or "").exists() for e in events] == [False, False] + [True] * 3
        assert j.snapshot_bytes() <= budget_mb * 1024 * 1024
        assert j.enforce_retention(now=now) == (0, 0)


def test_retention_sweeps_old_orphan_files_only(jpath: Path) -> None:
    with Journal(JournalConfig(), jpath) as j:
        kept = DoorEvent(Decision.OPEN, "front", "r", snapshot=noise(3))
        j.record(kept)
        day = j.snapshot_dir / "2020" / "01" / "01"
        day.mkdir(parents=True)
        stale = day / "crashed-before-insert.jpg"
        stale.write_bytes(b"x" * 100)
        old = time.time() - 2 * journal_mod.ORPHAN_GRACE_S
        os.utime(stale, (old, old))
        fresh = j.snapshot_dir / "being-written.jpg"  # a record() in flight in another thread
        fresh.write_bytes(b"y")
        assert j.enforce_retention() == (0, 1)
        assert not stale.exists() and fresh.exists() and Path(kept.snapshot_path or "").exists()


def test_unusable_snapshot_dir_still_records_the_event(
    jpath: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a regular file where the snapshot folder should be")
    cfg = JournalConfig(snapshot_dir=blocker / "snaps")
    with Journal(cfg, jpath) as j:
        ev = DoorEvent(Decision.OPEN, "front", "resident", person="alice", snapshot=noise(4))
        rid = j.record(ev)
        row = j.query()[0]
    assert row["id"] == rid and row["person"] == "alice" and row["decision"] == "open"
    assert row["snapshot"] is None and ev.snapshot_path is None
    assert "snapshot not saved" in row["snapshot_error"]
    assert "without it" in caplog.text


def test_disk_full_while_writing_snapshot(jpath: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with Journal(JournalConfig(), jpath) as j:
        monkeypatch.setattr(journal_mod.os, "fsync", full)
        rid = j.record(DoorEvent(Decision.UNKNOWN, "front", "no match", snapshot=noise(5)))
        monkeypatch.undo()
        row = j.query()[0]
        assert row["id"] == rid and row["snapshot"] is None
        assert "ENOSPC" in row["snapshot_error"]
        assert files_under(j.snapshot_dir) == []  # the half-written temporary file is gone
        # the next event, disk freed, gets its picture again
        j.record(DoorEvent(Decision.UNKNOWN, "front", "no match", snapshot=noise(6)))
        assert j.query()[0]["snapshot"] is not None


def test_bad_snapshot_array_does_not_lose_the_event(jpath: Path) -> None:
    with Journal(JournalConfig(), jpath) as j:
        j.record(DoorEvent(Decision.OPEN, "front", "r", snapshot=np.zeros((0, 0, 3), np.uint8)))
        row = j.query()[0]
    assert row["snapshot"] is None and "snapshot not saved" in row["snapshot_error"]


def test_locked_database_waits_then_raises_and_removes_the_orphan(jpath: Path) -> None:
    j = Journal(JournalConfig(), jpath, timeout_s=0.3)
    other = sqlite3.connect(jpath, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ev = DoorEvent(Decision.OPEN, "front", "resident", person="alice", snapshot=noise(7))
    t = time.monotonic()
    with pytest.raises(JournalError) as info:
        j.record(ev)
    waited = time.monotonic() - t
    assert 0.25 <= waited < 3.0  # bounded wait, not a hang
    err = info.value
    assert isinstance(err, FaceGateError) and err.code == "journal_error"
    assert "locked" in str(err) and "event not recorded: open at front" in str(err)
    assert err.event is ev and ev.snapshot_path is None
    assert files_under(j.snapshot_dir) == []  # no snapshot without a row

    # the other writer finishes part-way through the wait: the insert goes through
    j2 = Journal(JournalConfig(), jpath, timeout_s=5.0)
    release = threading.Timer(0.2, other.execute, args=("COMMIT",))
    release.start()
    t = time.monotonic()
    rid = j2.record(DoorEvent(Decision.OPEN, "front", "resident", snapshot=noise(8)))
    assert time.monotonic() - t >= 0.15
    assert [r["id"] for r in j2.query()] == [rid]
    release.join()
    j2.close()
    j.close()
    other.close()


def test_config_validation_and_missing_path() -> None:
    with pytest.raises(ValidationError):
        JournalConfig(retention_days=0)
    with pytest.raises(ValidationError):
        JournalConfig(jpeg_quality=101)
    with pytest.raises(ValidationError):
        JournalConfig.model_validate({"paht": "x"})  # typo: extra fields are refused
    with pytest.raises(JournalError, match="needs a path"):
        Journal(JournalConfig())


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "journal.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="not a FaceGate journal"):
        Journal(JournalConfig(), bad)


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from facegate.runtime.events import Decision, DoorEvent
    from facegate.runtime.journal import Journal, JournalConfig

    j = Journal(JournalConfig(), sys.argv[1])
    i = 0
    while True:
        img = np.full((64, 64, 3), i % 256, np.uint8)
        ev = DoorEvent(Decision.OPEN, "front", f"event {i}", person="alice", snapshot=img)
        rid = j.record(ev)
        print(rid, ev.snapshot_path, flush=True)
        i += 1
""")


def test_committed_events_survive_kill_9(jpath: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(jpath)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while len(lines) < 30 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)  # mid-loop: likely inside a transaction or a JPEG write
    proc.wait(timeout=10)
    reader.join(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    printed = {}
    for line in lines:
        if line.endswith("\n"):  # a line cut by the kill proves nothing
            rid, path = line.split()
            printed[int(rid)] = path
    assert len(printed) >= 30

    db = sqlite3.connect(jpath)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with Journal(JournalConfig(), jpath) as j:
        stored = {r["id"]: r for r in j.query(limit=None)}
    missing = set(printed) - set(stored)
    assert not missing, f"committed events lost after kill -9: {sorted(missing)}"
    for rid, path in printed.items():
        assert stored[rid]["snapshot_path"] == path
        img = cv2.imread(path)
        assert img is not None and img.shape == (64, 64, 3)


def test_an_older_journal_gains_the_door_column_and_an_outcome_lands_on_its_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # a journal as version 1 made it
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('schema_version', '1');"
            "CREATE TABLE events (id INTEGER PRIMARY KEY, time REAL NOT NULL, entrance TEXT "
            "NOT NULL, track INTEGER, decision TEXT NOT NULL, person TEXT, person_id INTEGER, "
            "reason TEXT NOT NULL, scores TEXT NOT NULL, liveness TEXT NOT NULL, "
            "time_to_open_ms REAL, snapshot TEXT, snapshot_error TEXT);"
            "INSERT INTO events VALUES (1, 1.0, 'main', NULL, 'open', 'Ann', 1, 'old', '{}', "
            "'{}', NULL, NULL, NULL);"
        )
    with Journal(None, path) as j:
        assert j.query(limit=None)[0]["door"] is None  # kept, no outcome known
        early, late = (DoorEvent(Decision.OPEN, "main", f"{w} open") for w in ("early", "late"))
        j.settle_door(early, {"actuated": False, "error": "relay off"})  # before its row
        j.record(early)
        j.record(late)
        j.settle_door(late, {"actuated": True})  # after its row
        rows = {r["reason"]: r for r in j.query(limit=None)}
    assert rows["early open"]["decision"] == "open_failed"
    assert rows["early open"]["door"] == {"actuated": False, "error": "relay off"}
    assert rows["late open"]["decision"] == "open" and rows["late open"]["door"]["actuated"]
