"""`facegate` command line: human output by default, `--json` for machines.

Every subcommand is a thin shell over `facegate.api` (the REST API calls the same
functions). A FaceGateError becomes `error: <message>` and a non-zero exit, never a traceback.

Other installed packages add subcommands through the entry-point group `facegate.cli` (see
`PLUGIN_GROUP`): `facegate eval ...` and `facegate bench ...` come from facegate-bench
(./bench), which the door's install does not carry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from facegate.cli.commands import (
    cmd_demo,
    cmd_embed,
    cmd_enroll,
    cmd_gallery,
    cmd_identify,
    cmd_keys,
    cmd_liveness,
    cmd_run,
    cmd_serve,
    cmd_verify,
)
from facegate.cli.common import EXIT_ERROR, EXIT_USAGE
from facegate.cli.edge import add_parser as add_edge_parser
from facegate.cli.plugins import (
    OPTIONAL_COMMANDS,
    PLUGIN_GROUP,
    CliParents,
    _add_plugins,
    config_from_args,
    emit,
    engine_from_args,
    liveness_config_from_args,
    plugin_entry_points,
)
from facegate.errors import FaceGateError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = [
    "EXIT_ERROR",
    "EXIT_USAGE",
    "OPTIONAL_COMMANDS",
    "PLUGIN_GROUP",
    "CliParents",
    "build_parser",
    "config_from_args",
    "emit",
    "engine_from_args",
    "liveness_config_from_args",
    "main",
    "plugin_entry_points",
]


def build_parser(plugins: Iterable[EntryPoint] | None = None) -> argparse.ArgumentParser:
    """The whole command line; `plugins` defaults to the installed `facegate.cli` entry points."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="YAML config file (see docs/config.md)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--quiet", action="store_true", help="no progress bars")

    p = argparse.ArgumentParser(prog="facegate", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help_: str, parents: list | None = None
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, parents=[common, *(parents or [])])
        sp.set_defaults(func=fn)
        return sp

    match = argparse.ArgumentParser(add_help=False)
    match.add_argument("--model", help="recogniser to use (sface, dlib, ...)")
    match.add_argument("--fusion", action="store_true", help="decide on all recognisers fused")
    match.add_argument("--flip", action="store_true", help="average with the mirrored face")
    match.add_argument("--fmr", type=float, help="target false-match rate (default 1e-4)")
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        help="gallery file (default: gallery.path from --config, "
        "$FACEGATE_DB, or ~/.local/share/facegate/gallery.sqlite)",
    )

    sp = add("enroll", cmd_enroll, "enrol a person from one or more photos", [match, db])
    sp.add_argument("name")
    sp.add_argument("images", nargs="+", metavar="IMG")
    sp.add_argument(
        "--confirm-other-person",
        action="store_true",
        help="enrol a photo even if its face matches another enrolled person",
    )
    sp = add("identify", cmd_identify, "who is in this photo (1:N)", [match, db])
    sp.add_argument("image", metavar="IMG")
    sp.add_argument("--top", type=int, default=5, help="candidates to list")
    sp = add("verify", cmd_verify, "are these two photos the same person (1:1)", [match])
    sp.add_argument("image1", metavar="IMG1")
    sp.add_argument("image2", metavar="IMG2")
    sp = add("embed", cmd_embed, "faces and embeddings as JSON lines", [match])
    sp.add_argument("images", nargs="+", metavar="IMG")
    sp = add("gallery", cmd_gallery, "list enrolled people (or --remove NAME)", [db])
    sp.add_argument("--remove", metavar="NAME")
    add("demo", cmd_demo, "enrol one face, identify another (no data needed)", [match])
    sp = add("serve", cmd_serve, "web UI + REST API + the entrances' runtimes", [match])
    sp.add_argument("--host", help="listen address (default server.host, 127.0.0.1)")
    sp.add_argument("--port", type=int, help="port (default $FACEGATE_PORT or 8000)")
    sp.add_argument("--data-dir", help="database, journal, snapshots (default server.data_dir)")
    sp.add_argument("--database-url", help="sqlite:///file or postgresql://user@host/db")
    sp.add_argument("--verbose", action="store_true", help="log to stderr")
    sp = add("keys", cmd_keys, "the server's data key: `facegate keys rotate`")
    sp.add_argument("action", choices=["rotate"])
    sp.add_argument("--data-dir", help="as for serve (default server.data_dir)")
    sp.add_argument("--database-url", help="as for serve")
    sp = add("run", cmd_run, "watch a camera or video and open the door for residents", [match, db])
    sp.add_argument(
        "--source",
        help="camera index, /dev/video*, rtsp:// or http:// URL, "
        "video file or image folder (overrides runtime.source)",
    )
    sp.add_argument("--max-frames", type=int, help="stop after this many processed frames")
    sp.add_argument(
        "--until-end",
        action="store_true",
        help="play a file to its end as fast as the CPU allows, as a live camera "
        "would be processed (pace 'simulated')",
    )
    sp.add_argument(
        "--pace",
        choices=["realtime", "fast", "simulated"],
        help="how files are replayed (default realtime)",
    )
    sp.add_argument("--verbose", action="store_true", help="log to stderr")
    sp.add_argument(
        "--pad-model",
        metavar="PATH",
        help="passive PAD model (MiniFASNet-layout "
        "ONNX folder or file) for the liveness check (sets runtime.liveness.model)",
    )
    sp = add(
        "liveness",
        cmd_liveness,
        "is each face live, a photo or a screen? (images: one "
        "line per file; videos: one line per face track)",
        [match],
    )
    sp.add_argument("files", nargs="+", metavar="FILE")
    sp.add_argument(
        "--pad-model",
        metavar="PATH",
        help="passive PAD model (MiniFASNet-layout "
        "ONNX folder or file); default runtime.liveness.model",
    )
    add_edge_parser(add)
    parents = CliParents(common=common, match=match, db=db)
    _add_plugins(sub, parents, plugin_entry_points() if plugins is None else plugins)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FaceGateError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": exc.code, "message": str(exc)}))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug: say so plainly, keep the trace for the report
        if os.environ.get("FACEGATE_DEBUG"):
            traceback.print_exc()
        else:
            print(
                "internal error (a FaceGate bug); rerun with FACEGATE_DEBUG=1 for details",
                file=sys.stderr,
            )
        return 3
