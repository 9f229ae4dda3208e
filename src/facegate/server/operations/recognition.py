"""Face search for integrations: 1:N (`identify`) against the residents and 1:1 (`verify`).

A search tells the caller who someone in a photo is, so it is an operator's act, never a
viewer's: every search is written to the audit log (who, which endpoint, the outcome; never
the image), and a search that matches nobody names nobody. Candidates below the calibrated
threshold (the residents the face "almost" was) are returned only when an admin asks for
them explicitly (`include_below_threshold`), because a list of names with scores for a
stranger's face is a lookup service for whoever holds a photo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from facegate import api
from facegate.errors import FaceGateError
from facegate.server.auth import Principal, Role
from facegate.server.errors import Forbidden
from facegate.server.operations.common import audit, require
from facegate.server.schemas import CandidateOut, IdentifyOut, PersonRef, VerifyOut
from facegate.server.state import ServerState

T = TypeVar("T")


def _num(v: float) -> float | None:
    return round(float(v), 4) if math.isfinite(v) else None


def _audited(
    session: Session, who: Principal, endpoint: str, run: Callable[[], tuple[T, dict]]
) -> T:
    """Run a search and audit it, also when it fails (no face, bad file): the attempt is
    what the log is for. The audit entry is committed on its own, the search changes nothing."""
    try:
        result, detail = run()
    except FaceGateError as exc:
        audit(session, who, "face_search", endpoint, endpoint=endpoint, outcome=exc.code)
        session.commit()
        raise
    audit(session, who, "face_search", endpoint, endpoint=endpoint, **detail)
    session.commit()
    return result


def identify(
    session: Session,
    state: ServerState,
    who: Principal,
    data: bytes,
    top: int = 5,
    include_below_threshold: bool = False,
) -> IdentifyOut:
    """Who is the largest face in this photo: the match, if any, and the candidates at or
    above the threshold (below it too for an admin who asks)."""
    require(who, Role.OPERATOR)
    if include_below_threshold and not who.allows(Role.ADMIN):
        raise Forbidden("only an admin may list candidates below the match threshold")

    def run() -> tuple[IdentifyOut, dict]:
        with state.face_engine() as engine:
            results = api.identify(engine, state.gallery, data, top_k=top)
            model = "fusion" if engine.config.fusion else engine.config.model
            fmr = engine.config.fmr
        best = results[0]
        m = best.match
        shown = [c for c in m.candidates if include_below_threshold or c.score >= m.threshold]
        out = IdentifyOut(
            person=PersonRef(id=m.person.person_id, name=m.person.name) if m.person else None,
            score=_num(m.score),
            threshold=round(m.threshold, 4),
            model=model,
            fmr=fmr,
            bbox=[round(float(v), 1) for v in best.face.bbox],
            faces=len(results),
            candidates=[
                CandidateOut(person=PersonRef(id=c.person_id, name=c.name), score=round(c.score, 4))
                for c in shown
            ],
        )
        detail = {
            "outcome": "match" if m.person else "no_match",
            "resident_id": m.person.person_id if m.person else None,
            "faces": len(results),
            "candidates": len(shown),
            "below_threshold": include_below_threshold or None,
        }
        return out, detail

    return _audited(session, who, "identify", run)


def verify(
    session: Session, state: ServerState, who: Principal, first: bytes, second: bytes
) -> VerifyOut:
    """Are the largest faces of two photos the same person, at the configured FMR?"""
    require(who, Role.OPERATOR)

    def run() -> tuple[VerifyOut, dict]:
        with state.face_engine() as engine:
            r = api.verify(engine, first, second)
        out = VerifyOut(
            same=r.same,
            score=round(r.score, 4),
            threshold=round(r.threshold, 4),
            model=r.model,
            fmr=r.fmr,
            faces=list(r.faces),
        )
        return out, {"outcome": "same" if r.same else "different"}

    return _audited(session, who, "verify", run)
