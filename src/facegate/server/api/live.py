"""What an entrance's camera sees now: its newest frame as a JPEG, for the dashboard's
cards (refreshed every ~2 s) and any client that wants a look. Encoded on request from the
frame the runtime already holds, never stored, and never cached by a browser or proxy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from facegate.server.deps import State, Viewer
from facegate.server.operations import dashboard
from facegate.server.schemas import DB_INT, ERRORS

router = APIRouter(tags=["entrances"], responses={k: ERRORS[k] for k in (401, 403)})


@router.get(
    "/entrances/{entrance_id}/frame.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: ERRORS[404]},
)
def latest_frame(
    entrance_id: Annotated[int, Path(ge=1, le=DB_INT)], state: State, who: Viewer
) -> Response:
    """The entrance's newest camera frame (at most 640 px wide); 404 when its runtime is
    not running or its camera has sent nothing for 5 s."""
    return Response(
        dashboard.frame_jpeg(state, entrance_id),
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store"},
    )
