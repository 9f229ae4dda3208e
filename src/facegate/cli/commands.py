"""The built-in commands: each a thin shell over `facegate.api` (the REST API calls the
same functions) or over the runtime and the server."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from facegate import api
from facegate.cli.common import (
    EXIT_ERROR,
    _config,
    _db_path,
    _emit,
    _engine,
    _gallery,
    _liveness_config,
)
from facegate.errors import FaceGateError
from facegate.gallery.store import SQLiteGallery


def cmd_enroll(args: argparse.Namespace) -> int:
    engine = _engine(args)
    with _gallery(args) as store:
        report = api.enroll(
            engine, store, args.name, args.images, confirm_other_person=args.confirm_other_person
        )
    lines = [
        f"enrolled {args.name}: {len(report.accepted)} photo(s) accepted"
        + (f", {report.person.photos} in gallery" if report.person else "")
    ]
    lines += [f"  rejected {src}: {exc}" for src, exc in report.rejected]
    lines += [f"  warning: {w}" for w in report.warnings]
    if any(e.code == "face_of_other_resident" for _, e in report.rejected):
        lines.append("  (--confirm-other-person enrols such a photo anyway)")
    if not report.accepted:
        lines[0] = f"nothing enrolled for {args.name}: every photo was rejected"
    _emit(args, report.to_dict(), "\n".join(lines))
    return 0 if not report.rejected else EXIT_ERROR


def cmd_identify(args: argparse.Namespace) -> int:
    engine = _engine(args)
    with _gallery(args, create=False) as store:
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
    with _gallery(args, create=False) as store:
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
    printer = json_printer() if args.json else human_printer()
    stats = run_entrance(
        rc, cfg.engine, gallery=_db_path(args), max_frames=args.max_frames, printer=printer
    )
    print(
        json.dumps({"summary": stats.to_dict()})
        if args.json
        else f"{stats.frames} frames in {stats.wall_s:.1f} s ({stats.fps:.1f} frames/s), "
        f"events: {stats.events or 'none'}",
        file=sys.stderr,
    )
    return 0


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


def cmd_keys(args: argparse.Namespace) -> int:
    """`facegate keys rotate`: a new data key, every template, photo and snapshot sealed
    again with it, the old keys dropped once nothing needs them."""
    from facegate.server.operations.keys import rotate_for_config

    cfg = _config(args)
    updates = {
        k: v for k, v in (("data_dir", args.data_dir), ("database_url", args.database_url)) if v
    }
    if updates:
        server = type(cfg.server).model_validate({**cfg.server.model_dump(), **updates})
        cfg = cfg.model_copy(update={"server": server})
    r = rotate_for_config(cfg)
    _emit(
        args,
        r.to_dict(),
        f"data key {r.key}: {r.blobs} templates/photos and {r.snapshots} snapshots sealed "
        f"again, {r.retired} old key(s) retired",
    )
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
