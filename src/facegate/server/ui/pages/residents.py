"""The residents' pages: a searchable list with a thumbnail each, a page per resident (photos,
the rules that let them in, their latest events, edit and deactivate), and the bulk import
with its report. All read and change through the operations the API uses; the import form
is a plain multipart post (it works without JS), the photo upload and edits call the API.

Photo refusals and import verdicts are shown in plain words (`REASON_WORDS`), keyed on the
stable `reason` codes the API returns, with the engine's exact message beside them.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from facegate.errors import FaceGateError
from facegate.server.api.uploads import read_upload
from facegate.server.auth import Role
from facegate.server.deps import DB, State
from facegate.server.errors import NotFound, UploadTooLarge
from facegate.server.i18n import Translator
from facegate.server.operations import entrances, residents
from facegate.server.operations.event_text import N_, describe_event
from facegate.server.operations.import_files import ImportLimits
from facegate.server.operations.resident_import import import_residents
from facegate.server.operations.resident_overview import resident_overview, search_residents
from facegate.server.ui.common import language, login_redirect, page, who_of

router = APIRouter(include_in_schema=False)
PER_PAGE = 50

#: A refused photo or import row, in words a building manager acts on.
REASON_WORDS = {
    "no_face": N_("no face found"),
    "several_faces": N_("several faces: one person per photo"),
    "too_small": N_("face too small: step closer"),
    "too_dark": N_("too dark"),
    "too_bright": N_("too bright: avoid flash and direct light"),
    "too_blurry": N_("too blurry"),
    "looking_away": N_("looking away: look straight at the camera"),
    "bad_file": N_("not a photo this server can read"),
    "upload_too_large": N_("file too large"),
    "face_of_other_resident": N_("this face belongs to another resident"),
    "photo_missing": N_("photo not found in the zip"),
    "unsafe_name": N_("file name points outside the zip: refused"),
    "ambiguous_name": N_("several files in the zip have this name"),
    "photo_too_large": N_("photo too large"),
    "bad_zip_entry": N_("the file cannot be unpacked"),
    "duplicate": N_("duplicate: a resident with this name exists"),
    "bad_row": N_("bad CSV row"),
    "no_photo_accepted": N_("no usable photo"),
    "error": N_("not imported"),
}


def reason_words(_: Translator) -> dict[str, str]:
    return {k: _(v) for k, v in REASON_WORDS.items()}


def _int(text: str, default: int) -> int:
    return int(text) if text.isdigit() and len(text) < 9 else default


@router.get("/residents", response_class=HTMLResponse)
def residents_page(request: Request, session: DB, q: str = "", page_no: str = "1") -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    q = q.strip()[:200]
    n = max(1, _int(page_no, 1))
    found = search_residents(session, q or None, limit=PER_PAGE, offset=(n - 1) * PER_PAGE)
    pages = max(1, -(-found.total // PER_PAGE))

    def link(k: int) -> str:
        return "/residents?" + urlencode({**({"q": q} if q else {}), "page_no": k})

    return page(
        request,
        "residents.html",
        who,
        found=found,
        q=q,
        page_no=n,
        pages=pages,
        prev_url=link(n - 1) if n > 1 else None,
        next_url=link(n + 1) if n < pages else None,
    )


def _import_page(request: Request, who, status_code: int = 200, **ctx: object) -> HTMLResponse:
    _ = Translator(language(request))
    return page(
        request,
        "resident_import.html",
        who,
        status_code,
        limits=ImportLimits(),
        words=reason_words(_),
        **{"report": None, "error": None, **ctx},
    )


@router.get("/residents/import", response_class=HTMLResponse)
def import_form(request: Request, session: DB) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    return _import_page(request, who)


@router.post("/residents/import", response_class=HTMLResponse)
def import_post(
    request: Request,
    session: DB,
    state: State,
    csv: Annotated[UploadFile, File()],
    photos: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The form's post: `operations.resident_import`, as `POST /api/v1/residents/import`;
    the report (or why the files were refused) is shown on the same page."""
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    if not who.allows(Role.OPERATOR):
        return _import_page(request, who, 403, error=N_("Only an operator or an admin can import."))
    limits = ImportLimits()
    try:
        csv_data = read_upload(csv, limits.csv_mb)
        zip_data = (
            read_upload(photos, limits.zip_mb) if photos is not None and photos.filename else None
        )
        report = import_residents(session, state, who, csv_data, zip_data or None, limits)
    except FaceGateError as exc:
        session.rollback()
        status = 413 if isinstance(exc, UploadTooLarge) else 400
        return _import_page(request, who, status, error=str(exc))
    return _import_page(request, who, report=report)


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident_page(request: Request, resident_id: int, session: DB, state: State) -> Response:
    who = who_of(request, session)
    if who is None:
        return login_redirect()
    try:
        r = residents.get_resident(session, resident_id)
        overview = resident_overview(session, state.journal, resident_id)
    except NotFound:
        return page(
            request,
            "message.html",
            who,
            404,
            title=N_("Not found"),
            message=N_("No resident with id {id}."),
            args={"id": resident_id},
        )
    _ = Translator(language(request))
    return page(
        request,
        "resident.html",
        who,
        r=r,
        photos=r.photo_list,
        overview=overview,
        events=[(e, describe_event(e, _)) for e in overview.events],
        entrance_names=entrances.entrance_names(session),
        words=reason_words(_),
    )
