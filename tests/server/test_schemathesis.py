"""Schemathesis against the served OpenAPI: generated requests to every operation must never
get a 500. Door opens, sign-out and API-key deletion are left out (a fuzzer must not pulse a
real door or lock itself out); the entrance runtimes are off, so no generated camera URL or
webhook is ever contacted."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import httpx
import pytest

from tests.server.conftest import ADMIN_PASSWORD


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("schemathesis") is None,
    reason="schemathesis is not installed (pip install -e '.[dev]')",
)
def test_no_generated_request_gets_a_500(live_server, tmp_path) -> None:
    srv = live_server(run_entrances=False)
    token = httpx.post(
        f"{srv.url}/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    ).json()
    key = httpx.post(
        f"{srv.url}/api/v1/api-keys",
        json={"name": "fuzz", "role": "admin"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()["key"]
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{srv.url}/openapi.json",
        "-H",
        f"X-API-Key: {key}",
        "--checks",
        "not_a_server_error",
        "--exclude-path-regex",
        r"(/open|/auth/logout|/api-keys/\{key_id\})$",
        "-n",
        "6",
        "--seed",
        "7",
        "-w",
        "1",
        "--no-color",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    tail = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "failed" not in proc.stdout.split("SUMMARY")[-1], tail
