"""`facegate bench fleet`: a city of simulated edge devices against the real server.

What runs (all on this machine, on loopback):
- PostgreSQL: a fresh database (`dataset`), by default 100,000 residents across 2,000
  entrances with one rule each, bulk-copied after the server's own migrations;
- Mosquitto: our own instance on a free port (`services.Broker`), so it can be restarted;
- the server: `facegate serve` in a subprocess with `fleet.mqtt_url` set (its publisher and
  event ingest are what is measured);
- the devices: N edge sync clients with their own SQLite store and outbox
  (`devices`), their MQTT sessions on one asyncio loop in this process.

For each fleet size (`--devices 100,1000`): enrolments reaching the devices that need them,
a new device with 500 residents coming into sync, event ingest into PostgreSQL, and a
broker restart plus a server crash in the middle of an event storm (`phases`). The report
gives each figure with its target and the ratio to it, the server's memory, and the load
average, since the box is shared.
"""
