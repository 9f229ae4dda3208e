"""The journal's SQLite schema, and bringing an older journal up to date on open.

Version 2 adds `door`: what the door adapter did for an open (`DoorEvent.door`), written
with the row or, when the adapter answers later, onto it (`Journal.settle_door`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager

SCHEMA_VERSION = 2  # 2: `door`, what the door adapter did for an open
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    entrance TEXT NOT NULL,
    track INTEGER,
    decision TEXT NOT NULL,
    person TEXT,
    person_id INTEGER,
    reason TEXT NOT NULL,
    scores TEXT NOT NULL,
    liveness TEXT NOT NULL,
    time_to_open_ms REAL,
    snapshot TEXT,
    snapshot_error TEXT,
    door TEXT
);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_entrance_time ON events(entrance, time);
CREATE INDEX IF NOT EXISTS events_snapshot ON events(snapshot) WHERE snapshot IS NOT NULL;
"""

COLUMNS = (
    "id, time, entrance, track, decision, person, person_id, reason, scores, liveness, "
    "time_to_open_ms, snapshot, snapshot_error, door"
)


def _has_door(db: sqlite3.Connection) -> bool:
    return any(r[1] == "door" for r in db.execute("PRAGMA table_info(events)"))


def create_or_upgrade(
    db: sqlite3.Connection, tx: Callable[[], AbstractContextManager[sqlite3.Connection]]
) -> None:
    """Create a new journal's tables, or add what an older one lacks. `tx` is one IMMEDIATE
    transaction; only a journal that needs a change takes the write lock."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
    ).fetchone()
    if not exists:
        with tx() as w:
            for stmt in SCHEMA.strip().split(";"):
                if stmt.strip():
                    w.execute(stmt)
            w.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
    if not _has_door(db):  # a journal from before version 2
        with tx() as w:
            if not _has_door(w):  # another process may have just done it
                w.execute("ALTER TABLE events ADD COLUMN door TEXT")
                w.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(SCHEMA_VERSION),),
                )
