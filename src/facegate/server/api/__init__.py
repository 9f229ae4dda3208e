"""REST API routers, all under /api/v1 (see `facegate.server.app`)."""
