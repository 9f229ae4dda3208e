"""`facegate` command line: human output by default, `--json` for machines.

Every subcommand is a thin shell over `facegate.service` (the REST API calls the same
functions). A FaceGateError becomes `error: <message>` and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from facegate import service
from facegate.config import FaceGateConfig, load_config
from facegate.engine import FaceEngine
from facegate.errors import DataError, FaceGateError
from facegate.gallery.store import SQLiteGallery

EXIT_USAGE = 2
EXIT_ERROR = 1


def default_data(sub: str) -> Path:
    """`$FACEGATE_DATA/<sub>`, else the shared evaluation data beside the checkout."""
    env = os.environ.get("FACEGATE_DATA")
    if env:
        return Path(env) / sub
    return Path.cwd().parent / "shared" / "data" / sub


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
        report = service.enroll(engine, store, args.name, args.images)
    lines = [f"enrolled {args.name}: {len(report.accepted)} photo(s) accepted"
             + (f", {report.person.photos} in gallery" if report.person else "")]
    lines += [f"  rejected {src}: {exc}" for src, exc in report.rejected]
    if not report.accepted:
        lines[0] = f"nothing enrolled for {args.name}: every photo was rejected"
    _emit(args, report.to_dict(), "\n".join(lines))
    return 0 if not report.rejected else EXIT_ERROR


def cmd_identify(args: argparse.Namespace) -> int:
    engine = _engine(args)
    with SQLiteGallery(_db_path(args), create=False) as store:
        results = service.identify(engine, store, args.image, top_k=args.top)
    human = []
    for i, r in enumerate(results):
        who = r.match.person.name if r.match.person else "unknown"
        human.append(f"face {i + 1} at {[round(float(v)) for v in r.face.bbox]}: {who} "
                     f"(score {r.match.score:.3f}, threshold {r.match.threshold:.3f})")
    _emit(args, {"image": args.image, "faces": [r.to_dict() for r in results]}, "\n".join(human))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    engine = _engine(args)
    res = service.verify(engine, args.image1, args.image2)
    verdict = "same person" if res.same else "different people"
    _emit(args, res.to_dict(), f"{verdict} (score {res.score:.3f}, threshold "
          f"{res.threshold:.3f} at FMR {res.fmr:g}, {res.model})")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    """JSON lines, one per input image; a bad image gets an error line and exit 1."""
    engine = _engine(args)
    status = 0
    for path in args.images:
        try:
            faces = service.embed(engine, path, model=args.model)
            print(json.dumps({"path": path, "model": args.model or engine.config.model,
                              "faces": faces}))
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
    _emit(args, [{"id": p.id, "name": p.name, "photos": p.photos} for p in people],
          "\n".join(f"{p.name} ({p.photos} photo(s))" for p in people) or "gallery is empty")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run one entrance: from a config file, or from --source/--db with defaults."""
    import logging

    from facegate.runtime.app import human_printer, json_printer, run_entrance
    from facegate.runtime.sources import SourceConfig

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    cfg = _config(args)
    rc = cfg.runtime
    if args.source:
        rc = rc.model_copy(update={"source": SourceConfig(uri=args.source)})
    if rc.source is None:
        raise FaceGateError("nothing to watch: give --source SRC or runtime.source in --config")
    if args.pace or args.until_end:
        pace = args.pace or "simulated"
        rc = rc.model_copy(update={"source": rc.source.model_copy(update={"pace": pace})})
    cfg = cfg.model_copy(update={"runtime": rc})
    printer = json_printer() if args.json else human_printer()
    stats = run_entrance(cfg, gallery=_db_path(args), max_frames=args.max_frames,
                         printer=printer)
    print(json.dumps({"summary": stats.to_dict()}) if args.json else
          f"{stats.frames} frames in {stats.wall_s:.1f} s ({stats.fps:.1f} frames/s), "
          f"events: {stats.events or 'none'}", file=sys.stderr)
    return 0


def _lfw_root(data: str | None) -> Path:
    root = Path(data) if data else default_data("lfw")
    if not (root / "pairs.txt").is_file() and (root / "lfw" / "pairs.txt").is_file():
        root = root / "lfw"
    if not (root / "pairs.txt").is_file():
        raise DataError(f"no LFW at {root} (pairs.txt missing); pass --data DIR")
    return root


def cmd_eval_lfw(args: argparse.Namespace) -> int:
    from facegate.bench import lfw

    engine = _engine(args)
    report = lfw.evaluate(engine, _lfw_root(args.data), args.models.split(","),
                          progress=not args.quiet)
    if args.roc:
        report.plot(Path(args.roc))
    _emit(args, report.to_dict(),
          report.to_text() + (f"\nROC written to {args.roc}" if args.roc else ""))
    return 0


def cmd_eval_calibrate(args: argparse.Namespace) -> int:
    from facegate.bench import lfw
    from facegate.gallery.thresholds import save_calibrations

    engine = _engine(args)
    cals = lfw.calibrate(engine, _lfw_root(args.data), args.models.split(","),
                         progress=not args.quiet)
    save_calibrations(Path(args.out), cals,
                      note="facegate eval calibrate --data <lfw> --models " + args.models)
    _emit(args, {k: c.to_json() for k, c in cals.items()},
          "\n".join(f"{k}: " + ", ".join(f"FMR {f:g} -> {t:.4f}" for f, t in
                                         sorted(c.thresholds.items()))
                    for k, c in cals.items()) + f"\nwritten to {args.out}")
    return 0


