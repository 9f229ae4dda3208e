"""The journal keeps faces private: sealed, owner-only files, strangers' snapshots expire
sooner, and one person can be erased without losing the events."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.journal import Journal, JournalConfig
from facegate.vault import Vault, new_key

DAY = 86400.0


def face(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def permissive_umask():
    old = os.umask(0o022)  # what most shells hand a service: files 0644, folders 0755
    yield
    os.umask(old)


def test_journal_and_snapshots_are_owner_only(tmp_path: Path, permissive_umask) -> None:
    path = tmp_path / "door" / "journal.sqlite"
    with Journal(JournalConfig(), path) as j:
        ev = DoorEvent(Decision.OPEN, "front", "r", person="alice", snapshot=face(1))
        j.record(ev)
    assert mode(path.parent) == 0o700
    files = [p for p in path.parent.rglob("*") if p.is_file()]
    assert len(files) >= 2 and Path(ev.snapshot_path or "") in files
    assert {str(p.relative_to(tmp_path)): mode(p) for p in files} == {
        str(p.relative_to(tmp_path)): 0o600 for p in files
    }
    dirs = [p for p in path.parent.rglob("*") if p.is_dir()]
    assert dirs and all(mode(d) == 0o700 for d in dirs)


def test_snapshots_are_sealed_with_the_vault(tmp_path: Path) -> None:
    vault = Vault([new_key()])
    with Journal(JournalConfig(), tmp_path / "j.sqlite", vault=vault) as j:
        ev = DoorEvent(Decision.OPEN, "front", "r", person="alice", snapshot=face(2))
        j.record(ev)
        raw = Path(ev.snapshot_path or "").read_bytes()
        assert not raw.startswith(b"\xff\xd8")  # not a JPEG on disk
        jpeg = j.read_snapshot(j.query()[0]["snapshot"])
    assert jpeg.startswith(b"\xff\xd8")
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (64, 64, 3)


def test_unknown_visitors_snapshots_expire_before_residents(tmp_path: Path) -> None:
    now = 1_700_000_000.0
    assert JournalConfig().unknown_snapshot_days < JournalConfig().retention_days
    with Journal(JournalConfig(), tmp_path / "j.sqlite") as j:
        stranger = DoorEvent(
            Decision.UNKNOWN, "front", "no match", time=now - 8 * DAY, snapshot=face(3)
        )
        resident = DoorEvent(
            Decision.OPEN, "front", "ok", time=now - 8 * DAY, person="alice", snapshot=face(4)
        )
        fresh = DoorEvent(Decision.UNKNOWN, "front", "no match", time=now - DAY, snapshot=face(5))
        ids = [j.record(e) for e in (stranger, resident, fresh)]
        assert j.enforce_retention(now=now) == (0, 1)
        rows = {r["id"]: r for r in j.query()}
        assert set(rows) == set(ids)  # every event stays
        assert rows[ids[0]]["snapshot"] is None and not Path(stranger.snapshot_path or "").exists()
        assert rows[ids[1]]["snapshot"] and Path(resident.snapshot_path or "").exists()
        assert rows[ids[2]]["snapshot"] and Path(fresh.snapshot_path or "").exists()
    shorter = JournalConfig(unknown_snapshot_days=0.5)
    with Journal(shorter, tmp_path / "j.sqlite") as j:
        assert j.enforce_retention(now=now) == (0, 1)  # the day-old stranger now too


def test_erase_person_keeps_events_without_name_or_face(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(JournalConfig(), path) as j:
        mine = DoorEvent(
            Decision.OPEN, "front", "Ada Lovelace matched", person="Ada Lovelace", person_id=7
        )
        mine.snapshot = face(6)
        j.record(mine)
        j.record(DoorEvent(Decision.UNKNOWN, "front", "closest Ada Lovelace 0.3", snapshot=face(7)))
        j.record(DoorEvent(Decision.OPEN, "front", "Bob matched", person="Bob", snapshot=face(8)))
        assert len(j.events_of("Ada Lovelace", 7)) == 1
        assert j.erase_person("Ada Lovelace", 7, "erased resident #7") == (1, 1)
        rows = j.query()
        assert len(rows) == 3 and j.events_of("Ada Lovelace", 7) == []
        assert not Path(mine.snapshot_path or "").exists()
        assert [r["person"] for r in rows].count("erased resident #7") == 1
        # an entrance that has not reloaded its gallery yet sees her again
        late = DoorEvent(Decision.OPEN, "front", "Ada Lovelace matched", person="Ada Lovelace")
        late.snapshot = face(9)
        j.record(late)
        assert j.query()[0]["person"] == "erased resident #7" and late.snapshot_path is None
        assert "Ada Lovelace" not in j.query()[0]["reason"]
    for f in path.parent.rglob("*"):
        if f.is_file():
            assert b"Ada Lovelace" not in f.read_bytes(), f
