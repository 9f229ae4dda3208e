"""1:N search with open-set rejection: the best person, or "unknown" below the threshold.

A person's score is the best of their templates (several photos per person cover pose and
lighting). The gallery refuses templates made by another model version: comparing across
embedding spaces gives scores that look valid and mean nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from facegate.errors import ModelVersionMismatch
from facegate.gallery.store import GalleryStore, TemplateSet


@dataclass(frozen=True)
class Candidate:
    person_id: int
    name: str
    score: float


@dataclass(frozen=True)
class Match:
    """Result of 1:N search: `person` is None when nobody passes the threshold."""

    person: Candidate | None
    score: float
    threshold: float
    candidates: list[Candidate] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "person": {"id": self.person.person_id, "name": self.person.name}
            if self.person
            else None,
            "score": round(self.score, 4),
            "threshold": round(self.threshold, 4),
            "candidates": [
                {"id": c.person_id, "name": c.name, "score": round(c.score, 4)}
                for c in self.candidates
            ],
        }


class Gallery:
    """Templates of one model held in memory as one matrix: a search is one mat-vec."""

    def __init__(self, templates: TemplateSet, model_version: str) -> None:
        stale = templates.versions - {model_version}
        if stale:
            raise ModelVersionMismatch(
                f"the gallery's '{templates.model}' templates were made with model version "
                f"{', '.join(sorted(stale))}, but this engine runs {model_version}; "
                "re-enrol the people (their photos) with this model"
            )
        self.model = templates.model
        self.matrix = templates.matrix
        self.person_ids = templates.person_ids
        self.names = templates.names
        self._unique = np.unique(self.person_ids)
        # template row -> position of its person in self._unique, for a per-person max
        self._slot = np.searchsorted(self._unique, self.person_ids)

    def __len__(self) -> int:
        return len(self._unique)

    def __contains__(self, person_id: object) -> bool:
        """Whether the person has at least one template of this model."""
        i = int(np.searchsorted(self._unique, person_id)) if len(self._unique) else 0
        return i < len(self._unique) and self._unique[i] == person_id

    def scores(self, embedding: np.ndarray) -> dict[int, float]:
        """Best template score per person."""
        if not len(self.matrix):
            return {}
        sims = self.matrix @ np.asarray(embedding, np.float32).ravel()
        best = np.full(len(self._unique), -np.inf, np.float32)
        np.maximum.at(best, self._slot, sims)
        return {int(p): float(s) for p, s in zip(self._unique, best, strict=True)}

    def search(self, embedding: np.ndarray, top_k: int = 5) -> list[Candidate]:
        ranked = sorted(self.scores(embedding).items(), key=lambda kv: kv[1], reverse=True)
        return [Candidate(p, self.names[p], s) for p, s in ranked[:top_k]]

    def identify(self, embedding: np.ndarray, threshold: float, top_k: int = 5) -> Match:
        cands = self.search(embedding, top_k)
        if not cands:
            return Match(None, float("-inf"), threshold, [])
        best = cands[0]
        return Match(best if best.score >= threshold else None, best.score, threshold, cands)


def load_galleries(store: GalleryStore, versions: Mapping[str, str]) -> dict[str, Gallery]:
    """One gallery per named model (`{model: version}`), an empty one included.

    Every caller loads through here, so the rule is one: a model that is part of a decision
    always has a gallery, and a person missing from it is *missing*, not a reason to skip
    the model (the door must not quietly open on one recogniser when two are configured).
    """
    return {model: Gallery(store.templates(model), version) for model, version in versions.items()}
