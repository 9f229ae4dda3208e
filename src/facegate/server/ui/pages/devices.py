"""The Devices page: every edge device with whether it is online, when it was last
heard from and how far its gallery is behind the server's; admins create one (its
enrolment token is shown once, in the page, never stored) and revoke one. Changes go
through the REST API from the page's script, as the Users page does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from facegate.server.auth import Role
from facegate.server.deps import DB, State
from facegate.server.operations import devices, entrances
from facegate.server.ui.common import login_redirect, page, who_of

router = APIRouter(include_in_schema=False)


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, session: DB, state: State) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    names = entrances.entrance_names(session)
    return page(
        request,
        "devices.html",
        who,
        devices=devices.list_devices(session),
        entrance_names=names,
        fleet=state.fleet.health(),
        can_admin=who.allows(Role.ADMIN),
    )
