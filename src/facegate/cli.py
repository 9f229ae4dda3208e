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
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from facegate import api
from facegate.config import FaceGateConfig, load_config
from facegate.engine import FaceEngine
from facegate.errors import FaceGateError
from facegate.gallery.store import SQLiteGallery

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

EXIT_USAGE = 2
EXIT_ERROR = 1


def _emit(args: argparse.Namespace, payload: object, human: str) -> None:
    print(json.dumps(payload) if args.json else human)


def _config(args: argparse.Namespace) -> FaceGateConfig:
    cfg = load_config(args.config) if args.config else FaceGateConfig()
    eng = cfg.engine
    updates = {}
    if getattr(args, "model", None):
        updates["model"] = args.model
    if getattr(args, "fusion", False):
        updates["fusion"] = True
    if getattr(args, "flip", False):
        updates["flip"] = True
    if getattr(args, "fmr", None):
        updates["fmr"] = args.fmr
    if updates:
        eng = eng.model_validate({**eng.model_dump(), **updates})
    rt = cfg.runtime
    if getattr(args, "fmr", None):  # the door's threshold too, when asked for explicitly
        rt = rt.model_copy(update={"decision": rt.decision.model_copy(update={"fmr": args.fmr})})
    return cfg.model_copy(update={"engine": eng, "runtime": rt})


def _engine(args: argparse.Namespace) -> FaceEngine:
    return FaceEngine(_config(args).engine)


def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db else _config(args).gallery.path


# -- commands ------------------------------------------------------------------------------


def cmd_enroll(args: argparse.Namespace) -> int:
    engine = _engine(args)
    with SQLiteGallery(_db_path(args)) as store:
        report = api.enroll(engine, store, args.name, args.images)
    lines = [
        f"enrolled {args.name}: {len(report.accepted)} photo(s) accepted"
        + (f", {report.person.photos} in gallery" if report.person else "")
    ]
    lines += [f"  rejected {src}: {exc}" for src, exc in report.rejected]
    if not report.accepted:
        lines[0] = f"nothing enrolled for {args.name}: every photo was rejected"
    _emit(args, report.to_dict(), "\n".join(lines))
    return 0 if not report.rejected else EXIT_ERROR


def cmd_identify(args: argparse.Namespace) -> int:
    engine = _engine(args)
    with SQLiteGallery(_db_path(args), create=False) as store:
        results = api.identify(engine, store, args.image, top_k=args.top)
    human = []
    for i, r in enumerate(results):
        who = r.match.person.name if r.match.person else "unknown"
        human.append(
            f"face {i + 1} at {[round(float(v)) for v in r.face.bbox]}: {who} "
            f"(score {r.match.score:.3f}, threshold {r.match.threshold:.3f})"
        )
    _emit(args, {"image": args.image, "faces": [r.to_dict() for r in results]}, "\n".join(human))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    engine = _engine(args)
    res = api.verify(engine, args.image1, args.image2)
    verdict = "same person" if res.same else "different people"
    _emit(
        args,
        res.to_dict(),
        f"{verdict} (score {res.score:.3f}, threshold "
        f"{res.threshold:.3f} at FMR {res.fmr:g}, {res.model})",
    )
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    """JSON lines, one per input image; a bad image gets an error line and exit 1."""
    engine = _engine(args)
    status = 0
    for path in args.images:
        try:
            faces = api.embed(engine, path, model=args.model)
            print(
                json.dumps(
                    {"path": path, "model": args.model or engine.config.model, "faces": faces}
                )
            )
        except FaceGateError as exc:
            print(json.dumps({"path": path, "error": exc.code, "message": str(exc)}))
            print(f"error: {exc}", file=sys.stderr)
            status = EXIT_ERROR
    return status


