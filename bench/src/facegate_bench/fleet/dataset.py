"""The fleet benchmark's city: a fresh PostgreSQL database with residents, entrances and rules.

The schema comes from the server's own migrations (`facegate.server.db.database.migrate`), so
the tables are exactly what `facegate serve` runs on; the rows are then written with COPY,
not through the API. Why: 100,000 residents through `POST /residents` + a photo each would
take hours of face detection on a 2-core box and measure enrolment, not the fleet. What COPY
skips is the per-request work (validation, audit rows, the gallery counter bumps), none of
which the fleet's figures depend on; the templates are sealed with the server's data key as
`SqlGallery` seals them, so the server reads them like any other.

Layout: `entrances` entrances, `residents` residents spread evenly over them, one access rule
per entrance granting its residents; plus `staff` residents granted at every entrance by one
rule (their changes reach every device: the fan-out case), and one entrance `big` whose rule
grants `big_residents` residents in all (the "new device with 500 residents" case). Each
resident has one or two random unit templates for each shipped recogniser of the door's
default engine (SFace 128-d, reid 256-d), with no photo.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from facegate.config import FaceGateConfig
from facegate.models.files import FACE_REID, SFACE
from facegate.vault import Vault

#: The door's default recognisers (models/config.py) and what their templates look like.
RECOGNISERS = (("sface", SFACE.version, 128), ("reid", FACE_REID.version, 256))
BIG_ENTRANCE = "bench-big"


@dataclass
class Layout:
    residents: int = 100_000
    entrances: int = 2_000
    staff: int = 20
    big_residents: int = 500
    seed: int = 0


@dataclass
class City:
    """What the builder made, by id, for the measurements to pick from."""

    url: str
    entrance_ids: list[int]
    residents_of: dict[int, list[int]]  # entrance id -> resident ids its rule grants
    rule_of: dict[int, int]  # entrance id -> rule id
    staff_ids: list[int]
    staff_rule: int
    big_entrance: int
    timings: dict[str, float] = field(default_factory=dict)
    templates: int = 0

    def summary(self) -> dict:
        return {
            "residents": sum(len(v) for k, v in self.residents_of.items() if k != self.big_entrance)
            + len(self.staff_ids),
            "entrances": len(self.entrance_ids),
            "rules": len(self.rule_of) + 1,
            "templates": self.templates,
            "staff": len(self.staff_ids),
            "big_entrance_residents": len(self.residents_of[self.big_entrance])
            + len(self.staff_ids),
            "how": "schema by the server's Alembic migrations, rows by COPY (no photos, no API)",
            "seconds": self.timings,
        }


def admin_url(url: str) -> str:
    """The same server's `postgres` maintenance database, to create and drop ours."""
    base, _, _ = url.rpartition("/")
    return f"{base}/postgres"


