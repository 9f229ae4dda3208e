"""The fleet: intercoms on their own small computers, kept in sync with one server.

- `protocol`: the contract both sides sign and check (topics, messages, versions, signatures);
- `config`: the `fleet:` section (broker, budgets), shared by the server and the edge agent;
- `edge/`: the edge agent (`facegate edge`): local store, outbox, sync client, the agent.

The server's side (devices, change outbox, publisher, event ingest) lives with the server,
in `facegate.server`, and imports this package, never the reverse.
"""
