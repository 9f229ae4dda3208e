"""The server side of the fleet: the signing key, the MQTT service (change publisher,
event and status subscriber) and the broker's per-device logins. The operations they
serve are in `server.operations.devices` and `server.operations.fleet_sync`."""
