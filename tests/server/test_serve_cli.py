"""`facegate serve`: flags and $FACEGATE_* reach the server settings; bad ones are errors."""

from __future__ import annotations

import pytest

from facegate.cli import build_parser, main


def test_serve_parses_its_flags() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--port",
            "9001",
            "--data-dir",
            "/tmp/x",
            "--database-url",
            "sqlite:////tmp/x/db.sqlite",
        ]
    )
    assert (args.port, args.data_dir, args.database_url) == (
        9001,
        "/tmp/x",
        "sqlite:////tmp/x/db.sqlite",
    )


def test_bad_port_or_database_url_is_a_clear_error(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("FACEGATE_PORT", "eighty")
    assert main(["serve", "--data-dir", str(tmp_path)]) == 1
    assert "FACEGATE_PORT must be a port number" in capsys.readouterr().err
    monkeypatch.delenv("FACEGATE_PORT")
    assert main(["serve", "--data-dir", str(tmp_path), "--database-url", "nosuch://x"]) == 1
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["0", "70000"])
def test_port_out_of_range(monkeypatch, tmp_path, capsys, port: str) -> None:
    monkeypatch.setenv("FACEGATE_PORT", port)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 1
    assert "port" in capsys.readouterr().err