def cmd_gallery(args: argparse.Namespace) -> int:
    with SQLiteGallery(_db_path(args), create=False) as store:
        if args.remove:
            if not store.remove_person(args.remove):
                raise FaceGateError(f"nobody called {args.remove!r} in the gallery")
            _emit(args, {"removed": args.remove}, f"removed {args.remove}")
            return 0
        people = store.persons()
    _emit(
        args,
        [{"id": p.id, "name": p.name, "photos": p.photos} for p in people],
        "\n".join(f"{p.name} ({p.photos} photo(s))" for p in people) or "gallery is empty",
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run one entrance: from a config file, or from --source/--db with defaults."""
    import logging

    from facegate.runtime.app import human_printer, json_printer, run_entrance
    from facegate.runtime.sources import SourceConfig

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    cfg = _config(args)
    rc = cfg.runtime
    if args.source:
        rc = rc.model_copy(update={"source": SourceConfig(uri=args.source)})
    if rc.source is None:
        raise FaceGateError("nothing to watch: give --source SRC or runtime.source in --config")
    if args.pace or args.until_end:
        pace = args.pace or "simulated"
        rc = rc.model_copy(update={"source": rc.source.model_copy(update={"pace": pace})})
    if args.pad_model:
        rc = rc.model_copy(update={"liveness": _liveness_config(args)})
    cfg = cfg.model_copy(update={"runtime": rc})
    printer = json_printer() if args.json else human_printer()
    stats = run_entrance(cfg, gallery=_db_path(args), max_frames=args.max_frames, printer=printer)
    print(
        json.dumps({"summary": stats.to_dict()})
        if args.json
        else f"{stats.frames} frames in {stats.wall_s:.1f} s ({stats.fps:.1f} frames/s), "
        f"events: {stats.events or 'none'}",
        file=sys.stderr,
    )
    return 0


def _liveness_config(args: argparse.Namespace):
    """runtime.liveness from --config, with --pad-model (which also requires the check)."""
    lc = _config(args).runtime.liveness
    if getattr(args, "pad_model", None):
        checks = lc.checks
        if checks is not None and "passive" not in checks:
            checks = ["passive", *checks]
        lc = lc.model_validate({**lc.model_dump(), "model": args.pad_model, "checks": checks})
    return lc


def cmd_liveness(args: argparse.Namespace) -> int:
    """Liveness of every face in images (passive model) and every face track in videos."""
    from facegate.imageio import load_image
    from facegate.runtime.liveness import (
        build_liveness,
        check_image,
        check_video,
        still_image_config,
    )
    from facegate.runtime.sources import IMAGE_SUFFIXES

    engine = _engine(args)
    lc = _liveness_config(args)
    still = build_liveness(still_image_config(lc), engine)
    video_cfg = lc.model_copy(
        update={"checks": [c for c in lc.active_checks() if c != "challenge"]}
    )
    status = 0
    for path in args.files:
        try:
            if Path(path).suffix.lower() in IMAGE_SUFFIXES:
                faces = check_image(engine, still, load_image(path))
                lines = [{"path": path, "faces": faces}]
            else:
                lines = [
                    {"path": path, **t}
                    for t in check_video(engine, build_liveness(video_cfg, engine), path)
                ]
                if not lines:
                    lines = [{"path": path, "tracks": 0}]
        except FaceGateError as exc:
            print(
                json.dumps({"path": path, "error": exc.code, "message": str(exc)})
                if args.json
                else f"{path}: error: {exc}"
            )
            status = EXIT_ERROR
            continue
        for line in lines:
            print(json.dumps(line) if args.json else _liveness_human(line))
    return status


def _liveness_human(line: dict) -> str:
    def one(d: dict) -> str:
        word = {True: "LIVE", False: "ATTACK", None: "undecided"}[d["live"]]
        score = f" score {d['score']:.3f}" if d.get("score") is not None else ""
        note = f" - {d['note']}" if d.get("note") else ""
        return f"{word}{score} at {[round(v) for v in d['bbox']]}{note}"

    if "faces" in line:
        return "\n".join(
            [f"{line['path']}: {len(line['faces'])} face(s)"]
            + [f"  {one(f)}" for f in line["faces"]]
        )
    if "track" in line:
        return (
            f"{line['path']} track {line['track']} (frames {line['first_frame']}-"
            f"{line['last_frame']}): {one(line)}"
        )
    return f"{line['path']}: no face track"


def cmd_serve(args: argparse.Namespace) -> int:
    """The management server: web UI, REST API and the entrance runtimes in one process."""
    import logging

    from facegate.runtime.memory import pin_mmap_threshold
    from facegate.server.app import serve

    pin_mmap_threshold()  # the entrances' frames, as in `facegate run`
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return serve(
        _config(args),
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        database_url=args.database_url,
    )


def cmd_demo(args: argparse.Namespace) -> int:
    """Enrol Grace Hopper from one photo, then identify her in another rendition and check
    that a stranger (the astronaut Eileen Collins) stays unknown: real faces from PyPI wheels."""
    from facegate.demo import demo_images

    engine = _engine(args)
    hopper, hopper_again, stranger = demo_images()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite"
        with SQLiteGallery(db) as store:
            rep = api.enroll(engine, store, "Grace Hopper", [hopper])
            if not rep.accepted:
                raise FaceGateError(f"demo enrolment failed: {rep.rejected[0][1]}")
            print(f"enrolled Grace Hopper ({engine.config.model}, gallery {db.name})")
            for label, img in (
                ("Grace Hopper, another shot", hopper_again),
                ("a stranger", stranger),
            ):
                r = api.identify(engine, store, img)[0]
                who = r.match.person.name if r.match.person else "unknown"
                print(
                    f"{label}: identified as {who} (score {r.match.score:.3f}, threshold "
                    f"{r.match.threshold:.3f} at FMR {engine.config.fmr:g})"
                )
    return 0


# -- plugins -------------------------------------------------------------------------------

#: Entry-point group through which other installed packages add subcommands. Each entry point
#: names a function `register(subparsers, parents: CliParents) -> None` that adds its parsers
#: with `subparsers.add_parser(...)` and gives each runnable one `set_defaults(func=handler)`,
#: a handler taking the parsed namespace and returning the exit code (FaceGateError is turned
#: into `error: ...` as for the built-in commands).
PLUGIN_GROUP = "facegate.cli"

#: Documented commands that come from a package the door's install leaves out: when it is
#: absent they say where they come from rather than "invalid choice".
_BENCH = "pip install -e ./bench (the facegate-bench package)"
OPTIONAL_COMMANDS = {"eval": _BENCH, "bench": _BENCH}


@dataclass(frozen=True)
class CliParents:
    """The option groups the built-in commands share, for a plugin's `parents=[...]`."""

    common: argparse.ArgumentParser  # --config, --json, --quiet
    match: argparse.ArgumentParser  # --model, --fusion, --flip, --fmr
    db: argparse.ArgumentParser  # --db


#: The helpers a plugin's handlers use the way the built-in ones do.
config_from_args = _config
engine_from_args = _engine
emit = _emit
liveness_config_from_args = _liveness_config


def plugin_entry_points() -> list[EntryPoint]:
    """The installed `facegate.cli` entry points."""
    from importlib.metadata import entry_points

    return list(entry_points(group=PLUGIN_GROUP))


def _add_plugins(
    sub: argparse._SubParsersAction, parents: CliParents, plugins: Iterable[EntryPoint]
) -> None:
    for ep in plugins:
        try:
            ep.load()(sub, parents)
        except Exception as exc:  # a broken plugin must not take the door's commands with it
            logging.getLogger(__name__).warning(
                "plugin %s (%s) not loaded: %s: %s", ep.name, ep.value, type(exc).__name__, exc
            )
    for name, hint in OPTIONAL_COMMANDS.items():
        if name not in sub.choices:
            # takes any arguments (even --help) and says what to install
            sp = sub.add_parser(
                name, help=f"not installed: {hint}", add_help=False, prefix_chars="\0"
            )
            sp.add_argument("args", nargs="*", help=argparse.SUPPRESS)
            sp.set_defaults(func=lambda _args, name=name, hint=hint: _not_installed(name, hint))


def _not_installed(name: str, hint: str) -> int:
    print(f"error: `facegate {name}` is not installed: {hint}", file=sys.stderr)
    return EXIT_USAGE


# -- parser --------------------------------------------------------------------------------


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


if __name__ == "__main__":
    sys.exit(main())
