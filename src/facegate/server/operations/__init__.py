"""The server's operations: every change and query the REST API and the web UI make, one
module per resource (`residents`, `rules`, `users`, `entrances`, `events`), so both
validate, store, audit and restart runtimes the same way and a fix lands in both.

Operations take plain arguments (a SQLAlchemy session, the `ServerState` where they need it,
the acting `Principal`) and return the response models of `facegate.server.schemas`. They
refuse with `facegate.server.errors` (codes, no HTTP): the API turns those into its JSON
errors (`facegate.server.api.errors`), the UI into messages next to its forms.
"""
