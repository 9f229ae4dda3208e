"""`facegate eval ...` and `facegate bench ...`: accuracy on the shared evaluation data, the door
benchmark and the speed benchmarks, added to the product's `facegate` command.

The product CLI finds `register` through the entry point `facegate.cli` (bench/pyproject.toml)
and calls it with its subparsers and shared option groups. The commands' options, defaults and
output are those they had inside the product; data defaults come from `facegate_bench.data`
(`$FACEGATE_DATA`, else `../shared/data` beside the checkout). Imports of the evaluation modules
stay inside the handlers: the product's own commands (and their start-up time) do not pay for
them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from facegate.cli import (
    CliParents,
    config_from_args,
    emit,
    engine_from_args,
    liveness_config_from_args,
)
from facegate.errors import DataError
from facegate_bench.data import data_dir, data_root, models_root

if TYPE_CHECKING:
    from facegate.engine import FaceEngine

# -- data defaults -------------------------------------------------------------------------


def lfw_root(data: str | None) -> Path:
    """The LFW folder (the one holding pairs.txt): --data, else `data_dir("lfw")`."""
    root = Path(data) if data else data_dir("lfw")
    if not (root / "pairs.txt").is_file() and (root / "lfw" / "pairs.txt").is_file():
        root = root / "lfw"
    if not (root / "pairs.txt").is_file():
        raise DataError(f"no LFW at {root} (pairs.txt missing); pass --data DIR")
    return root


def _optional_data(path: str | None, sub: str) -> Path | None:
    root = Path(path) if path else data_dir(sub)
    return root if root.exists() else None


def _pad_model_path(args: argparse.Namespace) -> Path | None:
    """--pad-model, else runtime.liveness.model, else None: the model shipped with FaceGate."""
    if args.pad_model:
        return Path(args.pad_model)
    return config_from_args(args).runtime.liveness.model


def _engine_for(args: argparse.Namespace, models: list[str]) -> FaceEngine:
    """The engine of --config, plus any shipped recogniser named in --models by its own name
    (`sface`, `dlib`, `reid`) that the config does not list."""
    from facegate.engine import FaceEngine

    return FaceEngine(config_from_args(args).engine.with_recognizers(models))


def _precisions(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(dict.fromkeys(["fp32", *args.precisions.split(",")]))


# -- eval ----------------------------------------------------------------------------------


def cmd_eval_lfw(args: argparse.Namespace) -> int:
    from facegate_bench import lfw

    models = args.models.split(",")
    report = lfw.evaluate(
        _engine_for(args, models), lfw_root(args.data), models, progress=not args.quiet
    )
    if args.roc:
        report.plot(Path(args.roc))
    emit(
        args,
        report.to_dict(),
        report.to_text() + (f"\nROC written to {args.roc}" if args.roc else ""),
    )
    return 0


def cmd_eval_calibrate(args: argparse.Namespace) -> int:
    from facegate_bench import calibrate

    models = args.models.split(",")
    fusions = None if args.fusions is None else [f.split("+") for f in args.fusions.split(",") if f]
    run = calibrate.calibrate(
        _engine_for(args, models), lfw_root(args.data), models, fusions, progress=not args.quiet
    )
    note = "facegate eval calibrate --data <lfw> --models " + args.models
    if args.fusions is not None:
        note += " --fusions " + args.fusions
    cals = run.calibrations
    if args.merge:
        from facegate.gallery.thresholds import load_calibrations

        cals = calibrate.merge_calibrations(load_calibrations(Path(args.out)), cals)
        note += " --merge"
    calibrate.save_calibrations(Path(args.out), cals, note=note)
    emit(args, run.to_dict(), run.to_text() + f"\nwritten to {args.out}")
    return 0


def cmd_eval_wider(args: argparse.Namespace) -> int:
    from facegate.config import DetectorConfig
    from facegate.engine import FaceEngine
    from facegate_bench import wider

    root = Path(args.data) if args.data else data_dir("wider-face-val-subset")
    if not root.is_dir() and (root / "wider-face-val-subset").is_dir():
        root = root / "wider-face-val-subset"
    detector = DetectorConfig(score_threshold=wider.EVAL_SCORE_THRESHOLD, max_side=args.max_side)
    engine = FaceEngine(config_from_args(args).engine.model_copy(update={"detector": detector}))
    report = wider.evaluate(root, engine, progress=not args.quiet)
    emit(args, report.to_dict(), report.to_text())
    return 0


def cmd_eval_pad(args: argparse.Namespace) -> int:
    from facegate.models.pad import MiniFASNet
    from facegate_bench import pad

    engine = engine_from_args(args)
    root = Path(args.data) if args.data else data_dir("antispoof")
    if not (root / "real").is_dir() and (root / "antispoof" / "real").is_dir():
        root = root / "antispoof"
    model = MiniFASNet(_pad_model_path(args), threads=1).prepare()
    samples = pad.find_samples(root)
    ms = pad.score_samples(samples, engine.detect, model, not args.quiet)
    report = pad.report_passive(
        samples, model, target_bpcer=args.target_bpcer, folds=args.folds, ms_per_face=ms
    )
    out, text = report.to_dict(), report.to_text()
    video = data_root() / "video" if not args.video else Path(args.video)
    if args.track_bpcer > 0:
        from facegate.runtime.liveness import PassiveCheck
        from facegate_bench import pad_tracks

        cfg = liveness_config_from_args(args).passive.model_copy(update={"threshold": 0.0})
        clips = pad_tracks.clip_track_scores(video, engine.detect, PassiveCheck(model, cfg, 0.0))
        halves = pad_tracks.halves_report(
            samples, clips, samples_per_track=cfg.samples, target_bpcer=args.track_bpcer
        )
        out["track_threshold"] = halves
        text = "\n".join([text, *pad_tracks.halves_text(halves)])
    emit(args, out, text)
    return 0


def cmd_eval_planar(args: argparse.Namespace) -> int:
    from facegate_bench import pad

    engine = engine_from_args(args)
    root = Path(args.data) if args.data else data_root()
    report = pad.evaluate_motion(
        engine,
        root,
        config_from_args(args).runtime.liveness.motion,
        attacks=args.attacks,
        seed=args.seed,
        split=args.split,
        progress=not args.quiet,
    )
    emit(args, report.to_dict(), report.to_text())
    return 0


def cmd_eval_liveness(args: argparse.Namespace) -> int:
    from facegate_bench import liveness_eval

    engine = engine_from_args(args)
    root = Path(args.data) if args.data else data_root()
    report = liveness_eval.evaluate(
        engine,
        root,
        liveness_config_from_args(args),
        attacks=args.attacks,
        seed=args.seed,
        split=args.split,
        real=not args.no_real,
        progress=not args.quiet,
        on_track=liveness_eval.write_log(Path(args.log)) if args.log else None,
        kinds=args.kinds.split(","),
    )
    emit(args, report.to_dict(), report.to_text())
    return 0


# -- bench ---------------------------------------------------------------------------------


def cmd_bench_door(args: argparse.Namespace) -> int:
    """The real runtime on rendered LFW visits: false opens, missed opens, time-to-open."""
    from facegate_bench import door

    engine = engine_from_args(args)
    cfg = config_from_args(args).runtime
    if args.stills:
        from facegate_bench import ceiling

        bound = ceiling.run(
            engine,
            lfw_root(args.data),
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
        emit(args, bound, ceiling.to_text(bound))
        return 0
    log = open(args.log, "w", encoding="utf-8") if args.log else None  # noqa: SIM115

    def write(result: door.VisitResult) -> None:
        if log is not None:
            log.write(json.dumps(result.to_dict()) + "\n")
            log.flush()

    try:
        report = door.run(
            engine,
            lfw_root(args.data),
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
            liveness=liveness_config_from_args(args),
            video=_replay_video(args),
            resident_liveness=_resident_liveness(args),
        )
    finally:
        if log is not None:
            log.close()
    emit(args, report.summary(), report.to_text())
    return 0


def _replay_video(args: argparse.Namespace) -> Path | None:
    """The real clips replayed in attack visits: --video, else the shared video folder (None
    when it is absent or --no-replays: print and screen attacks only)."""
    if args.no_replays or args.attacks <= 0:
        return None
    video = Path(args.video) if args.video else data_dir("video")
    if args.video and not video.is_dir():
        raise DataError(f"no clips at {video} (--video)")
    return video if video.is_dir() else None


def _resident_liveness(args: argparse.Namespace):
    """--resident-liveness: none (default), or the attack visits' liveness restricted to the
    passive check (rendered resident visits are flat photos: the motion check rightly denies
    them)."""
    if args.resident_liveness == "off":
        return None
    lc = liveness_config_from_args(args)
    return lc.model_copy(update={"checks": ["passive"]})


def cmd_bench_models(args: argparse.Namespace) -> int:
    """Detector and recogniser speed vs OpenCV (and ORT, dlib), same process, interleaved."""
    from facegate_bench import models

    cfg = config_from_args(args).engine
    lfw = _optional_data(args.lfw, "lfw")
    report = models.run(
        precisions=_precisions(args),
        threads=cfg.thread_count(),
        rounds=args.rounds,
        lfw_root=lfw_root(str(lfw)) if lfw and not args.no_accuracy else None,
        wider_root=_optional_data(args.wider, "wider-face-val-subset"),
        cache_dir=cfg.cache_dir,
        accuracy=not args.no_accuracy,
        progress=not args.quiet,
    )
    emit(args, report, models.to_text(report))
    return 0


def cmd_bench_reid(args: argparse.Namespace) -> int:
    """The reid recogniser's runtimes (ORT, OpenVINO) against SFace: speed, memory, LFW."""
    from facegate_bench import reid

    cfg = config_from_args(args).engine
    lfw = None if args.no_accuracy else _optional_data(args.lfw, "lfw")
    ir = Path(args.ir) if args.ir else models_root() / "face-reid-0095"
    report = reid.run(
        thread_counts=[int(t) for t in args.thread_counts.split(",")],
        rounds=args.rounds,
        lfw_root=lfw_root(str(lfw)) if lfw else None,
        ir_dir=ir,
        cache_dir=cfg.cache_dir,
        memory=not args.no_memory,
        progress=not args.quiet,
    )
    emit(args, report, reid.to_text(report))
    return 0


