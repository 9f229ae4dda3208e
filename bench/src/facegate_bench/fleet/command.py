"""`facegate bench fleet`'s options and handler (registered by `facegate_bench.cli`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from facegate.cli import emit
from facegate.errors import FaceGateError
from facegate_bench.fleet.common import DEFAULT_DB


def add_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--devices", default="100,1000", help="fleet sizes, run in turn")
    sp.add_argument("--residents", type=int, default=100_000)
    sp.add_argument("--entrances", type=int, default=2_000)
    sp.add_argument("--big-residents", type=int, default=500, help="residents of the new device")
    sp.add_argument("--enrolments", type=int, default=20, help="one-entrance enrolments timed")
    sp.add_argument("--staff-enrolments", type=int, default=3, help="enrolments to all devices")
    sp.add_argument("--new-devices", type=int, default=3, help="new devices timed into sync")
    sp.add_argument("--ingest-events", type=int, default=50_000)
    sp.add_argument("--storm-rate", type=float, default=500.0, help="events/s in the storm")
    sp.add_argument("--storm-seconds", type=float, default=40.0)
    sp.add_argument(
        "--database-url",
        default=DEFAULT_DB,
        help="PostgreSQL database to create (dropped and made anew; dropped after the run)",
    )
    sp.add_argument("--keep-database", action="store_true", help="keep it after the run")
    sp.add_argument(
        "--workdir",
        default="/dev/shm/facegate-bench-fleet",
        help="the broker's, server's and devices' files (tmpfs: each real device has its own "
        "disk, one disk shared by a thousand simulated ones would measure the disk)",
    )
    sp.add_argument("--log", metavar="FILE", help="progress lines, appended as they happen")
    sp.add_argument("--out", metavar="FILE", help="also write the JSON report here")
    sp.set_defaults(func=cmd_bench_fleet)


def cmd_bench_fleet(args: argparse.Namespace) -> int:
    from facegate_bench.fleet import runner as fleet
    from facegate_bench.fleet.dataset import Layout
    from facegate_bench.fleet.phases import Knobs

    why = fleet.unavailable(args.database_url)
    if why:
        raise FaceGateError(f"bench fleet needs PostgreSQL and mosquitto: {why}")
    opts = fleet.Options(
        sizes=[int(float(x)) for x in args.devices.split(",") if x],
        database_url=args.database_url,
        workdir=Path(args.workdir),
        layout=Layout(
            residents=args.residents, entrances=args.entrances, big_residents=args.big_residents
        ),
        knobs=Knobs(
            enrolments=args.enrolments,
            staff_enrolments=args.staff_enrolments,
            new_devices=args.new_devices,
            ingest_events=args.ingest_events,
            storm_rate=args.storm_rate,
            storm_s=args.storm_seconds,
        ),
        keep_database=args.keep_database,
        log=Path(args.log) if args.log else None,
        partial=Path(args.out) if args.out else None,
    )
    report = fleet.run(opts, quiet=args.quiet or args.json)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    text = json.dumps(report, indent=2) + "\n\n" + fleet.to_text(report)
    emit(args, report, text)  # --json: the JSON alone
    return 0
