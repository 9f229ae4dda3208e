"""The plugin seam: `facegate eval` / `facegate bench` come from facegate-bench through the
`facegate.cli` entry point; without it the product CLI still works and says what to install."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from facegate import cli
from facegate.cli import main
from facegate_bench import data

PLUGIN = EntryPoint(name="bench", value="facegate_bench.cli:register", group="facegate.cli")


def _commands(parser, dest: str = "command") -> dict:
    (sub,) = [a for a in parser._actions if a.dest == dest]
    return sub.choices


def test_plugin_is_installed_as_an_entry_point() -> None:
    assert PLUGIN.value in [ep.value for ep in cli.plugin_entry_points()]


def test_product_cli_without_the_plugin(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli, "plugin_entry_points", list)  # no entry point installed
    commands = _commands(cli.build_parser())
    assert {"enroll", "identify", "verify", "run", "serve", "liveness"} <= set(commands)
    for name in ("eval", "bench"):
        for argv in ([name], [name, "--help"], [name, "door", "--data", "x", "--json"]):
            assert main(argv) == cli.EXIT_USAGE
            err = capsys.readouterr().err
            assert f"`facegate {name}` is not installed" in err
            assert "pip install -e ./bench (the facegate-bench package)" in err
    with pytest.raises(SystemExit) as exc:  # the built-in commands are all there
        main(["verify", "--help"])
    assert exc.value.code == 0
    assert "IMG1" in capsys.readouterr().out


def test_a_broken_plugin_is_a_warning_not_a_failure(caplog) -> None:
    broken = EntryPoint(name="broken", value="no_such_module:register", group="facegate.cli")
    commands = _commands(cli.build_parser([broken, PLUGIN]))
    assert "broken" in caplog.text and "No module named 'no_such_module'" in caplog.text
    assert {"run", "eval", "bench"} <= set(commands)  # the other plugins still load
    assert "door" in _commands(commands["bench"], "bench_command")


def test_bench_help_lists_the_door_benchmark(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "door" in out and "models" in out and "stream" in out
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("lfw", "calibrate", "wider", "pad", "planar"))


def test_installed_command_lists_the_door_benchmark() -> None:
    """The console script, as a user runs it: the entry point is really installed."""
    out = subprocess.run(
        [sys.executable, "-m", "facegate.cli", "bench", "door", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--stills" in out and "--residents" in out


def test_data_root_is_beside_the_checkout(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("FACEGATE_DATA", raising=False)
    monkeypatch.delenv("FACEGATE_MODELS", raising=False)
    checkout = data.checkout()
    assert (checkout / "bench" / "pyproject.toml").is_file()
    assert data.data_root() == checkout.parent / "shared" / "data"
    assert data.data_dir("lfw") == checkout.parent / "shared" / "data" / "lfw"
    assert data.models_root() == checkout.parent / "shared" / "models"
    monkeypatch.setenv("FACEGATE_DATA", str(tmp_path))
    monkeypatch.setenv("FACEGATE_MODELS", str(tmp_path / "m"))
    assert data.data_root() == tmp_path and data.models_root() == tmp_path / "m"


def test_missing_data_is_a_clear_error(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("FACEGATE_DATA", str(tmp_path))
    assert main(["bench", "door", "--json", "--quiet"]) == cli.EXIT_ERROR
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"]
    assert f"no LFW at {tmp_path / 'lfw'}" in captured.err
    assert main(["bench", "stream", "--quiet"]) == cli.EXIT_ERROR
    assert "clip(s) not found" in capsys.readouterr().err


def test_eval_names_shipped_recognisers_without_a_config() -> None:
    """`--models sface,reid` works with the default config: reid is added by its name."""
    from facegate_bench.cli import _engine_for

    parser = cli.build_parser()
    args = parser.parse_args(
        ["eval", "calibrate", "--models", "sface,reid", "--fusions", "sface+reid"]
    )
    engine = _engine_for(args, args.models.split(","))
    assert engine.model_names == ["sface", "reid"]  # the default pair, nothing added
    dlib = _engine_for(args, ["sface", "dlib"])
    assert dlib.model_names == ["sface", "reid", "dlib"]
    assert engine.config.recognizer("reid").kind == "face_reid"
    assert "reid" in _commands(_commands(parser)["bench"], "bench_command")
