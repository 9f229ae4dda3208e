"""The entrance's own record of every door decision: a SQLite row plus a best-shot JPEG.

Why it is built this way:
- The intercom must keep opening doors whatever happens to the journal, and must never lose an
  event silently. A snapshot that cannot be written (disk full, folder gone) costs the picture,
  never the row; a row that cannot be written raises `JournalError` for the runtime to log.
- A committed event survives `kill -9` and power loss: WAL with synchronous=FULL, snapshots
  written to a temporary file, fsynced and renamed into place before the row points at them.
- The disk is finite: old events expire after `retention_days`, and snapshots are thinned
  oldest-first to `max_snapshot_mb` while their rows stay (who came matters longer than how
  they looked).
- A snapshot is a face. With a `Vault` each file is sealed (AES-GCM); files are 0600 in 0700
  folders; a stranger's snapshot expires after `unknown_snapshot_days`, sooner than the
  events; `erase_person` removes a person's faces and name (SQLite's secure_delete zeroes
  what is deleted, and the WAL is truncated after it).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from facegate import sqlite
from facegate.errors import FaceGateError
from facegate.private import private_dir, private_file
from facegate.runtime.events import Decision, DoorEvent
from facegate.runtime.journal_schema import COLUMNS, create_or_upgrade
from facegate.runtime.snapshots import ORPHAN_GRACE_S, SnapshotStore
from facegate.schema import StrictModel as _Strict
from facegate.vault import Vault

log = logging.getLogger(__name__)

_COLUMNS = COLUMNS

__all__ = ["ORPHAN_GRACE_S", "Journal", "JournalConfig", "JournalError"]


class JournalError(FaceGateError):
    """The journal cannot record or read (locked past the wait, disk full, damaged file)."""

    code = "journal_error"

    def __init__(self, message: str, event: DoorEvent | None = None) -> None:
        super().__init__(message)
        self.event = event  # the event that was not recorded, so the caller can still log it


class JournalConfig(_Strict):
    path: Path | None = Field(None, description="SQLite file; None = decided by the caller")
    snapshot_dir: Path | None = Field(None, description="default: <journal dir>/snapshots")
    retention_days: float = Field(90, gt=0, description="events older than this are deleted")
    unknown_snapshot_days: float = Field(
        7,
        gt=0,
        description="snapshots of unknown visitors (decision 'unknown') are deleted after "
        "this many days; their events stay until retention_days",
    )
    max_snapshot_mb: float = Field(1024, ge=0, description="disk budget for snapshot JPEGs")
    jpeg_quality: int = Field(85, ge=1, le=100)


def _json_default(obj: Any) -> Any:
    """Liveness details may carry numpy values; store them as plain JSON, never fail on them."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _person_where(name: str, person_id: int | None) -> tuple[str, tuple]:
    if person_id is None:
        return "person = ?", (name,)
    return "(person = ? OR person_id = ?)", (name, person_id)


