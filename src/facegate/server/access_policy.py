"""The server's access policy: the runtime's `AccessPolicy` over the rules and residents in
the server database, so an entrance run by the server decides exactly as `facegate run`
would with the same rules in YAML."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from facegate.runtime.access import (
    AccessConfig,
    AccessPolicy,
    AccessRule,
    AccessVerdict,
    resident_refusal,
)
from facegate.server.db.database import counter, transaction
from facegate.server.db.fleet_capture import record_rule_uses
from facegate.server.db.fleet_models import uses_on_devices
from facegate.server.db.models import AccessRuleRow, Entrance, Resident
from facegate.server.sql_gallery import GALLERY

log = logging.getLogger("facegate.server.access")

#: The change counter bumped whenever a rule is written (see `db.database.bump`).
RULES = "rules"


class DbAccessPolicy(AccessPolicy):
    """The runtime's `AccessPolicy` over rules and residents in the server DB.

    Rules become an `AccessConfig` (resident ids -> names, entrance ids -> names), so the
    door decides exactly as `facegate run` would with the same rules in YAML. A resident who
    is inactive or outside valid-from/until is refused first. Guest-pass uses are persisted
    on every open, so a restart does not hand out extra uses, and count together with the
    opens edge devices report (`uses_on_devices`), which they are told of in turn.

    Two rules the YAML form does not need: weekly windows are read in the site's zone
    (`server.timezone`, the zone the UI shows and the rule form takes; the devices get the
    same), and "every resident may open" (`default_allow`) holds only while no active rule
    exists at all: rules whose every resident was deleted grant nothing, and must not turn
    the door into one that opens for every enrolled face.
    """

    def __init__(self, factory: sessionmaker[Session], timezone: str | None = None) -> None:
        super().__init__(AccessConfig())
        self._factory = factory
        self._timezone = timezone
        self._inner = AccessPolicy(AccessConfig())
        self._rule_ids: list[int] = []
        self._residents: dict[str, Resident] = {}
        self._version: tuple[int, int] | None = None
        self.refresh()

    def refresh(self, force: bool = False) -> bool:
        """Rebuild from the DB when rules or residents changed; True when it did."""
        with self._factory() as s:
            version = (counter(s, RULES), counter(s, GALLERY))
            if version == self._version and not force:
                return False
            residents = {r.id: r for r in s.scalars(select(Resident))}
            entrances = dict(s.execute(select(Entrance.id, Entrance.name)).all())
            rows = list(
                s.scalars(
                    select(AccessRuleRow).where(AccessRuleRow.active).order_by(AccessRuleRow.id)
                )
            )
            elsewhere = uses_on_devices(s)
            s.expunge_all()
        rules, ids, uses = [], [], {}
        for row in rows:
            people = (
                ["*"]
                if row.resident_ids is None
                else [residents[i].name for i in row.resident_ids if i in residents]
            )
            where = (
                ["*"]
                if row.entrance_ids is None
                else [entrances[i] for i in row.entrance_ids if i in entrances]
            )
            if not people or not where:
                continue  # everyone it named was deleted: it grants nothing
            rules.append(
                AccessRule(
                    people=people,
                    entrances=where,
                    windows=row.windows,
                    valid_from=row.valid_from,
                    valid_until=row.valid_until,
                    max_uses=row.max_uses,
                )
            )
            uses[len(ids)] = row.uses + elsewhere.get(row.id, 0)
            ids.append(row.id)
        config = AccessConfig(rules=rules, default_allow=not rows, timezone=self._timezone)
        inner = AccessPolicy(config, uses)
        with self._lock:
            self._inner, self._rule_ids = inner, ids
            self._residents = {r.name.casefold(): r for r in residents.values()}
            self._version = version
        return True

    def check(self, person: str, entrance: str, when: datetime) -> AccessVerdict:
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
        try:
            with transaction(self._factory) as s:
                s.execute(
                    update(AccessRuleRow)
                    .where(AccessRuleRow.id == ids[rule_index])
                    .values(uses=AccessRuleRow.uses + 1)
                )
                ents = s.scalar(
                    select(AccessRuleRow.entrance_ids).where(AccessRuleRow.id == ids[rule_index])
                )
                record_rule_uses(s, [(ids[rule_index], ents)])  # the devices count it too
        except Exception:  # the door already opened; the count is kept in memory meanwhile
            log.exception("could not persist the use of access rule %d", ids[rule_index])
        return n

    @property
    def uses(self) -> dict[int, int]:
        with self._lock:
            return self._inner.uses
