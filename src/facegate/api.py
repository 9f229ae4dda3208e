"""What FaceGate does, as plain functions: the CLI and the REST API both call these.

Every function takes an engine and (where needed) a gallery store, and raises a
FaceGateError subclass with a message fit for the user on any bad input.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from facegate.engine import FaceEngine
from facegate.errors import (
    FaceGateError,
    FaceQualityError,
    MultipleFacesError,
    NoFaceError,
    OtherResidentFaceError,
)
from facegate.gallery.matcher import Candidate, Gallery, Match, load_galleries
from facegate.gallery.store import GalleryStore, NewTemplate, Person
from facegate.imageio import load_image
from facegate.models.align import align_arcface
from facegate.models.base import Face
from facegate.runtime.quality import brightness, frontalness, sharpness

ImageSource = str | os.PathLike[str] | bytes

#: A second face at least this fraction of the largest one's size is another person in shot.
OTHER_PERSON_RATIO = 0.4
#: A new photo of a person that scores below the threshold at this per-comparison FMR against
#: every other photo of them probably shows someone else: a warning (a genuine pair passes
#: it in about 99 % of gray-LFW pairs for SFace, docs/accuracy.md).
MISMATCH_FMR = 1e-3
#: A new photo that matches another enrolled person at this FMR is refused unless confirmed:
#: both were seen to make the door deny a resident (the wrong person's photo under a name,
#: or one person under two names). Strict, so a gallery of thousands rarely cries wolf.
OTHER_PERSON_FMR = 1e-5


def read(engine: FaceEngine, source: ImageSource) -> np.ndarray:
    return load_image(source, max_pixels=engine.config.max_image_pixels)


def _label(source: ImageSource) -> str:
    return "upload" if isinstance(source, bytes) else str(source)


# -- enrolment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolFace:
    """The one face of an enrolment photo that passed the quality gate."""

    face: Face
    size_px: float
    sharpness: float


def enrolment_face(engine: FaceEngine, image: np.ndarray, label: str = "image") -> EnrolFace:
    """Exactly one clear, large enough face, or an error that says what is wrong and by how much."""
    faces = engine.detect(image)
    if not faces:
        raise NoFaceError(f"{label}: no face found")
    main = faces[0]
    others = [f for f in faces[1:] if f.size >= OTHER_PERSON_RATIO * main.size]
    if others:
        raise MultipleFacesError(
            f"{label}: {len(others) + 1} faces found; an enrolment photo must show one person"
        )
    q = engine.config.enrol
    if main.size < q.min_face_px:
        raise FaceQualityError(
            f"{label}: face too small ({main.size:.0f} px; enrolment needs at least "
            f"{q.min_face_px:.0f} px); use a closer or larger photo",
            "too_small",
        )
    aligned = align_arcface(image, main.landmarks)
    # exposure before blur: a dark face also has little contrast, and "too dark" is the
    # advice that fixes it
    light = brightness(aligned)
    if light < q.min_brightness:
        raise FaceQualityError(
            f"{label}: face too dark (brightness {light:.0f}; enrolment needs at least "
            f"{q.min_brightness:.0f}); use a better lit photo",
            "too_dark",
        )
    if light > q.max_brightness:
        raise FaceQualityError(
            f"{label}: face too bright (brightness {light:.0f}; enrolment needs at most "
            f"{q.max_brightness:.0f}); avoid flash or direct light",
            "too_bright",
        )
    sharp = sharpness(aligned)
    if sharp < q.min_sharpness:
        raise FaceQualityError(
            f"{label}: face too blurry (sharpness {sharp:.1f}; enrolment needs at least "
            f"{q.min_sharpness:.1f}); use a sharper photo",
            "too_blurry",
        )
    frontal = frontalness(main)
    if frontal < q.min_frontal:
        raise FaceQualityError(
            f"{label}: looking away (frontal {frontal:.2f}; enrolment needs at least "
            f"{q.min_frontal:.2f}); use a photo looking at the camera",
            "looking_away",
        )
    return EnrolFace(main, main.size, sharp)


@dataclass
class EnrolReport:
    person: Person | None
    accepted: list[str] = field(default_factory=list)
    rejected: list[tuple[str, FaceGateError]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # accepted, but worth a second look

    def to_dict(self) -> dict:
        return {
            "person": {"id": self.person.id, "name": self.person.name, "photos": self.person.photos}
            if self.person
            else None,
            "accepted": self.accepted,
            "rejected": [
                {"source": s, "error": e.code, "message": str(e)} for s, e in self.rejected
            ],
            "warnings": self.warnings,
        }


def enroll(
    engine: FaceEngine,
    store: GalleryStore,
    name: str,
    sources: Sequence[ImageSource],
    *,
    confirm_other_person: bool = False,
) -> EnrolReport:
    """Enrol every good photo (templates for every configured model, one transaction);
    report each bad one with its reason. Nothing is written if no photo passes.

    Each photo is also checked against the gallery with the decision model: a face that
    already belongs to another person is refused (`OtherResidentFaceError`) unless
    `confirm_other_person`, and a face that does not match this person's other photos is
    accepted with a warning."""
    report = EnrolReport(None)
    photos: list[tuple[str, float, dict[str, np.ndarray]]] = []
    for src in sources:
        label = _label(src)
        try:
            image = read(engine, src)
            ef = enrolment_face(engine, image, label)
            embs = {m: engine.embed(image, ef.face, model=m) for m in engine.model_names}
            photos.append((label, ef.sharpness, embs))
        except FaceGateError as exc:
            report.rejected.append((label, exc))
    photos = _check_identity(engine, store, name, photos, report, confirm_other_person)
    templates = [
        NewTemplate(m, engine.version(m), emb, sharp, label)
        for label, sharp, embs in photos
        for m, emb in embs.items()
    ]
    report.accepted = [label for label, _, _ in photos]
    if templates:
        report.person = store.add_person(name, templates)
    return report


def _check_identity(
    engine: FaceEngine,
    store: GalleryStore,
    name: str,
    photos: list[tuple[str, float, dict[str, np.ndarray]]],
    report: EnrolReport,
    confirm_other_person: bool,
) -> list[tuple[str, float, dict[str, np.ndarray]]]:
    """The photos that may be enrolled; refusals and warnings go into `report`."""
    if not photos:
        return photos
    model = engine.config.model
    try:
        gallery = Gallery(store.templates(model), engine.version(model))
    except FaceGateError as exc:  # e.g. templates of an older model: checked on re-enrolment
        report.warnings.append(f"photos not checked against the gallery: {exc}")
        return photos
    key = name.strip().casefold()
    other_t = engine.threshold(model, OTHER_PERSON_FMR)
    same_t = engine.threshold(model, MISMATCH_FMR)
    kept = []
    for label, sharp, embs in photos:
        scores = gallery.scores(embs[model])
        own = [s for pid, s in scores.items() if gallery.names[pid].strip().casefold() == key]
        own += [float(embs[model] @ e[model]) for lb, _, e in photos if lb != label]
        others = [
            (s, gallery.names[pid])
            for pid, s in scores.items()
            if gallery.names[pid].strip().casefold() != key
        ]
        best_other = max(others, default=None)
        if best_other is not None and best_other[0] >= other_t:
            message = (
                f"{label}: this face already belongs to {best_other[1]} ({model} "
                f"{best_other[0]:.3f} >= {other_t:.3f}); enrolling it under {name} would make "
                f"the door confuse them"
            )
            if not confirm_other_person:
                report.rejected.append(
                    (label, OtherResidentFaceError(message + "; confirm to enrol it anyway"))
                )
                continue
            report.warnings.append(message + " (confirmed)")
        if own and max(own) < same_t:
            report.warnings.append(
                f"{label}: does not look like the other photos of {name} (best {model} "
                f"{max(own):.3f} < {same_t:.3f}): check that it shows the same person"
            )
        kept.append((label, sharp, embs))
    return kept


# -- identification ------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceMatch:
    face: Face
    match: Match
    scores: dict[str, float]  # per model score of the best candidate

    def to_dict(self) -> dict:
        return {
            **self.face.to_dict(),
            **self.match.to_dict(),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
        }


def _galleries(engine: FaceEngine, store: GalleryStore) -> dict[str, Gallery]:
    """The galleries a 1:N answer is decided on: the model's, or every model's for fusion."""
    models = engine.model_names if engine.config.fusion else [engine.config.model]
    return load_galleries(store, {m: engine.version(m) for m in models})


def match_face(
    engine: FaceEngine,
    galleries: dict[str, Gallery],
    image: np.ndarray,
    face: Face,
    top_k: int = 5,
) -> FaceMatch:
    """Search one face; with fusion the per-person score is the fused z-score of all models."""
    if not engine.config.fusion:
        model = engine.config.model
        emb = engine.embed(image, face, model=model)
        m = galleries[model].identify(emb, engine.threshold(model), top_k)
        return FaceMatch(face, m, {model: m.score})
    per_model = {n: g.scores(engine.embed(image, face, model=n)) for n, g in galleries.items()}
    people = set.intersection(*(set(s) for s in per_model.values())) if per_model else set()
    names = next(iter(galleries.values())).names
    fused = sorted(
        ((p, engine.fuse({n: s[p] for n, s in per_model.items()})) for p in people),
        key=lambda kv: kv[1],
        reverse=True,
    )
    threshold = engine.fusion_calibration().threshold(engine.config.fmr)
    cands = [Candidate(p, names[p], s) for p, s in fused[:top_k]]
    best = cands[0] if cands else None
    match = Match(
        best if best and best.score >= threshold else None,
        best.score if best else float("-inf"),
        threshold,
        cands,
    )
    scores = {n: s[best.person_id] for n, s in per_model.items()} if best else {}
    return FaceMatch(face, match, scores)


def identify(
    engine: FaceEngine, store: GalleryStore, source: ImageSource, top_k: int = 5
) -> list[FaceMatch]:
    """Every face in the image against the gallery, largest face first."""
    image = read(engine, source)
    faces = engine.detect(image)
    if not faces:
        raise NoFaceError(f"{_label(source)}: no face found")
    galleries = _galleries(engine, store)
    return [match_face(engine, galleries, image, f, top_k) for f in faces]


# -- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    same: bool
    score: float
    threshold: float
    model: str
    fmr: float
    faces: tuple[int, int]

    def to_dict(self) -> dict:
        return {
            "same": self.same,
            "score": round(self.score, 4),
            "threshold": round(self.threshold, 4),
            "model": self.model,
            "fmr": self.fmr,
            "faces": list(self.faces),
        }


def verify(engine: FaceEngine, a: ImageSource, b: ImageSource) -> VerifyResult:
    """1:1: the largest face of each image, same person at the configured FMR?"""
    embs: dict[str, list[np.ndarray]] = {}
    counts = []
    models = engine.model_names if engine.config.fusion else [engine.config.model]
    for src in (a, b):
        image = read(engine, src)
        faces = engine.detect(image)
        if not faces:
            raise NoFaceError(f"{_label(src)}: no face found")
        counts.append(len(faces))
        for m in models:
            embs.setdefault(m, []).append(engine.embed(image, faces[0], model=m))
    fmr = engine.config.fmr
    if engine.config.fusion:
        score = engine.fuse({m: engine.compare(*v) for m, v in embs.items()})
        threshold = engine.fusion_calibration().threshold(fmr)
        model = "fusion"
    else:
        model = engine.config.model
        score = engine.compare(*embs[model])
        threshold = engine.threshold(model, fmr)
    return VerifyResult(score >= threshold, score, threshold, model, fmr, (counts[0], counts[1]))


def embed(engine: FaceEngine, source: ImageSource, model: str | None = None) -> list[dict]:
    """Every face with its box, landmarks, detector score and embedding."""
    image = read(engine, source)
    faces = engine.detect(image)
    embs = engine.embed_faces(image, faces, model=model) if faces else []
    return [
        {**f.to_dict(), "embedding": [round(float(x), 6) for x in e]}
        for f, e in zip(faces, embs, strict=True)
    ]
