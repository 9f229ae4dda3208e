"""`create_app(config)`: the REST API, the web UI, and the entrance runtimes of one server.

Everything the app owns (database, journal, runtimes, metrics) is created here and kept in
`app.state.fg`; the lifespan starts the runtimes and closes it all in reverse order.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from swagger_ui_bundle import swagger_ui_path

from facegate.config import FaceGateConfig
from facegate.engine import FaceEngine
from facegate.private import private_dir
from facegate.runtime.journal import Journal
from facegate.server.api import auth as auth_api
from facegate.server.api import (
    devices,
    entrances,
    errors,
    events,
    invites,
    links,
    live,
    recognition,
    residents,
    rules,
    users,
)
from facegate.server.auth import ensure_admin
from facegate.server.db.database import make_engine, migrate, session_factory, transaction
from facegate.server.db.models import Entrance
from facegate.server.deps import Viewer, get_state
from facegate.server.fleet.setup import close_fleet, fleet_service, start_fleet
from facegate.server.fleet.signing import load_signer
from facegate.server.metrics import Metrics
from facegate.server.operations import health as health_op
from facegate.server.operations.keys import seal_plaintext
from facegate.server.runtimes import EntranceManager
from facegate.server.schemas import HealthOut
from facegate.server.sql_gallery import SqlGallery
from facegate.server.state import ServerState
from facegate.server.web_security import WebSecurity
from facegate.vault import KEY_FILE_NAME, Vault

log = logging.getLogger("facegate.server")
UI_DIR = Path(__file__).with_name("ui")


def _journal(cfg: FaceGateConfig, vault: Vault) -> Journal:
    jc = cfg.runtime.journal
    return Journal(jc, jc.path or cfg.server.data_dir / "journal.sqlite", vault=vault)


def _first_run(state: ServerState) -> None:
    """The first admin, and the default entrance from the `runtime:` section (liveness
    included: the server's runtime checks what `facegate run` with that config checks)."""
    sc, rc = state.config.server, state.config.runtime
    with transaction(state.sessions) as s:
        generated = ensure_admin(s, sc.admin_user, sc.admin_password)
        if s.scalar(select(Entrance.id).limit(1)) is None:
            s.add(
                Entrance(
                    name=sc.default_entrance,
                    enabled=True,
                    source=rc.source.model_dump(mode="json") if rc.source else None,
                    door=rc.door.model_dump(mode="json"),
                    decision=rc.decision.model_dump(mode="json"),
                    quality=rc.quality.model_dump(mode="json"),
                    liveness=rc.liveness.model_dump(mode="json"),
                )
            )
    if generated:
        print(
            f"FaceGate: first admin {sc.admin_user!r} created with password {generated!r}"
            " - shown only this once; set FACEGATE_ADMIN_PASSWORD to choose it",
            file=sys.stderr,
            flush=True,
        )


def build_state(config: FaceGateConfig, face_engine: FaceEngine | None = None) -> ServerState:
    sc = config.server
    private_dir(sc.data_dir)  # 0700: database, journal, snapshots and key are the owner's
    vault = Vault.load(None, sc.data_dir / KEY_FILE_NAME)  # $FACEGATE_KEY(_FILE) or made
    db = make_engine(sc.resolved_database_url(), timeout_s=sc.db_timeout_s)
    migrate(db)
    sessions = session_factory(db)
    journal = _journal(config, vault)
    metrics = Metrics()
    manager = EntranceManager(
        sessions,
        config.engine,
        config.runtime,
        journal,
        metrics,
        vault=vault,
        run=sc.run_entrances,
        timezone=sc.timezone,
    )
    signer = load_signer(sc.data_dir)
    state = ServerState(
        config=config,
        db=db,
        sessions=sessions,
        gallery=SqlGallery(sessions, vault),
        journal=journal,
        entrances=manager,
        metrics=metrics,
        signer=signer,
        fleet=fleet_service(config, sessions, signer, vault),
        _engine=face_engine,
    )
    seal_plaintext(sessions, journal, vault)  # rows and snapshots of older versions
    _first_run(state)
    return state


def create_app(
    config: FaceGateConfig | None = None, *, face_engine: FaceEngine | None = None
) -> FastAPI:
    """The whole server for one config; nothing is shared between two apps. `face_engine`
    lets a caller (tests, an embedding program) reuse models it already loaded."""
    config = config or FaceGateConfig()
    state = build_state(config, face_engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.entrances.start_all()
        start_fleet(state.fleet)
        try:
            yield
        finally:
            close_fleet(state.fleet)
            state.entrances.close()
            state.journal.close()
            state.db.dispose()

    app = FastAPI(
        title="FaceGate",
        version="1.0",
        lifespan=lifespan,
        docs_url=None,
        description="Residents, photos, entrances, access rules and door events of a "
        "FaceGate installation. Sign in with `POST /api/v1/auth/token` (bearer token) or send "
        "an `X-API-Key`.",
    )
    app.state.fg = state
    errors.install(app)
    app.add_middleware(WebSecurity)  # CSRF check and security headers, every response

    api = APIRouter(prefix="/api/v1")
    for r in (
        auth_api.router,
        users.router,
        residents.router,
        recognition.router,
        entrances.router,
        rules.router,
        events.router,
        live.router,
        invites.router,
        devices.router,
        devices.device_router,
    ):
        api.include_router(r)
    app.include_router(api)
    links.install(app)  # OpenAPI links: a create's answer -> its follow-up operations

    @app.get("/health", response_model=HealthOut, tags=["system"])
    def health() -> HealthOut:
        """For load balancers and monitoring, no sign-in needed: `degraded` with the reasons
        (`problems`: which entrance, which state, since when) when the database or an enabled
        entrance is not working; still HTTP 200 (`operations.health` says why). Also each
        entrance's state and what its liveness stage checks (and does not)."""
        return health_op.health(state)

    @app.get(
        "/metrics",
        response_class=Response,
        tags=["system"],
        responses={200: {"content": {"text/plain": {}}}},
    )
    def metrics(who: Viewer) -> Response:
        """Prometheus text format: frames/s, time-to-open histogram, events by decision."""
        return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")

    from facegate.server.ui.pages import enrol as enrol_pages
    from facegate.server.ui.routes import router as ui_router

    app.include_router(ui_router)
    app.include_router(enrol_pages.router)  # self-enrolment: the resident's page too
    app.mount("/static/swagger", StaticFiles(directory=str(swagger_ui_path)), name="swagger")
    app.mount("/static", StaticFiles(directory=UI_DIR / "static"), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        """Swagger UI from the installed package: /docs works with no internet access. Its
        inline start-up script carries the request's CSP nonce (`web_security`)."""
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="FaceGate API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )
        nonce = request.state.csp_nonce
        html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
        return Response(html, media_type="text/html")

    assert get_state  # the dependency that finds `state` again per request
    return app


def serve(
    config: FaceGateConfig,
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: str | None = None,
    database_url: str | None = None,
) -> int:
    """Run the server with uvicorn until Ctrl-C. Flags beat $FACEGATE_* beat the config."""
    import os

    import uvicorn

    from facegate.errors import ConfigError

    sc = config.server
    updates: dict[str, object] = {}
    env_port = os.environ.get("FACEGATE_PORT")
    if port is None and env_port:
        try:
            port = int(env_port)
        except ValueError:
            raise ConfigError(f"FACEGATE_PORT must be a port number, got {env_port!r}") from None
    for key, value in (
        ("host", host),
        ("port", port),
        ("data_dir", data_dir),
        ("database_url", database_url),
        ("admin_user", os.environ.get("FACEGATE_ADMIN_USER")),
        ("admin_password", os.environ.get("FACEGATE_ADMIN_PASSWORD")),
    ):
        if value is not None and value != "":
            updates[key] = value
    try:
        sc = type(sc).model_validate({**sc.model_dump(), **updates})
    except ValueError as exc:
        raise ConfigError(f"server settings: {exc}") from None
    config = config.model_copy(update={"server": sc})
    app = create_app(config)
    print(
        f"FaceGate is serving http://{sc.host}:{sc.port} (data in {sc.data_dir})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=sc.host, port=sc.port, log_level="warning")
    return 0
