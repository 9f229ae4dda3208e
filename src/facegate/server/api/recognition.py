"""1:N and 1:1 for integrations: `api.identify` / `api.verify`, as the CLI calls them,
with the same bad-input handling (a 4xx naming the problem, never a 500)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from facegate import api
from facegate.server.api.uploads import read_upload
from facegate.server.deps import State, Viewer
from facegate.server.schemas import ERRORS, CandidateOut, IdentifyOut, PersonRef, VerifyOut

router = APIRouter(
    tags=["recognition"],
    responses={k: ERRORS[k] for k in (400, 401, 403, 413, 503)}
    | {422: {"model": ERRORS[400]["model"], "description": "no face in the image"}},
)


def _num(v: float) -> float | None:
    return round(float(v), 4) if math.isfinite(v) else None


@router.post("/identify", response_model=IdentifyOut)
def identify(
    file: Annotated[UploadFile, File(description="a photo")],
    state: State,
    who: Viewer,
    top: Annotated[int, Query(ge=1, le=50)] = 5,
) -> IdentifyOut:
    """Who is the largest face in this photo? `person` is null when nobody in the gallery
    scores above the calibrated threshold."""
    data = read_upload(file, state.config.server.max_upload_mb)
    with state.face_engine() as engine:
        results = api.identify(engine, state.gallery, data, top_k=top)
        model = "fusion" if engine.config.fusion else engine.config.model
        fmr = engine.config.fmr
    best = results[0]
    m = best.match
    return IdentifyOut(
        person=PersonRef(id=m.person.person_id, name=m.person.name) if m.person else None,
        score=_num(m.score),
        threshold=round(m.threshold, 4),
        model=model,
        fmr=fmr,
        bbox=[round(float(v), 1) for v in best.face.bbox],
        faces=len(results),
        candidates=[
            CandidateOut(person=PersonRef(id=c.person_id, name=c.name), score=round(c.score, 4))
            for c in m.candidates
        ],
    )


@router.post("/verify", response_model=VerifyOut)
def verify(
    file1: Annotated[UploadFile, File(description="first photo")],
    file2: Annotated[UploadFile, File(description="second photo")],
    state: State,
    who: Viewer,
) -> VerifyOut:
    """Are the largest faces of two photos the same person, at the configured FMR?"""
    max_mb = state.config.server.max_upload_mb
    a, b = read_upload(file1, max_mb), read_upload(file2, max_mb)
    with state.face_engine() as engine:
        r = api.verify(engine, a, b)
    return VerifyOut(
        same=r.same,
        score=round(r.score, 4),
        threshold=round(r.threshold, 4),
        model=r.model,
        fmr=r.fmr,
        faces=list(r.faces),
    )
