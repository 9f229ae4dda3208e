"""`facegate` command line: human output by default, `--json` for machines.

Every subcommand is a thin shell over `facegate.api` (the REST API calls the same
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

from facegate import api
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
    report = lfw.evaluate(
        engine, _lfw_root(args.data), args.models.split(","), progress=not args.quiet
    )
    if args.roc:
        report.plot(Path(args.roc))
    _emit(
        args,
        report.to_dict(),
        report.to_text() + (f"\nROC written to {args.roc}" if args.roc else ""),
    )
    return 0


def cmd_eval_calibrate(args: argparse.Namespace) -> int:
    from facegate.bench import lfw
    from facegate.gallery.thresholds import save_calibrations

    engine = _engine(args)
    cals = lfw.calibrate(
        engine, _lfw_root(args.data), args.models.split(","), progress=not args.quiet
    )
    save_calibrations(
        Path(args.out), cals, note="facegate eval calibrate --data <lfw> --models " + args.models
    )
    _emit(
        args,
        {k: c.to_json() for k, c in cals.items()},
        "\n".join(
            f"{k}: " + ", ".join(f"FMR {f:g} -> {t:.4f}" for f, t in sorted(c.thresholds.items()))
            for k, c in cals.items()
        )
        + f"\nwritten to {args.out}",
    )
    return 0


def cmd_eval_wider(args: argparse.Namespace) -> int:
    from facegate.bench import wider

    root = Path(args.data) if args.data else default_data("wider-face-val-subset")
    if not root.is_dir() and (root / "wider-face-val-subset").is_dir():
        root = root / "wider-face-val-subset"
    from facegate.config import DetectorConfig

    detector = DetectorConfig(score_threshold=wider.EVAL_SCORE_THRESHOLD, max_side=args.max_side)
    engine = FaceEngine(_config(args).engine.model_copy(update={"detector": detector}))
    report = wider.evaluate(root, engine, progress=not args.quiet)
    _emit(args, report.to_dict(), report.to_text())
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


def _pad_model_path(args: argparse.Namespace) -> Path:
    if args.pad_model:
        return Path(args.pad_model)
    lc = _config(args).runtime.liveness
    if lc.model is not None:
        return lc.model
    env = os.environ.get("FACEGATE_MODELS")
    base = Path(env) if env else Path.cwd().parent / "shared" / "models"
    if (base / "minifasnet").is_dir():
        return base / "minifasnet"
    raise DataError("no PAD model: pass --pad-model PATH (or set runtime.liveness.model)")


def cmd_eval_pad(args: argparse.Namespace) -> int:
    from facegate.bench import pad
    from facegate.models.pad import MiniFASNet

    engine = _engine(args)
    root = Path(args.data) if args.data else default_data("antispoof")
    if not (root / "real").is_dir() and (root / "antispoof" / "real").is_dir():
        root = root / "antispoof"
    model = MiniFASNet(_pad_model_path(args), threads=1).prepare()
    report = pad.evaluate_passive(
        root,
        model,
        engine.detect,
        target_bpcer=args.target_bpcer,
        folds=args.folds,
        progress=not args.quiet,
    )
    _emit(args, report.to_dict(), report.to_text())
    return 0


def cmd_eval_planar(args: argparse.Namespace) -> int:
    from facegate.bench import pad

    engine = _engine(args)
    root = Path(args.data) if args.data else default_data("")
    report = pad.evaluate_motion(
        engine,
        root,
        _config(args).runtime.liveness.motion,
        attacks=args.attacks,
        seed=args.seed,
        split=args.split,
        progress=not args.quiet,
    )
    _emit(args, report.to_dict(), report.to_text())
    return 0


def cmd_bench_door(args: argparse.Namespace) -> int:
    """The real runtime on rendered LFW visits: false opens, missed opens, time-to-open."""
    from facegate.bench import door

    engine = _engine(args)
    cfg = _config(args).runtime
    if args.stills:
        from facegate.bench import ceiling

        bound = ceiling.run(
            engine,
            _lfw_root(args.data),
            residents=args.residents,
            strangers=args.strangers,
            visits_per_resident=args.visits_per_resident,
            seed=args.seed,
            enrol_photos=args.enrol_photos,
            min_enrol_photos=args.min_enrol_photos,
            fmr=cfg.decision.fmr,
            confirm_fmr=cfg.decision.confirm_fmr,
            progress=not args.quiet,
        )
        _emit(args, bound, ceiling.to_text(bound))
        return 0
    log = open(args.log, "w", encoding="utf-8") if args.log else None  # noqa: SIM115

    def write(result: door.VisitResult) -> None:
        if log is not None:
            log.write(json.dumps(result.to_dict()) + "\n")
            log.flush()

    try:
        report = door.run(
            engine,
            _lfw_root(args.data),
            residents=args.residents,
            strangers=args.strangers,
            visits_per_resident=args.visits_per_resident,
            seed=args.seed,
            enrol_photos=args.enrol_photos,
            min_enrol_photos=args.min_enrol_photos,
            decision=cfg.decision,
            quality=cfg.quality,
            progress=not args.quiet,
            on_result=write,
            attacks=args.attacks,
            liveness=_liveness_config(args),
        )
    finally:
        if log is not None:
            log.close()
    _emit(args, report.summary(), report.to_text())
    return 0


def _precisions(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(dict.fromkeys(["fp32", *args.precisions.split(",")]))


def _optional_data(path: str | None, sub: str) -> Path | None:
    root = Path(path) if path else default_data(sub)
    return root if root.exists() else None


def cmd_bench_models(args: argparse.Namespace) -> int:
    """Detector and recogniser speed vs OpenCV (and ORT, dlib), same process, interleaved."""
    from facegate.bench import models

    cfg = _config(args).engine
    lfw_root = _optional_data(args.lfw, "lfw")
    report = models.run(
        precisions=_precisions(args),
        threads=cfg.thread_count(),
        rounds=args.rounds,
        lfw_root=_lfw_root(str(lfw_root)) if lfw_root and not args.no_accuracy else None,
        wider_root=_optional_data(args.wider, "wider-face-val-subset"),
        cache_dir=cfg.cache_dir,
        accuracy=not args.no_accuracy,
        progress=not args.quiet,
    )
    _emit(args, report, models.to_text(report))
    return 0


def cmd_bench_stream(args: argparse.Namespace) -> int:
    """Whole-stream frames/s of the runtime vs the OpenCV Zoo and face_recognition loops."""
    from facegate.bench import stream

    cfg = _config(args).engine
    if args.clips:
        clips = [Path(c) for c in args.clips]
    else:
        base = (
            Path(os.environ["FACEGATE_DATA"])
            if os.environ.get("FACEGATE_DATA")
            else (Path.cwd().parent / "shared" / "data")
        )
        clips = [base / c for c in stream.DEFAULT_CLIPS]
    missing = [str(c) for c in clips if not c.is_file()]
    if missing:
        raise DataError(f"clip(s) not found: {', '.join(missing)}; pass CLIP paths")
    report = stream.run(
        clips,
        precisions=_precisions(args),
        threads=cfg.thread_count(),
        cache_dir=cfg.cache_dir,
        max_frames=args.max_frames,
        with_face_recognition=not args.no_face_recognition,
        native_zoo=not args.no_native,
        rounds=args.rounds,
    )
    _emit(args, report, stream.to_text(report))
    return 0


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


# -- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
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

    ev = sub.add_parser("eval", help="accuracy on the shared evaluation data")
    evsub = ev.add_subparsers(dest="eval_command", required=True)
    for name, fn, help_ in (
        ("lfw", cmd_eval_lfw, "LFW 10-fold verification"),
        ("calibrate", cmd_eval_calibrate, "FMR thresholds from LFW"),
        ("wider", cmd_eval_wider, "WIDER FACE detection AP"),
    ):
        sp = evsub.add_parser(name, help=help_, parents=[common])
        sp.set_defaults(func=fn)
        sp.add_argument("--data", help="data folder (default: $FACEGATE_DATA or ../shared/data)")
        if name != "wider":
            sp.add_argument("--models", default="sface,dlib", help="comma-separated recognisers")
    evsub.choices["lfw"].add_argument("--roc", help="write the ROC plot to this PNG")
    sp = evsub.add_parser(
        "pad", help="passive PAD: APCER/BPCER/ACER, subject-disjoint", parents=[common]
    )
    sp.set_defaults(func=cmd_eval_pad)
    sp.add_argument("--data", help="anti-spoofing folder (default: $FACEGATE_DATA/antispoof)")
    sp.add_argument(
        "--pad-model",
        metavar="PATH",
        help="MiniFASNet-layout ONNX folder or file "
        "(default: runtime.liveness.model, else $FACEGATE_MODELS/minifasnet)",
    )
    sp.add_argument(
        "--target-bpcer",
        type=float,
        default=0.02,
        help="BPCER the thresholds are fixed at on the calibration subjects",
    )
    sp.add_argument("--folds", type=int, default=5, help="subject folds")
    sp = evsub.add_parser(
        "planar",
        help="model-free planar-motion check: rendered print/screen attacks vs real video tracks",
        parents=[common],
    )
    sp.set_defaults(func=cmd_eval_planar)
    sp.add_argument(
        "--data",
        help="shared data folder with lfw/ and video/ (default: $FACEGATE_DATA or ../shared/data)",
    )
    sp.add_argument("--attacks", type=int, default=240, help="attack clips to render")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument(
        "--split",
        choices=["test", "calibration", "all"],
        default="test",
        help="LFW people / real clips to report on (thresholds were fixed on 'calibration')",
    )

    # benchmarks: speed and door outcomes, our engine against baselines in the same run
    bench = sub.add_parser("bench", help="benchmarks (door outcomes, speed)")
    bsub = bench.add_subparsers(dest="bench_command", required=True)
    sp = bsub.add_parser("door", help="the runtime on rendered LFW visits", parents=[common, match])
    sp.set_defaults(func=cmd_bench_door)
    sp.add_argument("--data", help="LFW folder (default: $FACEGATE_DATA/lfw or ../shared/data/lfw)")
    sp.add_argument("--residents", type=int, default=100)
    sp.add_argument("--visits-per-resident", type=int, default=3)
    sp.add_argument("--strangers", type=int, default=2000)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument(
        "--enrol-photos",
        type=int,
        default=5,
        metavar="N",
        help="photos enrolled per resident, at most (held-out photos are visits)",
    )
    sp.add_argument(
        "--min-enrol-photos",
        type=int,
        default=3,
        metavar="N",
        help="photos enrolled per resident, at least (residents need one more)",
    )
    sp.add_argument("--log", metavar="FILE", help="write one JSON line per visit as it ends")
    sp.add_argument(
        "--attacks",
        type=int,
        default=0,
        metavar="N",
        help="also N attack visits: a resident's own photo printed or on a screen, "
        "run with runtime.liveness from --config (default: the motion check); "
        "any attack admitted is a false open",
    )
    sp.add_argument(
        "--pad-model",
        metavar="PATH",
        help="passive PAD model for the attack visits' liveness (sets runtime.liveness.model)",
    )
    sp.add_argument(
        "--stills",
        action="store_true",
        help="no clips: score the same visits as still photos and report the "
        "fewest misses any threshold could give with 0 false opens (a bound)",
    )
    sp = bsub.add_parser(
        "models", help="detector/recogniser speed and accuracy vs OpenCV", parents=[common]
    )
    sp.set_defaults(func=cmd_bench_models)
    sp.add_argument("--precisions", default="fp32,int8", help="FaceGate variants to compare")
    sp.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    sp.add_argument("--lfw", help="LFW folder for accuracy (default: $FACEGATE_DATA/lfw)")
    sp.add_argument("--wider", help="WIDER subset for AP (default: $FACEGATE_DATA/...)")
    sp.add_argument("--no-accuracy", action="store_true", help="timing only")
    sp = bsub.add_parser(
        "stream",
        help="whole-stream frames/s vs the OpenCV Zoo and face_recognition loops",
        parents=[common],
    )
    sp.set_defaults(func=cmd_bench_stream)
    sp.add_argument(
        "clips", nargs="*", metavar="CLIP", help="videos (default: the shared 720p and 1080p clips)"
    )
    sp.add_argument("--precisions", default="fp32,int8", help="FaceGate variants to compare")
    sp.add_argument("--max-frames", type=int, help="use the first N frames of each clip")
    sp.add_argument("--rounds", type=int, default=3, help="interleaved passes over each clip")
    sp.add_argument("--no-face-recognition", action="store_true", help="skip the dlib loop")
    sp.add_argument(
        "--no-native", action="store_true", help="skip the OpenCV Zoo loop at native resolution"
    )
    evsub.choices["calibrate"].add_argument("--out", default="calibration.json")
    evsub.choices["wider"].add_argument(
        "--max-side",
        type=int,
        default=0,
        help="shrink images to this long side before detection (0 = full resolution; "
        "the runtime uses 640)",
    )
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
