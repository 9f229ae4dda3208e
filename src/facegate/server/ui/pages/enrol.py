"""Self-enrolment pages (`operations.invites`).

`/enrol/{token}` is the resident's page: no sign-in, the link's token is the credential.
So its answer carries `Referrer-Policy: strict-origin` (requests the page makes send only
this server's origin as Referer, never the path with the token, while `Origin` still
passes the CSRF check) and `Cache-Control: no-store`, and it is rate-limited like the
endpoints it calls. Its script is a static file (`static/enrol.js`) under the same strict
CSP as every page; the strings it shows come translated in a JSON block.

`/enrolment` (every photo waiting for approval and the open links) and
`/residents/{id}/enrolment` (one resident's: the fragment the resident page loads) are the
manager's side; `static/enrol_admin.js` calls the REST API from them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from facegate.server.auth import Role
from facegate.server.db.models import Resident
from facegate.server.deps import DB, State, client_address
from facegate.server.errors import InviteRefused, NotFound, TooManyAttempts
from facegate.server.i18n import Translator
from facegate.server.operations import invites, residents
from facegate.server.operations.common import fetch
from facegate.server.operations.event_text import N_
from facegate.server.ui.common import language, login_redirect, page, templates, who_of

router = APIRouter(include_in_schema=False)

POSE_LABELS = {
    "straight": N_("Looking straight"),
    "left": N_("Turned left"),
    "right": N_("Turned right"),
}
REFUSALS = {
    "invite_unknown": N_(
        "This enrolment link is not known. Check that the whole link was copied, or ask the building manager for a new one."  # noqa: E501
    ),
    "invite_expired": N_(
        "This enrolment link has expired. Ask the building manager for a new one."
    ),
    "invite_used": N_("The photos of this link were sent already. Thank you!"),
    "invite_revoked": N_(
        "This enrolment link was withdrawn. Ask the building manager for a new one."
    ),
    "too_many_attempts": N_("Too many tries: wait a minute and try again."),
}
PRIVATE_HEADERS = {
    "Referrer-Policy": "strict-origin",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}


def _texts(_: Translator) -> dict[str, object]:
    """Every string the page's script shows, in the reader's language."""
    return {
        "step": _("Photo {n} of {total}:"),
        "pose": {
            "straight": _("look straight at the camera."),
            "left": _("turn your head a little to your left."),
            "right": _("turn your head a little to your right."),
        },
        "labels": {k: _(v) for k, v in POSE_LABELS.items()},
        "taken": _("Photo taken: {pose}"),
        "all_taken": _("All three photos are taken: check them and send them."),
        "hints": {
            "wait": _("Checking the picture…"),
            "ok": _("Good: take the photo now."),
            "no_face": _("No face found: look at the camera."),
            "several_faces": _("One face only, please: nobody else in the picture."),
            "too_small": _("Come closer to the camera."),
            "too_dark": _("Too dark: turn towards a light."),
            "too_bright": _("Too bright: move out of direct light."),
            "too_blurry": _("Blurred: hold the phone still."),
            "looking_away": _("Turned too far: turn back a little."),
            "bad_file": _("The camera picture could not be read."),
        },
        "pose_hints": {
            "turn_left": _("Now turn your head a little to your left."),
            "turn_right": _("Now turn your head a little to your right."),
            "look_straight": _("Look straight at the camera."),
        },
        "sending": _("Sending the photos…"),
        "pending": _("Thank you! Your photos were sent; the building manager will check them."),
        "enrolled": _("Thank you! You are enrolled: the door will recognise you from now on."),
        "retake": _("Please take the photo “{pose}” again:"),
        "insecure": _(
            "The browser allows the camera only on a secure (https://) page. Ask the building manager for an https link."  # noqa: E501
        ),
        "no_camera": _("This browser cannot use a camera."),
        "camera_denied": _(
            "The camera could not be opened: allow camera access for this page and reload it."
        ),
        "errors": {
            **{code: _(text) for code, text in REFUSALS.items()},
            "busy": _("The server is busy: try again in a moment."),
            "network": _("The photos could not be sent: check the connection and try again."),
            "other": _("Something went wrong: {why}"),
        },
    }


@router.get("/enrol/{token}", response_class=HTMLResponse)
def enrol_page(request: Request, token: str, session: DB, state: State) -> Response:
    """The resident's page; a link that cannot be used says why (404/410/429)."""
    _ = Translator(language(request))
    ctx: dict[str, object] = {"who": None, "token": token, "error": None}
    status = 200
    try:
        invites.limit(state, token[:128], client_address(request), "view")
        ctx["view"] = invites.invite_view(session, token[:128])
    except TooManyAttempts as exc:
        ctx["error"] = REFUSALS["too_many_attempts"]
        headers = {**PRIVATE_HEADERS, "Retry-After": str(exc.retry_after)}
        return templates.TemplateResponse(
            request, "enrol.html", ctx, status_code=429, headers=headers
        )
    except InviteRefused as exc:
        ctx["error"] = REFUSALS[exc.code]
        status = 404 if isinstance(exc, NotFound) else 410
    ctx.update(
        texts=_texts(_),
        pose_labels=POSE_LABELS,
        auto_accept=state.config.server.self_enrolment.auto_accept,
    )
    return templates.TemplateResponse(
        request, "enrol.html", ctx, status_code=status, headers=PRIVATE_HEADERS
    )


def _admin_texts(_: Translator) -> dict[str, str]:
    return {
        "created": _("Send this link to the resident (it is shown only now):"),
        "copied": _("Copied."),
        "approved": _("Enrolled."),
        "rejected": _("Rejected: the photo was deleted."),
        "other": _("This face looks like another resident's. Tick the box to enrol it anyway."),
        "revoked": _("The link no longer works."),
    }


def _enrolment(request: Request, session: DB, state: State, resident_id: int | None) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    resident = None
    if resident_id is not None:
        try:
            resident = fetch(session, Resident, resident_id, "resident")
        except NotFound:
            return Response(status_code=404)
    _ = Translator(language(request))
    ctx = {
        "resident": resident,
        "pending": invites.list_pending(session, resident_id),
        "invites": [i for i in invites.list_invites(session, resident_id) if i.status == "open"],
        "can_change": who.allows(Role.OPERATOR),
        "ttl_h": state.config.server.self_enrolment.invite_ttl_h,
        "pose_labels": POSE_LABELS,
        "admin_texts": _admin_texts(_),
        "names": residents.resident_names(session) if resident_id is None else {},
    }
    if resident_id is not None:  # the fragment the resident page loads
        return templates.TemplateResponse(
            request,
            "_enrolment.html",
            {"who": who, "Role": Role, **ctx},
            headers={"Cache-Control": "no-store"},
        )
    return page(request, "enrolment.html", who, **ctx)


@router.get("/enrolment", response_class=HTMLResponse)
def enrolment_page(request: Request, session: DB, state: State) -> Response:
    """Every photo waiting for approval, and the links still open."""
    return _enrolment(request, session, state, None)


@router.get("/residents/{resident_id}/enrolment", response_class=HTMLResponse)
def resident_enrolment(request: Request, resident_id: int, session: DB, state: State) -> Response:
    return _enrolment(request, session, state, resident_id)
