"""What the gallery and the journal share about SQLite: one wording for its failures, and
the one transaction shape both write with (all of it lands, or none of it)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def explain(exc: sqlite3.Error, what: str, path: Path) -> str:
    """A message a building manager can act on, for `what` ("gallery", "journal") at `path`."""
    msg = str(exc)
    if "locked" in msg or "busy" in msg:
        return f"{what} {path} is locked by another process; try again"
    if "not a database" in msg or "malformed" in msg:
        return f"{path} is not a FaceGate {what} (or is damaged): {msg}"
    if "readonly" in msg or "unable to open" in msg:
        return f"cannot write {what} {path}: {msg}"
    if "disk" in msg and "full" in msg:
        return f"disk full while writing {what} {path}; nothing was changed"
    return f"{what} {path}: {msg}"


@contextmanager
def immediate(
    db: sqlite3.Connection, fail: Callable[[sqlite3.Error], Exception]
) -> Iterator[sqlite3.Connection]:
    """One BEGIN IMMEDIATE transaction (the busy timeout bounds the wait for another writer);
    any SQLite error, at any step, rolls back and is raised as `fail(exc)`."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise fail(exc) from None
    try:
        yield db
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise fail(exc) from None
        raise
    try:
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise fail(exc) from None
