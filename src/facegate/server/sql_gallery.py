"""The server database as a `GalleryStore`: the runtimes match against residents stored here.

Why the server DB and not a separate SQLiteGallery file: one source of truth for residents,
photos and templates, on SQLite or PostgreSQL alike; deleting a resident or a photo removes
their templates in the same transaction; and `data_version` is a counter bumped by every
change, so a runtime reloads its gallery only when something changed.

Templates and photo thumbnails are sealed by the `Vault` on the way in and opened on the
way out: the database (and its backups) never hold a face or an embedding in plaintext.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from facegate.errors import GalleryError
from facegate.gallery.store import NewTemplate, Person, TemplateSet
from facegate.server.db.database import bump, counter, transaction
from facegate.server.db.models import Photo, Resident, Template, utcnow
from facegate.vault import Vault

GALLERY = "gallery"


def template_rows(
    vault: Vault, resident_id: int, photo_id: int | None, templates: Sequence[NewTemplate]
) -> list[Template]:
    return [
        Template(
            resident_id=resident_id,
            photo_id=photo_id,
            model=t.model,
            model_version=t.version,
            dim=int(t.embedding.size),
            embedding=vault.seal(np.asarray(t.embedding, "<f4").tobytes()),
            quality=t.quality,
            source=t.source,
            created_at=utcnow(),
        )
        for t in templates
    ]


def photo_count(session: Session, resident_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Photo).where(Photo.resident_id == resident_id)
        )
        or 0
    )


class SqlGallery:
    """`GalleryStore` over the server's tables; every call is its own short transaction."""

    def __init__(self, factory: sessionmaker[Session], vault: Vault) -> None:
        self._factory = factory
        self.vault = vault

    def add_person(self, name: str, templates: Sequence[NewTemplate]) -> Person:
        """Create the resident if new (the CLI's way); the photo lands with its templates."""
        name = name.strip()
        if not name:
            raise GalleryError("a person needs a non-empty name")
        with transaction(self._factory) as s:
            res = s.scalar(select(Resident).where(Resident.name == name))
            if res is None:
                res = Resident(name=name)
                s.add(res)
                s.flush()
            rid = res.id
        return self.add_photo(rid, templates)[0]

    def add_photo(
        self,
        resident_id: int,
        templates: Sequence[NewTemplate],
        *,
        filename: str = "",
        thumbnail: bytes | None = None,
        also: Callable[[Session, int], None] | None = None,
    ) -> tuple[Person, int]:
        """One accepted photo and its templates (every model), in one transaction; `also`
        runs in the same transaction with the new photo's id (the audit entry)."""
        with transaction(self._factory) as s:
            res = s.get(Resident, resident_id)
            if res is None:
                raise GalleryError(f"resident {resident_id} was deleted meanwhile")
            photo = Photo(
                resident_id=res.id,
                filename=filename[:255],
                sharpness=templates[0].quality if templates else None,
                thumbnail=self.vault.seal(thumbnail) if thumbnail else None,
            )
            s.add(photo)
            s.flush()
            s.add_all(template_rows(self.vault, res.id, photo.id, templates))
            bump(s, GALLERY)
            if also is not None:
                also(s, photo.id)
            s.flush()
            return Person(res.id, res.name, photo_count(s, res.id)), photo.id

    def persons(self) -> list[Person]:
        with self._factory() as s:
            rows = s.execute(
                select(Resident.id, Resident.name, func.count(Photo.id))
                .outerjoin(Photo, Photo.resident_id == Resident.id)
                .group_by(Resident.id, Resident.name)
                .order_by(Resident.name)
            ).all()
        return [Person(int(i), n, int(c)) for i, n, c in rows]

    def remove_person(self, name: str) -> bool:
        with transaction(self._factory) as s:
            res = s.scalar(select(Resident).where(Resident.name == name))
            if res is None:
                return False
            s.execute(delete(Template).where(Template.resident_id == res.id))
            s.delete(res)
            bump(s, GALLERY)
        return True

    def templates(self, model: str) -> TemplateSet:
        with self._factory() as s:
            rows = s.execute(
                select(
                    Template.resident_id,
                    Resident.name,
                    Template.model_version,
                    Template.dim,
                    Template.embedding,
                )
                .join(Resident, Resident.id == Template.resident_id)
                .where(Template.model == model)
                .order_by(Template.id)
            ).all()
        dims = {r[3] for r in rows}
        if len(dims) > 1:
            raise GalleryError(f"server gallery: '{model}' templates of mixed sizes {dims}")
        dim = dims.pop() if dims else 0
        matrix = (
            np.frombuffer(b"".join(self.vault.open(r[4]) for r in rows), "<f4").reshape(
                len(rows), dim
            )
            if rows
            else np.zeros((0, 0), np.float32)
        )
        return TemplateSet(
            model,
            np.array([r[0] for r in rows], np.int64),
            {int(r[0]): r[1] for r in rows},
            matrix.astype(np.float32),
            {r[2] for r in rows},
        )

    def data_version(self) -> int:
        with self._factory() as s:
            return counter(s, GALLERY)
