"""What every command shares: exit codes, output, the config with the command line's
overrides, the engine, the gallery path, the liveness section."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from facegate.config import FaceGateConfig, load_config
from facegate.engine import FaceEngine
from facegate.gallery.store import SQLiteGallery, gallery_vault

EXIT_USAGE = 2
EXIT_ERROR = 1


def _emit(args: argparse.Namespace, payload: object, human: str) -> None:
    print(json.dumps(payload) if args.json else human)


def _config(args: argparse.Namespace) -> FaceGateConfig:
    cfg = load_config(args.config) if args.config else FaceGateConfig()
    eng = cfg.engine
    if getattr(args, "model", None):
        eng = eng.with_model(args.model)
    updates = {}
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


def _gallery(args: argparse.Namespace, *, create: bool = True) -> SQLiteGallery:
    """The gallery file, its templates sealed with the key beside it (`facegate.key`) or
    from $FACEGATE_KEY / $FACEGATE_KEY_FILE. A missing gallery that is not to be created
    is the store's own error (no key is made for it)."""
    path = _db_path(args)
    vault = gallery_vault(path) if create or path.is_file() else None
    return SQLiteGallery(path, create=create, vault=vault)


def _liveness_config(args: argparse.Namespace):
    """runtime.liveness from --config, with --pad-model (which also requires the check)."""
    lc = _config(args).runtime.liveness
    if getattr(args, "pad_model", None):
        checks = lc.checks
        if checks is not None and "passive" not in checks:
            checks = ["passive", *checks]
        lc = lc.model_validate({**lc.model_dump(), "model": args.pad_model, "checks": checks})
    return lc