def cmd_eval_wider(args: argparse.Namespace) -> int:
    from facegate.bench import wider

    root = Path(args.data) if args.data else default_data("wider-face-val-subset")
    if not root.is_dir() and (root / "wider-face-val-subset").is_dir():
        root = root / "wider-face-val-subset"
    report = wider.evaluate(root, progress=not args.quiet)
    _emit(args, report.to_dict(), report.to_text())
    return 0


def cmd_bench_door(args: argparse.Namespace) -> int:
    """The real runtime on rendered LFW visits: false opens, missed opens, time-to-open."""
    from facegate.bench import door

    engine = _engine(args)
    cfg = _config(args).runtime
    report = door.run(
        engine, _lfw_root(args.data), residents=args.residents, strangers=args.strangers,
        visits_per_resident=args.visits_per_resident, seed=args.seed,
        decision=cfg.decision, quality=cfg.quality, progress=not args.quiet,
    )
    _emit(args, report.summary(), report.to_text())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Enrol Grace Hopper from one photo, then identify her in another rendition and check
    that a stranger (the astronaut Eileen Collins) stays unknown: real faces from PyPI wheels."""
    from facegate.demo import demo_images

    engine = _engine(args)
    hopper, hopper_again, stranger = demo_images()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite"
        with SQLiteGallery(db) as store:
            rep = service.enroll(engine, store, "Grace Hopper", [hopper])
            if not rep.accepted:
                raise FaceGateError(f"demo enrolment failed: {rep.rejected[0][1]}")
            print(f"enrolled Grace Hopper ({engine.config.model}, gallery {db.name})")
            for label, img in (("Grace Hopper, another shot", hopper_again),
                               ("a stranger", stranger)):
                r = service.identify(engine, store, img)[0]
                who = r.match.person.name if r.match.person else "unknown"
                print(f"{label}: identified as {who} (score {r.match.score:.3f}, threshold "
                      f"{r.match.threshold:.3f} at FMR {engine.config.fmr:g})")
    return 0


# -- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="YAML config file (see docs/config.md)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--quiet", action="store_true", help="no progress bars")

    p = argparse.ArgumentParser(prog="facegate", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str,
            parents: list | None = None) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, parents=[common, *(parents or [])])
        sp.set_defaults(func=fn)
        return sp

    match = argparse.ArgumentParser(add_help=False)
    match.add_argument("--model", help="recogniser to use (sface, dlib, ...)")
    match.add_argument("--fusion", action="store_true", help="decide on all recognisers fused")
    match.add_argument("--flip", action="store_true", help="average with the mirrored face")
    match.add_argument("--fmr", type=float, help="target false-match rate (default 1e-4)")
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", help="gallery file (default: gallery.path from --config, "
                    "$FACEGATE_DB, or ~/.local/share/facegate/gallery.sqlite)")

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
    sp = add("run", cmd_run, "watch a camera or video and open the door for residents",
             [match, db])
    sp.add_argument("--source", help="camera index, /dev/video*, rtsp:// or http:// URL, "
                    "video file or image folder (overrides runtime.source)")
    sp.add_argument("--max-frames", type=int, help="stop after this many processed frames")
    sp.add_argument("--until-end", action="store_true",
                    help="play a file to its end as fast as the CPU allows, as a live camera "
                    "would be processed (pace 'simulated')")
    sp.add_argument("--pace", choices=["realtime", "fast", "simulated"],
                    help="how files are replayed (default realtime)")
    sp.add_argument("--verbose", action="store_true", help="log to stderr")

    ev = sub.add_parser("eval", help="accuracy on the shared evaluation data")
    evsub = ev.add_subparsers(dest="eval_command", required=True)
    for name, fn, help_ in (("lfw", cmd_eval_lfw, "LFW 10-fold verification"),
                            ("calibrate", cmd_eval_calibrate, "FMR thresholds from LFW"),
                            ("wider", cmd_eval_wider, "WIDER FACE detection AP")):
        sp = evsub.add_parser(name, help=help_, parents=[common])
        sp.set_defaults(func=fn)
        sp.add_argument("--data", help="data folder (default: $FACEGATE_DATA or ../shared/data)")
        if name != "wider":
            sp.add_argument("--models", default="sface,dlib", help="comma-separated recognisers")
    evsub.choices["lfw"].add_argument("--roc", help="write the ROC plot to this PNG")

    # benchmarks: speed and door outcomes, our engine against baselines in the same run
    bench = sub.add_parser("bench", help="benchmarks (door outcomes, speed)")
    bsub = bench.add_subparsers(dest="bench_command", required=True)
    sp = bsub.add_parser("door", help="the runtime on rendered LFW visits",
                         parents=[common, match])
    sp.set_defaults(func=cmd_bench_door)
    sp.add_argument("--data", help="LFW folder (default: $FACEGATE_DATA/lfw or "
                    "../shared/data/lfw)")
    sp.add_argument("--residents", type=int, default=100)
    sp.add_argument("--visits-per-resident", type=int, default=3)
    sp.add_argument("--strangers", type=int, default=2000)
    sp.add_argument("--seed", type=int, default=0)
    evsub.choices["calibrate"].add_argument("--out", default="calibration.json")
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
            print("internal error (a FaceGate bug); rerun with FACEGATE_DEBUG=1 for details",
                  file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
