"""The plug-in seam: other installed packages add subcommands through entry points."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from facegate.cli.common import EXIT_USAGE, _config, _emit, _engine, _liveness_config

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint


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
