"""The device's access policy: the runtime's `AccessPolicy` over the rules and residents the
server synced into the `EdgeStore`, as the server's `DbAccessPolicy` is over its database,
so an edge door decides exactly as the server's own entrance (and `facegate run`) would.

One thing only a device has: `max_offline_s`. A site may prefer a door that stays shut to
one deciding from data it has not confirmed for hours (a resident moved out, the change
could not reach the device). With it set and the last sync older, every open is refused
with the reason said plainly; by default (None) the door keeps deciding from the last
synced data for as long as the server is away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.protocol import ResidentRecord
from facegate.runtime.access import (
    AccessConfig,
    AccessPolicy,
    AccessVerdict,
    resident_refusal,
)

log = logging.getLogger("facegate.edge.access")


def describe_age(seconds: float) -> str:
    """3 h, 25 min, 40 s: how a reason on the door reads an age."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.0f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


class EdgeAccessPolicy(AccessPolicy):
    """Rules and residents from the store, rebuilt when the store says they changed.

    A resident who is inactive or outside valid-from/until is refused first (as the server
    does); guest-pass uses are the server's count or this device's own, whichever is higher,
    and each open here is persisted in the store, so a restart hands out no extra use."""

    def __init__(
        self,
        store: EdgeStore,
        max_offline_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(AccessConfig())
        self._store = store
        self._max_offline_s = max_offline_s
        self._clock = clock
        self._inner = AccessPolicy(AccessConfig())
        self._rule_ids: list[int] = []
        self._residents: dict[str, ResidentRecord] = {}
        self._version: tuple[int, int] | None = None
        self.refresh()

    def refresh(self, force: bool = False) -> bool:
        """Rebuild from the store when rules or residents changed; True when it did."""
        gallery, rules_rev, _ = self._store.changes()
        version = (gallery, rules_rev)
        if version == self._version and not force:
            return False
        rules = self._store.rules()
        residents = self._store.residents()
        local = self._store.local_uses()
        ids = list(rules.rule_ids) if len(rules.rule_ids) == len(rules.rules) else []
        uses = {}
        for i in range(len(rules.rules)):
            server = rules.uses[i] if i < len(rules.uses) else 0
            mine = local.get(ids[i], 0) if ids else 0
            uses[i] = max(server, mine)
        inner = AccessPolicy(rules.access_config(), uses)
        with self._lock:
            self._inner, self._rule_ids = inner, ids
            self._residents = {r.name.strip().casefold(): r for r in residents}
            self._version = version
        return True

    def offline_refusal(self) -> str | None:
        """Why the door must stay shut because the data is too old to trust, or None."""
        if self._max_offline_s is None:
            return None
        last = self._store.last_sync
        if last is None:
            return "never synced with the server: this door is set to stay closed"
        age = self._clock() - last
        if age > self._max_offline_s:
            return f"no sync for {describe_age(age)}: this door is set to stay closed"
        return None

    def check(self, person: str, entrance: str, when: datetime) -> AccessVerdict:
        offline = self.offline_refusal()
        if offline is not None:
            return AccessVerdict(False, offline, None)
        with self._lock:
            res = self._residents.get(person.strip().casefold())
            inner = self._inner
        if res is not None:
            refusal = resident_refusal(person, res.active, res.valid_from, res.valid_until, when)
            if refusal is not None:
                return refusal
        return inner.check(person, entrance, when)

    def record_use(self, rule_index: int) -> int:
        with self._lock:
            inner, ids = self._inner, self._rule_ids
        n = inner.record_use(rule_index)
        if ids:
            try:
                self._store.record_use(ids[rule_index])
            except Exception:  # the door already opened; the count is kept in memory
                log.exception("could not persist the use of access rule %d", ids[rule_index])
        return n

    @property
    def uses(self) -> dict[int, int]:
        with self._lock:
            return self._inner.uses
