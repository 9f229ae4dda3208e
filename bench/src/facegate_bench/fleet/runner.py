"""Runs `facegate bench fleet`: builds the city, starts the broker and the server, then each
fleet size in turn (see the package docstring)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facegate.vault import Vault, encode_key, new_key
from facegate_bench.fleet import dataset
from facegate_bench.fleet.common import DEFAULT_DB
from facegate_bench.fleet.phases import Knobs, SizeRun
from facegate_bench.fleet.report import machine, scaling, to_text
from facegate_bench.fleet.services import Broker, Server, raise_file_limit

__all__ = ["DEFAULT_DB", "Options", "run", "to_text", "unavailable"]


@dataclass
class Options:
    sizes: list[int] = field(default_factory=lambda: [100, 1000])
    database_url: str = DEFAULT_DB
    workdir: Path = Path("/dev/shm/facegate-bench-fleet")
    layout: dataset.Layout = field(default_factory=dataset.Layout)
    knobs: Knobs = field(default_factory=Knobs)
    keep_database: bool = False
    log: Path | None = None
    partial: Path | None = None  # the report so far, rewritten after each fleet size


def _sayer(log: Path | None, quiet: bool):
    def say(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        if not quiet:
            print(line, flush=True)
        if log is not None:
            with log.open("a") as f:
                f.write(line + "\n")

    return say


def unavailable(database_url: str = DEFAULT_DB) -> str | None:
    """None when PostgreSQL answers and mosquitto is installed, else why not."""
    why = Broker.available()
    if why:
        return why
    try:
        import psycopg

        with psycopg.connect(dataset.admin_url(database_url), connect_timeout=3) as c:
            c.execute("SELECT 1")
    except Exception as exc:
        return f"no PostgreSQL at {dataset.admin_url(database_url)}: {exc.__class__.__name__}"
    return None


def run(opts: Options, quiet: bool = False) -> dict[str, Any]:
    say = _sayer(opts.log, quiet)
    files = raise_file_limit()
    report: dict[str, Any] = {"machine": machine(files), "sizes": opts.sizes}
    if opts.workdir.exists():
        shutil.rmtree(opts.workdir)
    opts.workdir.mkdir(parents=True)
    raw_key = new_key()
    key = encode_key(raw_key)
    password = secrets.token_urlsafe(16)
    say(f"building the dataset in {opts.database_url} ...")
    city = dataset.build(opts.database_url, Vault([raw_key]), opts.layout, say)
    report["dataset"] = city.summary()
    broker = Broker(opts.workdir / "broker")
    broker.start()
    server = Server(opts.workdir / "server", opts.database_url, broker.url, key, password)
    try:
        report["server_start_s"] = round(server.start(), 1)
        report["server_rss_mb_idle"] = server.rss_mb()
        photo = _photo()
        runs: list[dict[str, Any]] = []
        report["runs"] = runs
        for n in opts.sizes:
            say(f"fleet of {n} devices ...")
            size = SizeRun(
                n, city, broker, server, password, opts.workdir / f"devices-{n}", opts.knobs,
                photo, say,
            )  # fmt: skip
            try:
                runs.append(asyncio.run(size.run()))
            except Exception as exc:  # a size that fails is reported; the others stand
                say(f"fleet of {n} devices failed: {exc!r}")
                runs.append({"devices": n, "error": repr(exc)[:500]})
            shutil.rmtree(opts.workdir / f"devices-{n}", ignore_errors=True)
            report["scaling"] = scaling([r for r in runs if "error" not in r])
            if opts.partial is not None:  # what is done so far, should a later size fail
                opts.partial.write_text(json.dumps(report, indent=2))
    finally:
        server.stop()
        broker.stop()
        shutil.rmtree(opts.workdir, ignore_errors=True)
        if not opts.keep_database:
            dataset.drop_database(opts.database_url)
    report["load_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def _photo() -> bytes:
    """A real face for the enrolments (the server computes its templates)."""
    from facegate.demo import demo_images

    return demo_images()[0]
