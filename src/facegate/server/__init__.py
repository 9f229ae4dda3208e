"""The management server: REST API, web UI and the entrance runtimes in one process.

Kept import-light: `facegate.config` imports `facegate.server.settings`, so nothing here may
import the config (or FastAPI) at package import time. Use `facegate.server.app.create_app`.
"""
