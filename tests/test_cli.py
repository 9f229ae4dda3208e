"""The CLI as a user runs it: human and JSON output, and every bad input as a clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegate.cli import main
from tests.conftest import write_image
from tests.test_imageio import png_header_only


@pytest.fixture
def run(capsys: pytest.CaptureFixture, cache_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FACEGATE_CACHE", str(cache_dir))

    def _run(*argv: str) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return _run


def test_enroll_identify_verify(
    run, tmp_path: Path, hopper_path: Path, hopper_reshot: np.ndarray, astronaut: np.ndarray
) -> None:
    db = tmp_path / "gallery.sqlite"
    again = write_image(tmp_path / "again.jpg", hopper_reshot)
    stranger = write_image(tmp_path / "stranger.jpg", astronaut)
    code, out, _ = run("enroll", "Grace Hopper", hopper_path, "--db", db)
    assert code == 0 and "enrolled Grace Hopper" in out
    code, out, _ = run("identify", again, "--db", db, "--json")
    res = json.loads(out)
    assert code == 0 and res["faces"][0]["person"]["name"] == "Grace Hopper"
    code, out, _ = run("identify", stranger, "--db", db)
    assert code == 0 and "unknown" in out
    code, out, _ = run("verify", hopper_path, again, "--json")
    assert code == 0 and json.loads(out)["same"] is True
    code, out, _ = run("verify", hopper_path, stranger)
    assert code == 0 and out.startswith("different people")
    code, out, _ = run("gallery", "--db", db, "--json")
    assert json.loads(out) == [{"id": 1, "name": "Grace Hopper", "photos": 1}]


def test_embed_json_lines(run, hopper_path: Path, tmp_path: Path) -> None:
    blank = write_image(tmp_path / "blank.png", np.zeros((64, 64, 3), np.uint8))
    code, out, _ = run("embed", "--model", "dlib", hopper_path, blank)
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and [x["path"] for x in lines] == [str(hopper_path), str(blank)]
    face = lines[0]["faces"][0]
    assert set(face) >= {"bbox", "landmarks", "det_score", "embedding"}
    assert len(face["embedding"]) == 128 and lines[0]["model"] == "dlib"
    assert lines[1]["faces"] == []


def bad_inputs(tmp: Path, hopper_path: Path, hopper: np.ndarray, two_people: np.ndarray):
    data = hopper_path.read_bytes()
    (tmp / "cut.jpg").write_bytes(data[: len(data) // 3])
    (tmp / "notes.jpg").write_text("not a picture\n")
    (tmp / "bomb.png").write_bytes(png_header_only(30000, 30000))
    tiny = cv2.resize(hopper, None, fx=0.12, fy=0.12, interpolation=cv2.INTER_AREA)
    canvas = np.full((400, 400, 3), 128, np.uint8)
    canvas[: tiny.shape[0], : tiny.shape[1]] = tiny
    return {
        "missing": (tmp / "absent.jpg", "file not found"),
        "truncated": (tmp / "cut.jpg", "truncated"),
        "not an image": (tmp / "notes.jpg", "not an image"),
        "huge": (tmp / "bomb.png", "too large"),
        "no face": (
            write_image(tmp / "wall.png", np.full((300, 300, 3), 200, np.uint8)),
            "no face found",
        ),
        "several faces": (write_image(tmp / "two.jpg", two_people), "2 faces found"),
        "too small": (write_image(tmp / "small.png", canvas), r"face too small \(\d+ px"),
        "too blurry": (
            write_image(tmp / "blur.png", cv2.GaussianBlur(hopper, (0, 0), 6)),
            r"face too blurry \(sharpness \d",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "truncated",
        "not an image",
        "huge",
        "no face",
        "several faces",
        "too small",
        "too blurry",
    ],
)
def test_enrolment_bad_input(
    run, tmp_path: Path, hopper_path: Path, hopper: np.ndarray, two_people: np.ndarray, case: str
) -> None:
    path, message = bad_inputs(tmp_path, hopper_path, hopper, two_people)[case]
    code, out, _ = run("enroll", "X", path, "--db", tmp_path / "g.sqlite")
    assert code == 1
    assert re.search(message, out), out


@pytest.mark.parametrize("case", ["missing", "truncated", "not an image", "huge", "no face"])
def test_identify_and_verify_bad_input(
    run, tmp_path: Path, hopper_path: Path, hopper: np.ndarray, two_people: np.ndarray, case: str
) -> None:
    path, message = bad_inputs(tmp_path, hopper_path, hopper, two_people)[case]
    db = tmp_path / "g.sqlite"
    assert run("enroll", "Grace", hopper_path, "--db", db)[0] == 0
    code, _, err = run("identify", path, "--db", db)
    assert code == 1 and err.startswith("error: ") and re.search(message, err)
    code, out, err = run("verify", hopper_path, path, "--json")
    assert code == 1 and json.loads(out)["message"] in err


def test_identify_without_gallery(run, tmp_path: Path, hopper_path: Path) -> None:
    code, _, err = run("identify", hopper_path, "--db", tmp_path / "none.sqlite")
    assert code == 1 and "does not exist" in err


def test_demo_runs(run) -> None:
    code, out, _ = run("demo")
    lines = out.splitlines()
    assert code == 0
    assert "identified as Grace Hopper" in lines[1] and "identified as unknown" in lines[2]
