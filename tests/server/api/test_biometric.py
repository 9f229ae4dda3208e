"""Biometric data at rest (sealed, owner-only files), keys that rotate, erasure that leaves
no trace on disk, and a resident's export."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from facegate.cli import main as cli_main
from facegate.runtime.events import Decision, DoorEvent
from facegate.server.db.database import make_engine, migrate, session_factory
from facegate.server.db.models import Photo, Resident, Template
from facegate.vault import blob_key_id, is_sealed, read_key_file

from ..conftest import Api, add_resident, upload

NAME = "Grace Hopper"


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)  # what most services inherit: files 0644, folders 0755
    yield
    os.umask(old)


@pytest.fixture
def server(make_api: Callable[..., Api], tmp_path: Path, permissive_umask: None) -> Api:
    """The default layout: the SQLite database inside the data dir, as `facegate serve`."""
    return make_api(f"sqlite:///{tmp_path / 'data' / 'facegate.sqlite'}")


def data_files(api: Api) -> list[Path]:
    root = api.state.config.server.data_dir
    return sorted(p for p in root.rglob("*") if p.is_file())


def raw(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute(sql).fetchall()


def face_event(api: Api, rid: int | None, name: str | None, seed: int, **kw) -> None:
    img = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    decision = kw.pop("decision", Decision.OPEN if name else Decision.UNKNOWN)
    reason = kw.pop("reason", f"{name} matched in 3 shots" if name else "no resident matched")
    api.state.journal.record(
        DoorEvent(decision, "main", reason, person=name, person_id=rid, snapshot=img, **kw)
    )


def test_data_dir_is_0700_and_every_file_0600(server: Api, photos: dict[str, bytes]) -> None:
    rid = add_resident(server, NAME)["id"]
    assert upload(server, rid, photos["hopper"]).status_code == 201
    face_event(server, rid, NAME, 1)
    root = server.state.config.server.data_dir
    files = data_files(server)
    names = {p.name for p in files}
    assert {"facegate.sqlite", "facegate.sqlite-wal", "journal.sqlite", "facegate.key"} <= names
    assert any(p.suffix == ".jpg" for p in files)  # a snapshot
    assert {str(p.relative_to(root)): oct(mode(p)) for p in files} == {
        str(p.relative_to(root)): oct(0o600) for p in files
    }
    dirs = [root, *(p for p in root.rglob("*") if p.is_dir())]
    assert {str(d): oct(mode(d)) for d in dirs} == {str(d): oct(0o700) for d in dirs}


def test_templates_photos_and_snapshots_are_sealed_at_rest(
    server: Api, photos: dict[str, bytes]
) -> None:
    c = server.client
    rid = add_resident(server, NAME)["id"]
    r = upload(server, rid, photos["hopper"])
    assert r.status_code == 201
    face_event(server, rid, NAME, 2)
    db = server.state.config.server.data_dir / "facegate.sqlite"
    blobs = raw(db, "SELECT embedding FROM templates") + raw(db, "SELECT thumbnail FROM photos")
    assert len(blobs) == 3 and all(is_sealed(b) for (b,) in blobs)
    # the plaintext template is nowhere in the database's files
    template = server.state.gallery.templates("sface").matrix[0].astype("<f4").tobytes()
    for f in data_files(server):
        assert template[:64] not in f.read_bytes(), f
    # what the API serves is still a JPEG
    pid = r.json()["photo"]["id"]
    img = c.get(f"/api/v1/residents/{rid}/photos/{pid}/image", headers=server.viewer)
    assert img.status_code == 200 and img.content[:2] == b"\xff\xd8"
    event = c.get("/api/v1/events", headers=server.viewer).json()["items"][0]
    snap = c.get(event["snapshot_url"], headers=server.viewer)
    assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
    on_disk = server.state.journal.snapshot_dir / event["snapshot_url"].split("/snapshots/")[1]
    assert not on_disk.read_bytes().startswith(b"\xff\xd8")


def test_rows_of_older_versions_load_and_are_sealed_at_start(
    make_api: Callable[..., Api], tmp_path: Path, engine, photos: dict[str, bytes]
) -> None:
    """A database written before encryption: plaintext templates and thumbnails."""
    db = tmp_path / "old.sqlite"
    e = make_engine(f"sqlite:///{db}")
    migrate(e)
    vec = np.random.default_rng(3).standard_normal(128).astype("<f4")
    vec /= np.linalg.norm(vec)
    with session_factory(e)() as s:  # as an older version wrote them: no seal
        s.add(Resident(id=1, name="Old"))
        s.flush()
        s.add(Photo(id=1, resident_id=1, filename="o.jpg", thumbnail=b"\xff\xd8old-jpeg"))
        s.flush()
        s.add(
            Template(
                resident_id=1,
                photo_id=1,
                model="sface",
                model_version="v",
                dim=128,
                embedding=vec.tobytes(),
            )
        )
        s.commit()
    e.dispose()
    api = make_api(f"sqlite:///{db}")
    (emb,), (thumb,) = (
        raw(db, "SELECT embedding FROM templates")[0],
        raw(db, "SELECT thumbnail FROM photos")[0],
    )
    assert is_sealed(emb) and is_sealed(thumb)
    assert np.array_equal(api.state.gallery.templates("sface").matrix[0], vec)
    r = api.client.get("/api/v1/residents/1/photos/1/image", headers=api.viewer)
    assert r.content == b"\xff\xd8old-jpeg"


def test_keys_rotate_reseals_everything_and_retires_the_old_key(
    server: Api, photos: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    rid = add_resident(server, NAME)["id"]
    pid = upload(server, rid, photos["hopper"]).json()["photo"]["id"]
    face_event(server, rid, NAME, 4)
    sc = server.state.config.server
    key_file = sc.data_dir / "facegate.key"
    (old,) = read_key_file(key_file)
    before = server.state.gallery.templates("sface").matrix

    code = cli_main(
        ["keys", "rotate", "--data-dir", str(sc.data_dir), "--database-url", sc.database_url]
    )
    assert code == 0, capsys.readouterr()
    (new,) = read_key_file(key_file)
    assert new != old and mode(key_file) == 0o600
    db = sc.data_dir / "facegate.sqlite"
    ids = {blob_key_id(b) for (b,) in raw(db, "SELECT embedding FROM templates")}
    ids |= {blob_key_id(b) for (b,) in raw(db, "SELECT thumbnail FROM photos")}
    snaps = [p for p in server.state.journal.snapshot_dir.rglob("*.jpg")]
    ids |= {blob_key_id(p.read_bytes()) for p in snaps}
    assert ids == {server.state.gallery.vault.current_id}  # the running server follows
    assert np.array_equal(server.state.gallery.templates("sface").matrix, before)
    c = server.client
    img = c.get(f"/api/v1/residents/{rid}/photos/{pid}/image", headers=server.viewer)
    assert img.content[:2] == b"\xff\xd8"
    log = c.get("/api/v1/audit?action=keys_rotate", headers=server.admin).json()
    assert log[0]["detail"]["blobs"] == 3 and log[0]["detail"]["retired"] == 1


def test_erasure_leaves_no_name_template_or_face_on_disk(
    server: Api, photos: dict[str, bytes]
) -> None:
    c = server.client
    rid = add_resident(server, NAME)["id"]
    other = add_resident(server, "Alan Turing")["id"]
    assert upload(server, rid, photos["hopper"], name="grace-portrait.jpg").status_code == 201
    assert upload(server, other, photos["stranger"], name="alan.png").status_code == 201
    for k in range(5):
        face_event(server, rid, NAME, 10 + k)
    face_event(server, rid, NAME, 20, decision=Decision.DENY, reason="presentation attack")
    face_event(server, None, None, 21, reason=f"no resident matched; closest {NAME} 0.31")
    face_event(server, other, "Alan Turing", 22)
    rule = {"name": f"cleaners and {NAME}", "resident_ids": [rid, other]}
    assert c.post("/api/v1/rules", headers=server.operator, json=rule).status_code == 201
    db = server.state.config.server.data_dir / "facegate.sqlite"
    sealed = [b for (b,) in raw(db, f"SELECT embedding FROM templates WHERE resident_id = {rid}")]
    sealed += [b for (b,) in raw(db, f"SELECT thumbnail FROM photos WHERE resident_id = {rid}")]
    vault = server.state.gallery.vault
    plain = [vault.open(b) for b in sealed]
    mine = [e for e in server.state.journal.query(limit=None) if e["person"] == NAME]
    assert len(mine) == 6 and all(e["snapshot_path"] for e in mine)

    assert c.delete(f"/api/v1/residents/{rid}", headers=server.operator).status_code == 204

    needles = [NAME.encode(), b"grace-portrait", *(b[40:72] for b in sealed + plain)]
    for f in data_files(server):
        data = f.read_bytes()
        found = [n[:20] for n in needles if n in data]
        assert found == [], f"{f.name} still holds {found}"
    assert (server.state.config.server.data_dir / "facegate.sqlite-wal").stat().st_size == 0
    assert not any(Path(e["snapshot_path"]).exists() for e in mine)
    events = c.get("/api/v1/events?limit=100", headers=server.viewer).json()["items"]
    assert len(events) == 8  # every event stays
    erased = [e for e in events if e["person"] == f"erased resident #{rid}"]
    assert len(erased) == 6 and all(e["snapshot_url"] is None for e in erased)
    assert sum(e["person"] == "Alan Turing" and bool(e["snapshot_url"]) for e in events) == 1
    log = c.get("/api/v1/audit", headers=server.admin).json()
    assert NAME not in str(log) and "grace-portrait" not in str(log)
    (entry,) = [a for a in log if a["action"] == "resident_delete"]
    assert entry["detail"]["erased"] is True and entry["detail"]["snapshots_deleted"] == 6
    assert server.state.gallery.templates("sface").person_ids.tolist() == [other]


def test_erasure_on_both_databases(api: Api, photos: dict[str, bytes]) -> None:
    """What the API shows after an erasure, on SQLite and PostgreSQL (PostgreSQL's own WAL
    and dead tuples are the database server's to reclaim: docs/security.md)."""
    c = api.client
    rid = add_resident(api, NAME)["id"]
    assert upload(api, rid, photos["hopper"], name="grace.jpg").status_code == 201
    face_event(api, rid, NAME, 30)
    assert c.delete(f"/api/v1/residents/{rid}", headers=api.operator).status_code == 204
    log = c.get("/api/v1/audit", headers=api.admin).json()
    assert NAME not in str(log) and "grace.jpg" not in str(log)
    (ev,) = c.get("/api/v1/events", headers=api.viewer).json()["items"]
    assert ev["person"] == f"erased resident #{rid}" and NAME not in ev["reason"]
    assert ev["snapshot_url"] is None


def test_export_returns_everything_held_about_a_resident(
    api: Api, photos: dict[str, bytes]
) -> None:
    c = api.client
    rid = add_resident(api, NAME)["id"]
    other = add_resident(api, "Alan Turing")["id"]
    assert upload(api, rid, photos["hopper"], name="grace.jpg").status_code == 201
    face_event(api, rid, NAME, 40)
    face_event(api, other, "Alan Turing", 41)
    face_event(api, None, None, 42)
    for ids in ([rid], [other]):
        assert c.post("/api/v1/rules", headers=api.operator, json={"resident_ids": ids}).is_success

    assert c.get(f"/api/v1/residents/{rid}/export", headers=api.viewer).status_code == 403
    assert c.get("/api/v1/residents/999/export", headers=api.operator).status_code == 404
    r = c.get(f"/api/v1/residents/{rid}/export", headers=api.operator)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["resident"]["name"] == NAME and out["resident"]["apartment"] == "4B"
    (photo,) = out["photos"]
    assert photo["filename"] == "grace.jpg"
    assert base64.b64decode(photo["jpeg_base64"])[:2] == b"\xff\xd8"
    assert {t["model"] for t in out["templates"]} == {"sface", "reid"}
    assert [rule["resident_ids"] for rule in out["rules"]] == [[rid]]
    (event,) = out["events"]
    assert event["person"] == NAME
    snap = c.get(event["snapshot_url"], headers=api.viewer)
    assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
    log = c.get("/api/v1/audit?action=resident_export", headers=api.admin).json()
    assert log[0]["target"] == f"resident:{rid}" and log[0]["actor"] == "user:oper"
