"""`facegate edge`: run this machine as an edge device of a FaceGate server (fleet/edge).

The command line only reads the config file (the device's own base settings: engine,
runtime defaults, `fleet.edge` budgets) and prints; the agent does the rest."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from facegate.cli.common import _config

DEFAULT_DATA = "~/.local/share/facegate/edge"


def data_dir(args: argparse.Namespace) -> Path:
    """--data, else $FACEGATE_EDGE_DATA, else ~/.local/share/facegate/edge."""
    return Path(args.data or os.environ.get("FACEGATE_EDGE_DATA") or DEFAULT_DATA).expanduser()


def cmd_edge(args: argparse.Namespace) -> int:
    from facegate.fleet.edge.agent import EdgeAgent
    from facegate.runtime.app import human_printer, json_printer
    from facegate.runtime.memory import pin_mmap_threshold

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    pin_mmap_threshold()  # the entrances' frames, as in `facegate run`
    cfg = _config(args)

    def say(msg: str) -> None:
        print(json.dumps({"notice": msg}) if args.json else msg, file=sys.stderr, flush=True)

    agent = EdgeAgent(
        data_dir(args),
        runtime=cfg.runtime,
        engine=cfg.engine,
        fleet=cfg.fleet,
        server=args.server,
        token=args.token,
        source=args.source,
        until_end=args.until_end,
        printer=json_printer() if args.json else human_printer(),
        say=say,
    )
    agent.install_signal_handlers()
    status = agent.run()
    if agent.entrances is not None:
        summary = {
            name: w.entrance.stats.to_dict()
            for name, w in agent.entrances.workers.items()
            if w.entrance is not None
        }
        outbox = agent.unsent
        print(
            json.dumps({"summary": summary, "outbox": outbox})
            if args.json
            else f"entrances: {', '.join(summary) or 'none'}; events not yet sent: {outbox}",
            file=sys.stderr,
        )
    return status


def add_parser(add) -> None:
    """The `edge` subcommand, added by `cli.build_parser` with its common options."""
    sp = add("edge", cmd_edge, "run this machine as an edge device of a FaceGate server")
    sp.add_argument("--server", help="the server's URL, e.g. https://facegate.example.org")
    sp.add_argument("--token", help="one-time device token from the server (first start)")
    sp.add_argument(
        "--data",
        help=f"the device's data dir (default $FACEGATE_EDGE_DATA or {DEFAULT_DATA})",
    )
    sp.add_argument(
        "--source", help="replaces the camera of the device's single entrance (file, URL, index)"
    )
    sp.add_argument(
        "--until-end",
        action="store_true",
        help="play a file to its end as `facegate run --until-end` does, then flush and exit",
    )
    sp.add_argument("--verbose", action="store_true", help="log to stderr")
