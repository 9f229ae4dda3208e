"""Coverage-guided fuzzing of the same targets with atheris (libFuzzer), for long runs outside
`make test` (the pytest runs use hypothesis: bounded, repeatable, no process exit):

    .venv/bin/python -m tests.fuzz.atheris_main image  -max_total_time=600 -rss_limit_mb=2048
    .venv/bin/python -m tests.fuzz.atheris_main config -max_total_time=600

The corpus starts from `targets.image_seeds()` / `targets.config_seeds()` (written to
`.fuzz-corpus/<target>` in the checkout, where libFuzzer also keeps what it finds). A
property failure stops the run with the input saved as `crash-*`; `-rss_limit_mb` and
`-timeout` make a memory blow-up or a hang a failure too. Atheris ships x86-64 Linux wheels
for CPython up to 3.11 (`pip install atheris`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["facegate", "PIL", "yaml"]):
    from tests.fuzz.targets import (
        REPO,
        check_config_text,
        check_image,
        config_seeds,
        image_seeds,
    )


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("image", "config"):
        raise SystemExit("usage: python -m tests.fuzz.atheris_main image|config [libFuzzer flags]")
    target = sys.argv.pop(1)
    corpus = REPO / ".fuzz-corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = image_seeds() if target == "image" else [s.encode() for s in config_seeds()]
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i:02d}").write_bytes(seed)
    tmp = Path(tempfile.mkdtemp(prefix="facegate-fuzz-"))
    one = check_image if target == "image" else (lambda data: check_config_text(data, tmp))
    flags = [a for a in sys.argv[1:] if a.startswith("-")]
    if not any(a.startswith("-timeout=") for a in flags):
        flags.append("-timeout=20")
    atheris.Setup([sys.argv[0], *flags, str(corpus)], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