class Journal:
    """Thread-safe: the pipeline records while a timer thread may enforce retention."""

    def __init__(
        self,
        config: JournalConfig | None = None,
        path: str | os.PathLike[str] | None = None,
        *,
        timeout_s: float = 5.0,
        vault: Vault | None = None,
    ) -> None:
        """`vault`: seal snapshot files with it (the server passes one; None = plain JPEG)."""
        self.config = config or JournalConfig()
        chosen = path if path is not None else self.config.path
        if chosen is None:
            raise JournalError("the journal needs a path (journal.path in the config)")
        self.path = Path(chosen)
        self.snapshot_dir = Path(self.config.snapshot_dir or self.path.parent / "snapshots")
        self.vault = vault
        self.snapshots = SnapshotStore(self.snapshot_dir, vault, self.config.jpeg_quality)
        self._lock = threading.Lock()
        self._erased: dict[str, tuple[str, float]] = {}  # name -> (label, held until)
        try:
            if not self.path.parent.is_dir():
                private_dir(self.path.parent)
            private_file(self.path)
            self._db = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from None
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("journal %s: WAL unavailable here (mode %s)", self.path, mode)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")  # erased names leave no trace
            create_or_upgrade(self._db, self._tx)
        except (sqlite3.Error, JournalError) as exc:
            self._db.close()
            raise JournalError(
                exc.args[0] if isinstance(exc, JournalError) else self._explain(exc)
            ) from None

    # -- plumbing ---------------------------------------------------------------------------

    def _explain(self, exc: sqlite3.Error) -> str:
        return sqlite.explain(exc, "journal", self.path)

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """One IMMEDIATE transaction: all of it lands, or none of it."""
        return sqlite.immediate(self._db, lambda exc: JournalError(self._explain(exc)))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- snapshots --------------------------------------------------------------------------

    def read_snapshot(self, rel: str) -> bytes:
        """The JPEG of a snapshot (opened by the vault); OSError when it is gone."""
        return self.snapshots.read(rel)

    # -- the API ----------------------------------------------------------------------------

    def record(self, event: DoorEvent) -> int:
        """Store one event (and its snapshot, if any); returns the row id once committed."""
        self._scrub_erased(event)
        rel: str | None = None
        snap_error: str | None = None
        if event.snapshot is not None:
            try:
                rel = self.snapshots.write(event.snapshot, event.time)
            except OSError as exc:
                name = errno.errorcode.get(exc.errno or 0, "OSError")
                snap_error = f"snapshot not saved ({name}: {exc.strerror or exc})"
            except ValueError as exc:
                snap_error = f"snapshot not saved ({exc})"
            if snap_error:
                log.warning(
                    "journal: %s; recording the %s event at %s without it",
                    snap_error,
                    event.decision.value,
                    event.entrance,
                )
        try:
            # under the lock: the door's outcome (`settle_door`) is either in the row or after it
            with self._lock, self._tx() as db:
                row = (
                    float(event.time),
                    event.entrance,
                    event.track,
                    Decision(event.decision).value,
                    event.person,
                    event.person_id,
                    event.reason,
                    json.dumps({k: float(v) for k, v in event.scores.items()}),
                    json.dumps(event.liveness, default=_json_default),
                    event.time_to_open_ms,
                    rel,
                    snap_error,
                    None if event.door is None else json.dumps(event.door),
                )
                rowid = db.execute(
                    "INSERT INTO events(time, entrance, track, decision, person, person_id, "
                    "reason, scores, liveness, time_to_open_ms, snapshot, snapshot_error, door) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                ).lastrowid
                event.journal_id = rowid
        except (JournalError, sqlite3.Error) as exc:
            if rel is not None:  # no row will ever point at it: do not leave an orphan
                self.snapshots.remove(rel)
            event.snapshot_path = None
            msg = exc.args[0] if isinstance(exc, JournalError) else self._explain(exc)
            raise JournalError(
                f"{msg}; event not recorded: {event.decision.value} at {event.entrance} "
                f"(time {event.time:.3f}, person {event.person})",
                event,
            ) from None
        event.snapshot_path = str(self.snapshot_dir / rel) if rel else None
        assert rowid is not None
        return int(rowid)

    def query(
        self,
        entrance: str | None = None,
        person: str | None = None,
        decision: Decision | str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = 100,
    ) -> list[dict[str, Any]]:
        """Events matching every given filter, newest first; since <= time <= until (epoch s)."""
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("entrance", entrance), ("person", person)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if decision is not None:
            where.append("decision = ?")
            args.append(Decision(decision).value)
        if since is not None:
            where.append("time >= ?")
            args.append(float(since))
        if until is not None:
            where.append("time <= ?")
            args.append(float(until))
        sql = f"SELECT {_COLUMNS} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            try:
                rows = self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(self._explain(exc)) from None
        return self._dicts(rows)

    def _dicts(self, rows: list[tuple]) -> list[dict[str, Any]]:
        out = []
        for r in rows:
            d = dict(zip(_COLUMNS.split(", "), r, strict=True))
            d["scores"] = json.loads(d["scores"])
            d["liveness"] = json.loads(d["liveness"])
            d["door"] = json.loads(d["door"]) if d["door"] else None
            d["snapshot_path"] = str(self.snapshot_dir / d["snapshot"]) if d["snapshot"] else None
            out.append(d)
        return out

    def settle_door(self, event: DoorEvent, outcome: dict[str, Any]) -> None:
        """The door adapter's outcome of an open (`DoorEvent.settle`), on the event's own row:
        an open that did not actuate is stored as `open_failed`. The door is commanded before
        the event is journalled, so an outcome arriving first is written with the row."""
        with self._lock:
            event.settle(outcome)
            if event.journal_id is None:
                return
            with self._tx() as db:
                db.execute(
                    "UPDATE events SET decision = ?, door = ? WHERE id = ?",
                    (event.decision.value, json.dumps(event.door), event.journal_id),
                )

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def count_by(self, since: float, until: float | None = None) -> dict[tuple[str, str], int]:
        """Events since `since` (epoch s) per (entrance, decision): a dashboard's "today",
        counted by SQLite rather than by reading every row."""
        sql = "SELECT entrance, decision, COUNT(*) FROM events WHERE time >= ?"
        args: list[float] = [float(since)]
        if until is not None:
            sql += " AND time <= ?"
            args.append(float(until))
        with self._lock:
            try:
                rows = self._db.execute(sql + " GROUP BY entrance, decision", args).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(self._explain(exc)) from None
        return {(e, d): int(n) for e, d, n in rows}

    def snapshot_bytes(self) -> int:
        """Bytes of JPEGs under snapshot_dir (what the disk budget is measured against)."""
        return sum(size for _, size, _ in self.snapshots.scan())

    def enforce_retention(self, now: float | None = None) -> tuple[int, int]:
        """Expire old events, drop strangers' snapshots after `unknown_snapshot_days` (their
        rows stay), then thin snapshots oldest-first to the disk budget.

        Returns (events deleted, snapshot files deleted). Rows are changed (committed) before
        files are removed, so a crash in between leaves at worst an orphan file, which a later
        run sweeps, never a row pointing at a missing picture.
        """
        now = time.time() if now is None else float(now)
        cutoff = now - self.config.retention_days * 86400.0
        strangers = now - self.config.unknown_snapshot_days * 86400.0
        files_deleted = 0
        with self._lock:
            with self._tx() as db:
                expired = [
                    r[0]
                    for r in db.execute(
                        "SELECT snapshot FROM events WHERE snapshot IS NOT NULL AND "
                        "(time < ? OR (decision = 'unknown' AND time < ?))",
                        (cutoff, strangers),
                    )
                ]
                events_deleted = db.execute("DELETE FROM events WHERE time < ?", (cutoff,)).rowcount
                db.execute(
                    "UPDATE events SET snapshot = NULL "
                    "WHERE snapshot IS NOT NULL AND decision = 'unknown' AND time < ?",
                    (strangers,),
                )
            for rel in expired:
                files_deleted += self.snapshots.remove(rel)

            files = {rel: (size, mtime) for rel, size, mtime in self.snapshots.scan()}
            claimed = dict(
                self._db.execute(
                    "SELECT snapshot, id FROM events WHERE snapshot IS NOT NULL"
                ).fetchall()
            )
            for rel, (_size, mtime) in list(files.items()):  # crash leftovers, stray tmp files
                if rel not in claimed and mtime < time.time() - ORPHAN_GRACE_S:
                    files_deleted += self.snapshots.remove(rel)
                    del files[rel]
            budget = self.config.max_snapshot_mb * 1024 * 1024
            total = sum(size for size, _ in files.values())
            if total > budget:
                victims: list[tuple[int, str]] = []
                for rowid, rel in self._db.execute(
                    "SELECT id, snapshot FROM events WHERE snapshot IS NOT NULL ORDER BY time, id"
                ):
                    if total <= budget:
                        break
                    if rel in files:
                        victims.append((rowid, rel))
                        total -= files[rel][0]
                with self._tx() as db:
                    db.executemany(
                        "UPDATE events SET snapshot = NULL WHERE id = ?",
                        [(rowid,) for rowid, _ in victims],
                    )
                for _, rel in victims:
                    files_deleted += self.snapshots.remove(rel)
            self.snapshots.prune_empty_dirs()
        if events_deleted or files_deleted:
            log.info(
                "journal: retention deleted %d events and %d snapshots",
                events_deleted,
                files_deleted,
            )
        return events_deleted, files_deleted

    # -- privacy: a person's events, erasure, re-sealing -------------------------------------

    def events_of(self, name: str, person_id: int | None = None) -> list[dict[str, Any]]:
        """Every event whose recognised or claimed person is `name` (or `person_id`), newest
        first: what the journal holds about one person."""
        where, args = _person_where(name, person_id)
        sql = f"SELECT {_COLUMNS} FROM events WHERE {where} ORDER BY time DESC, id DESC"
        with self._lock:
            try:
                rows = self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(self._explain(exc)) from None
        return self._dicts(rows)

    def erase_person(
        self, name: str, person_id: int | None, label: str, hold_s: float = 120.0
    ) -> tuple[int, int]:
        """Erase a person: their events stay, as `label` with no snapshot (the files are
        deleted); their name is replaced by `label` in every event's reason; the WAL is then
        truncated so no old page keeps the name. For `hold_s` more, an event that still
        names them (a runtime that has not reloaded its gallery yet) is recorded the same
        way. Returns (events anonymised, files deleted)."""
        where, args = _person_where(name, person_id)
        with self._lock:
            self._erased[name] = (label, time.monotonic() + hold_s)
            with self._tx() as db:
                snaps = [
                    r[0]
                    for r in db.execute(
                        f"SELECT snapshot FROM events WHERE {where} AND snapshot IS NOT NULL",
                        args,
                    )
                ]
                n = db.execute(
                    f"UPDATE events SET person = ?, person_id = NULL, snapshot = NULL "
                    f"WHERE {where}",
                    (label, *args),
                ).rowcount
                for column in ("reason", "liveness", "snapshot_error"):
                    db.execute(
                        f"UPDATE events SET {column} = replace({column}, ?, ?) "
                        f"WHERE instr({column}, ?) > 0",
                        (name, label, name),
                    )
            files = sum(self.snapshots.remove(rel) for rel in snaps)
            self._checkpoint()
        return n, files

    def _scrub_erased(self, event: DoorEvent) -> None:
        if not self._erased:
            return
        now = time.monotonic()
        with self._lock:
            held = {n: lab for n, (lab, until) in self._erased.items() if until > now}
            self._erased = {n: v for n, v in self._erased.items() if v[1] > now}
        for name, label in held.items():
            if event.person == name:
                event.person, event.person_id, event.snapshot = label, None, None
            if name in event.reason:
                event.reason = event.reason.replace(name, label)

    def _checkpoint(self) -> None:
        try:
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error as exc:
            busy, exc_text = 1, str(exc)
        else:
            exc_text = "a reader holds it"
        if busy:
            log.warning("journal: WAL not truncated after an erasure (%s)", exc_text)

    def reseal_snapshots(self, only_plaintext: bool = False) -> int:
        """Seal every snapshot file again with the vault's current key (`only_plaintext`:
        just those written before encryption); returns how many files were rewritten."""
        if self.vault is None:
            return 0
        with self._lock:
            rels = [
                r[0]
                for r in self._db.execute("SELECT snapshot FROM events WHERE snapshot IS NOT NULL")
            ]
        done = 0
        for rel in rels:
            try:
                done += self.snapshots.reseal(rel, only_plaintext)
            except OSError as exc:
                log.warning("journal: cannot re-seal snapshot %s: %s", rel, exc)
        return done

    def meta(self, key: str, value: str | None = None) -> str | None:
        """Read (or, with `value`, write) one of the journal's own settings."""
        with self._lock:
            if value is not None:
                with self._tx() as db:
                    db.execute(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value)
                    )
                return value
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None
