"""`/health`: what a monitor needs to know without signing in.

`degraded` whenever something that should work does not: the database, or an enabled
entrance with a source whose runtime is not running well (error, reconnecting, source_lost,
ended, or stopped while the server runs entrances). Each reason names the entrance, its
state and since when. A disabled entrance, one without a source, and every entrance of a
server started with `run_entrances: false` are as configured, not problems.

The HTTP status stays 200 for `degraded`: the API and the web UI still serve, and a load
balancer that took the server out of rotation because one camera is unplugged would take
every door's management with it. Monitoring alerts on the `status` field (see
docs/security.md, "Health").
"""

from __future__ import annotations

from sqlalchemy import select, text

from facegate.server.db.models import Entrance
from facegate.server.schemas import HealthOut, HealthProblem
from facegate.server.state import ServerState

_FINE = {"running", "starting", "disabled", "no_source"}


def health(state: ServerState) -> HealthOut:
    try:
        with state.sessions() as s:
            s.execute(text("SELECT 1"))
            rows = s.execute(
                select(Entrance.id, Entrance.name, Entrance.enabled, Entrance.source)
            ).all()
        db = "ok"
    except Exception as exc:  # the answer is "degraded", never an error page
        db, rows = f"unavailable: {exc.__class__.__name__}", []
    runs = state.config.server.run_entrances
    statuses = {name: state.entrances.status(i) for i, name, _, _ in rows}
    problems = []
    for _, name, enabled, source in rows:
        st = statuses[name]
        expected = enabled and source is not None and runs
        if expected and st.state not in _FINE:
            problems.append(
                HealthProblem(entrance=name, state=st.state, since=st.since, detail=st.detail)
            )
    fleet = state.fleet.health()
    return HealthOut(
        status="ok"
        if db == "ok" and not problems and fleet in ("off", "connected")
        else "degraded",
        fleet=fleet,
        database=db,
        problems=problems,
        entrances={n: st.state for n, st in statuses.items()},
        liveness={n: st.liveness for n, st in statuses.items() if st.liveness is not None},
    )
