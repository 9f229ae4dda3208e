"""Throttling of password sign-in, with its state in the database (`sign_in_failures`), so
several replicas of the server behind one address count the same failures.

Two sliding windows (`server.sign_in`): one account from one client (few failures, short
window: a person who mistyped waits minutes, and someone guessing from elsewhere cannot lock
a real admin out of their own machine), and one client on any accounts (more failures,
longer window: a guesser trying many accounts, or one account under many spellings). While
either is full the attempt is refused before its password is checked (no argon2 work, no
answer about the password) and is not counted, so a lock always ends.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from facegate.config import SignInLimits
from facegate.server.db.models import SignInFailure, utcnow
from facegate.server.errors import TooManyAttempts

NAME_LEN = 128  # the column's width; longer names tried are counted by their start
CLIENT_LEN = 64


def account_key(username: str) -> str:
    """How a tried username is counted: as sign-in matches it (no case), printable only."""
    return "".join(c if c.isprintable() else "?" for c in username.strip().lower())[:NAME_LEN]


def _wait_s(session: Session, now: datetime, limit: int, window: timedelta, *where) -> float:
    """Seconds until fewer than `limit` failures matching `where` remain in the window
    (0: not locked). Reads at most `limit` rows."""
    times = session.scalars(
        select(SignInFailure.time)
        .where(*where, SignInFailure.time > now - window)
        .order_by(SignInFailure.time.desc())
        .limit(limit)
    ).all()
    if len(times) < limit:
        return 0.0
    return max(0.0, (times[-1] + window - now).total_seconds())


def check(session: Session, limits: SignInLimits, username: str, client: str) -> None:
    """Refuse (`TooManyAttempts`, with seconds to wait) while either window is full."""
    now = utcnow()
    account = _wait_s(
        session,
        now,
        limits.account_failures,
        timedelta(minutes=limits.account_window_min),
        SignInFailure.username == account_key(username),
        SignInFailure.client == client[:CLIENT_LEN],
    )
    from_client = _wait_s(
        session,
        now,
        limits.client_failures,
        timedelta(minutes=limits.client_window_min),
        SignInFailure.client == client[:CLIENT_LEN],
    )
    wait = max(account, from_client)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        raise TooManyAttempts(
            f"too many failed sign-ins {'from this address' if from_client else 'for this account'}"
            f"; try again in {minutes} minute{'s' if minutes > 1 else ''}",
            retry_after=math.ceil(wait),
        )


def record_failure(session: Session, limits: SignInLimits, username: str, client: str) -> bool:
    """Count one failure (in the caller's transaction) and drop rows no window needs any
    more; True when this failure filled a window (the audit notes the lock)."""
    now = utcnow()
    oldest = now - timedelta(minutes=max(limits.account_window_min, limits.client_window_min))
    session.execute(delete(SignInFailure).where(SignInFailure.time < oldest))
    session.add(SignInFailure(time=now, username=account_key(username), client=client[:CLIENT_LEN]))
    session.flush()
    try:
        check(session, limits, username, client)
    except TooManyAttempts:
        return True
    return False


def forget(session: Session, username: str, client: str) -> None:
    """A right password clears that account's failures from that client (not the client's
    failures on other accounts)."""
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.username == account_key(username),
            SignInFailure.client == client[:CLIENT_LEN],
        )
    )
