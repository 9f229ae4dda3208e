"""How `create_app` turns the fleet on: a `FleetService` when `fleet.mqtt_url` is set,
else `NoBroker` (entrances run in the server process; devices can still be made, enrol and
take snapshots over HTTP, but nothing is published)."""

from __future__ import annotations

import logging

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from facegate.config import FaceGateConfig
from facegate.fleet.protocol import Signer
from facegate.server.db.database import transaction
from facegate.server.db.fleet_models import Device, FleetChange
from facegate.server.fleet.service import FleetService
from facegate.server.operations.devices import BrokerLink, NoBroker
from facegate.vault import Vault

log = logging.getLogger("facegate.server.fleet")


def fleet_service(
    config: FaceGateConfig, sessions: sessionmaker[Session], signer: Signer, vault: Vault
) -> BrokerLink:
    if config.fleet.mqtt_url:
        return FleetService(config.fleet, sessions, signer, vault, config.server.timezone)
    with transaction(sessions) as s:
        # no device to tell: the change outbox would only grow (with devices it waits, so
        # turning the broker on later still delivers every change)
        if not s.scalar(select(exists().where(Device.revoked_at.is_(None)))):
            s.execute(delete(FleetChange))
    return NoBroker()


def start_fleet(link: BrokerLink) -> None:
    if isinstance(link, FleetService):
        link.start()


def close_fleet(link: BrokerLink) -> None:
    if isinstance(link, FleetService):
        link.close()
