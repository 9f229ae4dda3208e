"""One config model, validated at start-up with messages that point at the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from facegate import FaceEngine
from facegate.config import EngineConfig, load_config
from facegate.errors import ConfigError


def test_defaults_need_no_file() -> None:
    cfg = load_config(None)
    assert cfg.engine.model == "sface"
    assert [r.name for r in cfg.engine.recognizers] == ["sface", "reid"]


def test_errors_name_every_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "entrance.yaml"
    path.write_text("engine:\n  fmr: 2\n  detector:\n    score_threshold: -1\n  colour: red\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "engine.fmr" in text and "engine.detector.score_threshold" in text
    assert "engine.colour" in text


def test_unknown_model_and_missing_path() -> None:
    with pytest.raises(ConfigError, match="not among the recognisers"):
        load_config({"engine": {"model": "arcface"}})
    with pytest.raises(ConfigError, match="needs a path"):
        load_config(
            {"engine": {"recognizers": [{"name": "x", "kind": "arcface_onnx"}], "model": "x"}}
        )


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(bad)


def test_from_config_accepts_file_dict_and_model(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("engine:\n  flip: true\n  fmr: 0.00001\n")
    assert FaceEngine.from_config(path).config.flip is True
    assert FaceEngine.from_config({"fmr": 1e-3}).config.fmr == 1e-3
    dlib = FaceEngine.from_config(EngineConfig().with_model("dlib")).config
    assert dlib.model == "dlib" and [r.name for r in dlib.recognizers] == ["sface", "reid", "dlib"]
    with pytest.raises(ValidationError, match="not among the recognisers"):
        EngineConfig(model="dlib")  # a file must list what it names


def test_example_entrance_config_is_valid() -> None:
    cfg = load_config(Path(__file__).parents[1] / "examples" / "entrance.yaml")
    assert cfg.runtime.door.kind == "gpio" and cfg.runtime.decision.confirm


# -- found by tests/fuzz: each escaped load_config as a bare exception (a traceback at start-up)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("engine: {fmr: 2001-02-30}\n", "day is out of range"),  # was ValueError
        ("server: {port: !!int abc}\n", "invalid literal"),  # was ValueError
        ("engine: {fmr: !!float x}\n", "could not convert"),  # was ValueError
        ("engine: {flip: !!bool maybe}\n", "maybe"),  # was KeyError
        ("server: {port: !!int ''}\n", "cannot read"),  # was IndexError
        ("engine: {fmr: !!timestamp ~}\n", "cannot read"),  # was AttributeError
        ("engine: {fmr: " + "9" * 5000 + "}\n", "digits"),  # was ValueError
        ("engine: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 50"),  # was RecursionError
        (
            "a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
            "nested more than 50",
        ),  # was RecursionError
    ],
)
def test_yaml_the_parser_chokes_on_is_a_config_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_billion_laughs_and_self_reference_are_refused_fast(tmp_path: Path) -> None:
    """Aliases stay references (PyYAML does not expand them) and validation stops at the first
    wrong type, so nine levels of nine aliases cost nothing."""
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    path = tmp_path / "lol.yaml"
    path.write_text(laughs + "engine: {recognizers: *i}\n")
    with pytest.raises(ConfigError, match="is invalid") as err:
        load_config(path)
    assert len(str(err.value)) < 5000
    path.write_text("runtime: &r {access: *r}\n")
    with pytest.raises(ConfigError, match=r"runtime\.access"):
        load_config(path)


def test_a_time_zone_folder_is_a_config_error(tmp_path: Path) -> None:
    """A tzdata folder as a time zone: ZoneInfo raised IsADirectoryError (found by tests/fuzz)."""
    path = tmp_path / "site.yaml"
    for section in ("runtime: {access: {timezone: Europe}}", "server: {timezone: Europe}"):
        path.write_text(section + "\n")
        with pytest.raises(ConfigError, match="unknown time zone 'Europe'"):
            load_config(path)