def create_database(url: str) -> None:
    """Drop and create the database `url` names: every run starts from nothing."""
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype("<f4")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def build(url: str, vault: Vault, layout: Layout, progress=None) -> City:
    """Create the database at `url` and fill it; returns the ids the benchmark needs."""
    import psycopg

    from facegate.server.db.database import make_engine, migrate

    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    create_database(url)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    timings["schema"] = round(time.perf_counter() - t0, 2)

    rng = np.random.default_rng(layout.seed)
    rc = FaceGateConfig().runtime
    door = rc.door.model_dump_json()
    decision = rc.decision.model_dump_json()
    quality = rc.quality.model_dump_json()
    liveness = rc.liveness.model_dump_json()
    now = datetime.now(UTC)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        t = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy(
                "COPY entrances (name, enabled, source, door, decision, quality, liveness,"
                " created_at) FROM STDIN"
            ) as cp:
                for i in range(layout.entrances):
                    cp.write_row(
                        (f"bench-{i:05d}", True, None, door, decision, quality, liveness, now)
                    )
                cp.write_row((BIG_ENTRANCE, True, None, door, decision, quality, liveness, now))
            cur.execute("SELECT id, name FROM entrances WHERE name LIKE 'bench-%' ORDER BY name")
            rows = cur.fetchall()
            big = next(i for i, n in rows if n == BIG_ENTRANCE)
            entrance_ids = [i for i, n in rows if n != BIG_ENTRANCE]
            with cur.copy(
                "COPY residents (name, apartment, notes, active, created_at) FROM STDIN"
            ) as cp:
                for i in range(layout.residents):
                    kind = "staff" if i < layout.staff else "resident"
                    cp.write_row((f"{kind} {i:06d}", str(i % 300 + 1), "", True, now))
            cur.execute("SELECT id FROM residents ORDER BY id")
            rids = [r[0] for r in cur.fetchall()]
        timings["residents_entrances"] = round(time.perf_counter() - t, 2)
        say(f"dataset: {len(rids)} residents, {len(entrance_ids)} entrances")

        t = time.perf_counter()
        staff, plain = rids[: layout.staff], rids[layout.staff :]
        counts = rng.integers(1, 3, size=len(rids))  # one or two templates per recogniser
        n_templates = 0
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY templates (resident_id, model, model_version, dim, embedding, quality,"
                " source, created_at) FROM STDIN"
            ) as cp,
        ):
            for model, version, dim in RECOGNISERS:
                vecs = _unit(rng, int(counts.sum()), dim)
                k = 0
                for rid, c in zip(rids, counts, strict=True):
                    for _ in range(int(c)):
                        blob = vault.seal(vecs[k].tobytes())
                        cp.write_row((rid, model, version, dim, blob, None, "bench", now))
                        k += 1
                n_templates += k
        timings["templates"] = round(time.perf_counter() - t, 2)
        say(f"dataset: {n_templates} templates sealed and copied")

        t = time.perf_counter()
        residents_of: dict[int, list[int]] = {}
        per = np.array_split(np.asarray(plain), len(entrance_ids))
        for eid, group in zip(entrance_ids, per, strict=True):
            residents_of[eid] = [int(x) for x in group]
        residents_of[big] = [
            int(x) for x in rng.choice(plain, size=layout.big_residents - len(staff), replace=False)
        ]
        import json

        rule_of: dict[int, int] = {}
        with conn.cursor() as cur:
            with cur.copy(
                "COPY access_rules (name, resident_ids, entrance_ids, windows, max_uses, uses,"
                " active, created_at) FROM STDIN"
            ) as cp:
                cp.write_row(("bench staff", json.dumps(staff), None, "[]", None, 0, True, now))
                for eid in [*entrance_ids, big]:
                    cp.write_row(
                        (
                            f"bench entrance {eid}",
                            json.dumps(residents_of[eid]),
                            json.dumps([eid]),
                            "[]",
                            None,
                            0,
                            True,
                            now,
                        )
                    )
            cur.execute("SELECT id, name FROM access_rules WHERE name LIKE 'bench %'")
            for rule_id, name in cur.fetchall():
                if name == "bench staff":
                    staff_rule = rule_id
                else:
                    rule_of[int(name.rsplit(" ", 1)[1])] = rule_id
            for counter in ("gallery", "rules"):
                cur.execute(
                    "INSERT INTO counters (name, value) VALUES (%s, 1) "
                    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
                    (counter,),
                )
            cur.execute("ANALYZE")
        conn.commit()
        timings["rules"] = round(time.perf_counter() - t, 2)
    timings["total"] = round(time.perf_counter() - t0, 2)
    say(f"dataset: built in {timings['total']} s")
    return City(
        url=url,
        entrance_ids=entrance_ids,
        residents_of=residents_of,
        rule_of=rule_of,
        staff_ids=[int(x) for x in staff],
        staff_rule=staff_rule,
        big_entrance=big,
        timings=timings,
        templates=n_templates,
    )
