"""The management server: REST API, web UI and the entrance runtimes in one process.

Use `facegate.server.app.create_app` (or `serve`); its `server:` settings are a section of the
one config (`facegate.config.ServerConfig`).
"""