def cmd_bench_idle(args: argparse.Namespace) -> int:
    """CPU of an empty doorway (720p/1080p, 25 fps), gate off and on; delay to a walk-in."""
    from facegate.engine import FaceEngine
    from facegate_bench import idle

    cfg = config_from_args(args)
    data = _optional_data(None, "video")
    report = idle.run(
        FaceEngine(cfg.engine),
        data.parent if data else None,
        seconds=args.seconds,
        sizes=tuple(args.sizes.split(",")),
        idle=cfg.runtime.idle,
    )
    emit(args, report, idle.to_text(report))
    return 0


def cmd_bench_detect(args: argparse.Namespace) -> int:
    """Detection per processed frame of the shared clips: around tracks vs OpenCV's YuNet."""
    from facegate.engine import FaceEngine
    from facegate_bench import detect

    cfg = config_from_args(args)
    data = _optional_data(None, "video")
    report = detect.run(
        FaceEngine(cfg.engine),
        data.parent if data else None,
        args.clips,
        cfg=cfg.runtime.regions,
        rounds=args.rounds,
        every=args.every,
        max_frames=args.max_frames,
    )
    emit(args, report, detect.to_text(report))
    return 0


def cmd_bench_search(args: argparse.Namespace) -> int:
    """1:N search time from 1k to 1M templates, against the previous matcher."""
    from facegate_bench import search

    sizes = tuple(int(float(x)) for x in args.sizes.split(","))
    report = search.run(sizes, dim=args.dim, rounds=args.rounds)
    emit(args, report, search.to_text(report))
    return 0


