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
    """Templates of one model held in memory as one matrix, rows grouped by person: a search
    is one mat-vec, a per-person max over contiguous rows (`np.maximum.reduceat`) and a top-k
    by `argpartition`, with no Python object per person (docs/performance.md, 1:N search)."""

    def __init__(self, templates: TemplateSet, model_version: str) -> None:
        stale = templates.versions - {model_version}
        if stale:
            raise ModelVersionMismatch(
                f"the gallery's '{templates.model}' templates were made with model version "
                f"{', '.join(sorted(stale))}, but this engine runs {model_version}; "
                "re-enrol the people (their photos) with this model"
            )
        self.model = templates.model
        order = np.argsort(templates.person_ids, kind="stable")
        self.matrix = np.ascontiguousarray(templates.matrix[order], np.float32)
        self.person_ids = templates.person_ids[order]
        self.names = templates.names
        # person k owns rows _starts[k] : _starts[k + 1]
        self._unique, self._starts = np.unique(self.person_ids, return_index=True)
        self._ends = np.append(self._starts[1:], len(self.person_ids))

    def __len__(self) -> int:
        return len(self._unique)

    def __contains__(self, person_id: object) -> bool:
        """Whether the person has at least one template of this model."""
        return self._slot(person_id) is not None

    def _slot(self, person_id: object) -> int | None:
        i = int(np.searchsorted(self._unique, person_id)) if len(self._unique) else 0
        return i if i < len(self._unique) and self._unique[i] == person_id else None

    def best_per_person(self, embedding: np.ndarray) -> np.ndarray:
        """Best template score of each person, in the order of `person_order`."""
        if not len(self.matrix):
            return np.empty(0, np.float32)
        sims = self.matrix @ np.asarray(embedding, np.float32).ravel()
        return np.maximum.reduceat(sims, self._starts)

    @property
    def person_order(self) -> np.ndarray:
        """Person ids, ascending: the order of `best_per_person`."""
        return self._unique

    def score(self, embedding: np.ndarray, person_id: int) -> float:
        """Best score of one person's templates (-inf if they have none): the confirmation
        asks about one resident, and need not score the whole gallery."""
        k = self._slot(person_id)
        if k is None:
            return float("-inf")
        rows = self.matrix[self._starts[k] : self._ends[k]]
        return float((rows @ np.asarray(embedding, np.float32).ravel()).max())

    def scores(self, embedding: np.ndarray) -> dict[int, float]:
        """Best template score per person, every person (for reports; the door uses `search`)."""
        best = self.best_per_person(embedding)
        return {int(p): float(s) for p, s in zip(self._unique, best, strict=True)}

    def search(self, embedding: np.ndarray, top_k: int = 5) -> list[Candidate]:
        best = self.best_per_person(embedding)
        k = min(top_k, len(best))
        if k <= 0:
            return []
        top = np.argpartition(-best, k - 1)[:k] if k < len(best) else np.arange(len(best))
        top = top[np.lexsort((self._unique[top], -best[top]))]  # score down, then id up
        return [
            Candidate(int(self._unique[i]), self.names[int(self._unique[i])], float(best[i]))
            for i in top
        ]

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
