"""The web UI's pages, one module each where a page has more than a handler's worth of
logic; `ui.routes` includes their routers."""