def cmd_bench_stream(args: argparse.Namespace) -> int:
    """Whole-stream frames/s of the runtime vs the OpenCV Zoo and face_recognition loops."""
    from facegate_bench import stream

    cfg = config_from_args(args).engine
    if args.clips:
        clips = [Path(c) for c in args.clips]
    else:
        clips = [data_root() / c for c in stream.DEFAULT_CLIPS]
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
    emit(args, report, stream.to_text(report))
    return 0


# -- parser --------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction, parents: CliParents) -> None:
    """Add `eval` and `bench` to the product's subparsers (entry point `facegate.cli`)."""
    common, match = parents.common, parents.match

    ev = sub.add_parser("eval", help="accuracy on the shared evaluation data (facegate-bench)")
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
            sp.add_argument(
                "--models",
                default="sface,dlib",
                help="comma-separated recognisers (shipped ones by name: sface, dlib, reid)",
            )
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
        "(default: runtime.liveness.model, else the pair shipped with FaceGate)",
    )
    sp.add_argument(
        "--target-bpcer",
        type=float,
        default=0.02,
        help="BPCER the thresholds are fixed at on the calibration subjects",
    )
    sp.add_argument("--folds", type=int, default=5, help="subject folds")
    sp.add_argument(
        "--track-bpcer",
        type=float,
        default=0.05,
        help="track-level threshold: share of a calibration half's real NUAA tracks it may "
        "refuse (no real clip track is); 0 skips it",
    )
    sp.add_argument(
        "--video",
        help="real clips for the track-level threshold (default: $FACEGATE_DATA/video)",
    )
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
    sp = evsub.add_parser(
        "liveness",
        help="the whole liveness stage (runtime.liveness): rendered print, screen and video "
        "replay attacks vs real video tracks",
        parents=[common],
    )
    sp.set_defaults(func=cmd_eval_liveness)
    sp.add_argument(
        "--data",
        help="shared data folder with lfw/ and video/ (default: $FACEGATE_DATA or ../shared/data)",
    )
    sp.add_argument(
        "--attacks", type=int, default=60, help="attack clips: print, screen, replay in turn"
    )
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument(
        "--split",
        choices=["test", "calibration", "all"],
        default="test",
        help="LFW people, replayed clips and real clips to use (settings are chosen on "
        "'calibration')",
    )
    sp.add_argument("--no-real", action="store_true", help="attacks only")
    sp.add_argument(
        "--kinds",
        default="print,screen,replay",
        help="attack kinds to run (each clip as in the full run: same seed, same index)",
    )
    sp.add_argument("--pad-model", metavar="PATH", help="passive PAD model (default: shipped)")
    sp.add_argument("--log", metavar="FILE", help="one JSON line per track, with the evidence")
    evsub.choices["calibrate"].add_argument("--out", default="calibration.json")
    evsub.choices["calibrate"].add_argument(
        "--merge",
        action="store_true",
        help="keep the entries already in --out (values unchanged; they only gain FMRs "
        "they lack) and add the new ones",
    )
    evsub.choices["calibrate"].add_argument(
        "--fusions",
        help="fusions to calibrate, e.g. sface+dlib,sface+reid (default: all --models fused)",
    )
    evsub.choices["wider"].add_argument(
        "--max-side",
        type=int,
        default=0,
        help="shrink images to this long side before detection (0 = full resolution; "
        "the runtime uses 640)",
    )

    # benchmarks: speed and door outcomes, our engine against baselines in the same run
    bench = sub.add_parser("bench", help="benchmarks: door outcomes, speed (facegate-bench)")
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
        help="also N attack visits: a resident's own photo printed or on a screen, and a "
        "resident's real video replayed on a screen (print, screen, replay in turn), run with "
        "runtime.liveness from --config (default: the passive and motion checks); any attack "
        "admitted is a false open",
    )
    sp.add_argument(
        "--video",
        metavar="DIR",
        help="real clips for the replay attacks (default: $FACEGATE_DATA/video); their people "
        "are enrolled as residents from frames the replays never show",
    )
    sp.add_argument("--no-replays", action="store_true", help="print and screen attack visits only")
    sp.add_argument(
        "--resident-liveness",
        choices=["off", "passive"],
        default="off",
        help="liveness for the resident and stranger visits: off, or the passive check of "
        "runtime.liveness (misses it causes are counted; the motion check would deny the "
        "rendered visits, which are flat photos)",
    )
    sp.add_argument(
        "--pad-model",
        metavar="PATH",
        help="passive PAD model for the attack visits' liveness (sets runtime.liveness.model; "
        "default: the model shipped with FaceGate)",
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
        "reid",
        help="the reid recogniser on ONNX Runtime vs OpenVINO, against SFace: speed, memory, LFW",
        parents=[common],
    )
    sp.set_defaults(func=cmd_bench_reid)
    sp.add_argument("--thread-counts", default="1,2", help="threads per model, each timed")
    sp.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    sp.add_argument("--lfw", help="LFW folder for accuracy (default: $FACEGATE_DATA/lfw)")
    sp.add_argument(
        "--ir", help="Intel's IR folder (default: $FACEGATE_MODELS/face-reid-0095), for OpenVINO"
    )
    sp.add_argument("--no-accuracy", action="store_true", help="no LFW")
    sp.add_argument("--no-memory", action="store_true", help="no memory / start-up probes")
    sp = bsub.add_parser(
        "idle",
        help="CPU of an empty doorway with the idle gate off and on; delay to a walk-in",
        parents=[common],
    )
    sp.set_defaults(func=cmd_bench_idle)
    sp.add_argument("--seconds", type=float, default=20.0, help="length of the empty scene")
    sp.add_argument("--sizes", default="720p,1080p", help="frame sizes: 720p, 1080p")
    sp = bsub.add_parser(
        "detect",
        help="detection per processed frame: around tracks vs cv2.FaceDetectorYN",
        parents=[common],
    )
    sp.set_defaults(func=cmd_bench_detect)
    sp.add_argument("clips", nargs="*", metavar="CLIP", help="videos (default: shared clips)")
    sp.add_argument("--rounds", type=int, default=3, help="interleaved passes over each clip")
    sp.add_argument("--every", type=int, default=2, help="process every N-th frame")
    sp.add_argument("--max-frames", type=int, help="use the first N frames of each clip")
    sp = bsub.add_parser(
        "search", help="1:N search time, 1k to 1M templates, vs the previous matcher"
    )
    sp.set_defaults(func=cmd_bench_search)
    sp.add_argument("--sizes", default="1e3,1e4,1e5,1e6", help="gallery sizes (templates)")
    sp.add_argument("--dim", type=int, default=128, help="embedding size (SFace 128, reid 256)")
    sp.add_argument("--rounds", type=int, default=10, help="interleaved timing rounds")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
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
    from facegate_bench.fleet.command import add_arguments as fleet_arguments

    fleet_arguments(
        bsub.add_parser(
            "fleet",
            help="simulated edge devices against the real server, broker and PostgreSQL",
            parents=[common],
        )
    )
