"""`facegate bench door` on a deterministic clock, to compare two commits visit by visit.

The door benchmark advances its virtual clock by the measured processing time of each frame,
so which frames a visit processes depends on the machine's load, and two runs of the same
code on a busy machine differ in a few visits. Here every processed frame costs FIXED_MS of
stream time instead: the decisions depend on the code alone (time-to-open figures are then
meaningless). Run it on each checkout and compare the `--log` files with `compare_visits.py`.

    PYTHONPATH=<checkout>/src:<checkout>/bench/src python bench/scripts/door_fixed_clock.py \\
        facegate_bench.door 90 -- bench door --data <lfw> --seed 4 --strangers 300 \\
        --json --quiet --log visits.jsonl

MODULE is the module whose `VirtualClock` the door benchmark uses: `facegate_bench.door`, or
`facegate.bench.door` on commits from before facegate-bench was split out.
"""

import importlib
import sys

module, fixed_ms = sys.argv[1], float(sys.argv[2])
args = sys.argv[sys.argv.index("--") + 1 :]
door = importlib.import_module(module)


class FixedCostClock(door.VirtualClock):
    def advance(self, dt: float) -> None:  # the pipeline's per-frame processing time
        super().advance(fixed_ms / 1000.0)


door.VirtualClock = FixedCostClock
from facegate.cli import main  # noqa: E402

sys.exit(main(args))
