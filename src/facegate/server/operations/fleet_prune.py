"""Pruning the change outbox (`fleet_changes`): published rows are only history, but not
all of them.

What must stay:
* every unpublished row: the outbox itself (the publisher sends them);
* per (kind, subject), the newest *published* row: a resident's `rev` on the devices is
  the newest change number about them (`fleet_sync.revs`, the max seq). Deleting it would
  lower the rev the next snapshot carries below what devices already hold, and a
  redelivered older upsert could then win over a removal. Keeping the newest row also
  keeps the table's highest seq, so SQLite (whose rowid may reuse a deleted maximum) never
  hands out a change number twice.

The rest, published more than `KEEP` ago, is deleted (the publisher runs this hourly,
`server.fleet.service`). A device that was away longer than that loses nothing: it is
told by its chain version, not by these rows, and takes a snapshot on a gap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from facegate.server.db.fleet_models import FleetChange
from facegate.server.db.models import utcnow

KEEP = timedelta(days=1)
#: PostgreSQL advisory lock key of "this replica is pruning" (replicas take turns)
PRUNE_LOCK = 0x46475052  # "FGPR"


def prune_changes(session: Session, now: datetime | None = None, keep: timedelta = KEEP) -> int:
    """Delete the published changes no revision needs any more (see the module's
    docstring); returns how many. The caller commits. On PostgreSQL one replica prunes
    at a time (a transaction-level advisory lock, taken without waiting): the others
    find nothing to do at their next turn."""
    pg = session.get_bind().dialect.name == "postgresql"
    if pg and not session.scalar(select(func.pg_try_advisory_xact_lock(PRUNE_LOCK))):
        return 0
    cutoff = (now or utcnow()) - keep
    newest = (
        select(func.max(FleetChange.seq))
        .where(FleetChange.published_at.is_not(None))
        .group_by(FleetChange.kind, FleetChange.subject_id)
    )
    done = session.execute(
        delete(FleetChange)
        .where(
            and_(
                FleetChange.published_at.is_not(None),
                FleetChange.published_at < cutoff,
                FleetChange.seq.not_in(newest),
            )
        )
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)
