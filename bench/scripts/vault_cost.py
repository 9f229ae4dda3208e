"""What sealing biometric data at rest costs the server: enrolment (one photo's templates
and thumbnail written) and gallery load (`SqlGallery.templates`, what every runtime does at
start and after each change), without and with the vault, on SQLite in a temporary folder.

    .venv/bin/python bench/scripts/vault_cost.py            # 1,000 and 10,000 templates
    .venv/bin/python bench/scripts/vault_cost.py --sizes 1000 --repeat 3

"Before" is the same code with a vault that passes bytes through (what the server did before
encryption); "after" is AES-256-GCM. Each figure is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from facegate.gallery.store import NewTemplate
from facegate.server.db.database import make_engine, migrate, session_factory, transaction
from facegate.server.db.models import Resident
from facegate.server.sql_gallery import SqlGallery, template_rows
from facegate.vault import Vault, new_key


class PassThrough:
    """The server before encryption: bytes stored as they are."""

    def seal(self, data: bytes) -> bytes:
        return bytes(data)

    def open(self, blob: bytes) -> bytes:
        return bytes(blob)


def fill(factory, vault, n: int, dim: int) -> None:
    rng = np.random.default_rng(0)
    per = 10  # templates per resident
    with transaction(factory) as s:
        residents = [Resident(name=f"resident {i}") for i in range(n // per)]
        s.add_all(residents)
        s.flush()
        for k, r in enumerate(residents):
            vecs = rng.standard_normal((per, dim)).astype(np.float32)
            ts = [NewTemplate("sface", "v", v) for v in vecs]
            s.add_all(template_rows(vault, r.id, None, ts))
            if k % 200 == 0:
                s.flush()


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


def run(sizes: list[int], repeat: int, dim: int) -> None:
    rng = np.random.default_rng(1)
    thumb = rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes()  # a ~20 kB JPEG thumbnail
    photo = [
        NewTemplate("sface", "v", rng.standard_normal(dim).astype(np.float32)),
        NewTemplate("reid", "v", rng.standard_normal(256).astype(np.float32)),
    ]
    print(f"templates of {dim} floats; median of {repeat} runs; SQLite, synchronous=FULL")
    print(f"{'':28}{'before ms':>12}{'after ms':>12}")
    for n in sizes:
        row = []
        for vault in (PassThrough(), Vault([new_key()])):
            with tempfile.TemporaryDirectory() as tmp:
                engine = make_engine(f"sqlite:///{Path(tmp) / 'g.sqlite'}")
                migrate(engine)
                factory = session_factory(engine)
                fill(factory, vault, n, dim)
                gallery = SqlGallery(factory, vault)  # type: ignore[arg-type]
                gallery.templates("sface")  # warm the page cache
                row.append(median_ms(lambda g=gallery: g.templates("sface"), repeat))
                engine.dispose()
        print(f"{f'gallery load, {n:,} templates':28}{row[0]:>12.1f}{row[1]:>12.1f}")
    row = []
    for vault in (PassThrough(), Vault([new_key()])):
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'g.sqlite'}")
            migrate(engine)
            factory = session_factory(engine)
            with transaction(factory) as s:
                r = Resident(name="enrolled")
                s.add(r)
                s.flush()
                rid = r.id
            gallery = SqlGallery(factory, vault)  # type: ignore[arg-type]

            def enrol(g: SqlGallery = gallery, r: int = rid) -> None:
                g.add_photo(r, photo, thumbnail=thumb)

            row.append(median_ms(enrol, 20 * repeat))
            engine.dispose()
    print(f"{'enrolment write, one photo':28}{row[0]:>12.2f}{row[1]:>12.2f}")
    vault = Vault([new_key()])
    blob = photo[0].embedding.tobytes()
    sealed = [vault.seal(blob) for _ in range(max(sizes))]
    for n in sizes:
        ms = median_ms(lambda n=n: [vault.open(b) for b in sealed[:n]], repeat)
        print(f"{f'opening alone, {n:,} templates':28}{'':>12}{ms:>12.1f}")
    per = 1000 * median_ms(lambda: vault.seal(blob), 1000)
    print(f"seal of one {len(blob)}-byte template: {per:.1f} us")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--dim", type=int, default=128, help="floats per template (SFace: 128)")
    a = p.parse_args()
    run(a.sizes, a.repeat, a.dim)


if __name__ == "__main__":
    main()
