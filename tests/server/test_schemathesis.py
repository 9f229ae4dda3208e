"""Schemathesis against the served OpenAPI: generated requests to every operation must never
get a 5xx, alone (examples, coverage and fuzzing phases) and chained by the schema's OpenAPI
links (stateful phase: create a resident, then fetch, change, export and delete it by the
returned id; the same for entrances, rules and users; `facegate.server.api.links`).

Door opens and tests, camera tests, sign-out and API-key deletion are left out (a fuzzer must
not pulse a real door, open a generated camera URL or lock itself out); the entrance runtimes
are off, so no generated camera URL or webhook is ever contacted. Bounded for `make test`
(about a minute on a busy 2-core box); `FACEGATE_FUZZ_SECONDS=600` gives each of the two
runs half of that and more examples."""

from __future__ import annotations

import collections
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from facegate.server.api.links import LINKS
from tests.fuzz.targets import fuzz_seconds
from tests.server.conftest import ADMIN_PASSWORD, Api

EXCLUDED = r"(/open|/test-door|/test-camera|/auth/logout|/api-keys/\{key_id\})$"

#: The stateful walk's operations: the creates and what takes their ids (`LINKS`).
LINKED = "^(" + "|".join(sorted({re.escape(p) for s, t, _, _ in LINKS for p in (s, t)})) + ")$"

needs_schemathesis = pytest.mark.skipif(
    importlib.util.find_spec("schemathesis") is None,
    reason="schemathesis is not installed (pip install -e '.[dev]')",
)


def _run(url: str, key: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{url}/openapi.json",
        "-H",
        f"X-API-Key: {key}",
        "--checks",
        "not_a_server_error",
        "--exclude-path-regex",
        EXCLUDED,
        "--seed",
        "7",
        "-w",
        "1",
        "--no-color",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=cwd)


def _passed(proc: subprocess.CompletedProcess) -> str:
    tail = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    summary = proc.stdout.split("SUMMARY")[-1]
    assert " passed" in summary and "failed" not in summary, tail
    return summary


def _followed_links(report: Path) -> dict[str, collections.Counter]:
    """Per target operation, the statuses of the stateful steps that took their parameter
    from a created object's answer by one of the schema's own (not inferred) links."""
    seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in report.read_text().splitlines():
        event = json.loads(line).get("ScenarioFinished")
        if not event or not event.get("recorder"):
            continue
        rec = event["recorder"]
        for cid, case in (rec.get("cases") or {}).items():
            link = case.get("transition")
            if not link or link.get("is_inferred") or not case.get("is_transition_applied"):
                continue
            answer = (rec.get("interactions", {}).get(cid) or {}).get("response") or {}
            seen[link["id"].rsplit(" -> ", 1)[-1]][answer.get("status_code")] += 1
    return seen


@pytest.mark.slow
@needs_schemathesis
def test_no_generated_request_gets_a_server_error(live_server, tmp_path, photos) -> None:
    srv = live_server(run_entrances=False)
    token = httpx.post(
        f"{srv.url}/api/v1/auth/token",
        data={"username": "admin", "password": ADMIN_PASSWORD},
        timeout=60,
    ).json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    key = httpx.post(
        f"{srv.url}/api/v1/api-keys",
        json={"name": "fuzz", "role": "admin"},
        headers=admin,
        timeout=60,
    ).json()["key"]
    # one resident with a real photo, so the photo operations have something to find
    rid = httpx.post(
        f"{srv.url}/api/v1/residents", json={"name": "Seed"}, headers=admin, timeout=60
    )
    r = httpx.post(
        f"{srv.url}/api/v1/residents/{rid.json()['id']}/photos",
        files={"file": ("hopper.jpg", photos["hopper"], "image/jpeg")},
        headers=admin,
        timeout=60,
    )
    assert r.status_code == 201, r.text

    # the schema is built on its first request: build it now, so schemathesis's 10 s schema
    # timeout does not meet that on a loaded machine
    assert httpx.get(f"{srv.url}/openapi.json", timeout=300).status_code == 200

    budget = fuzz_seconds()
    examples = "100" if budget else "6"
    stateful_s = str(max(1, int(budget / 2))) if budget else "30"

    # every operation alone: examples, coverage (boundary values), fuzzing
    alone = _run(srv.url, key, tmp_path, "--phases", "examples,coverage,fuzzing", "-n", examples)
    summary = _passed(alone)
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    tested = re.search(r"Tested: (\d+)", summary)
    assert selected and tested, summary
    assert tested.group(1) == selected.group(1), f"operations left untested: {summary}"
    assert int(selected.group(2)) - int(selected.group(1)) == 6, "only the 6 excluded are left"

    # chained by the links, for a fixed time, over the operations the links join (with every
    # operation in the walk, each new endpoint made the linked follow-ups rarer in the same time)
    report = tmp_path / "stateful.ndjson"
    chained = _run(
        srv.url,
        key,
        tmp_path,
        "--phases",
        "stateful",
        "--include-path-regex",
        LINKED,
        "-n",
        examples,
        "--max-time",
        stateful_s,
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    )
    _passed(chained)
    followed = _followed_links(report)
    # which follow-ups a time-bound random walk reaches varies with the machine's load (a
    # busy box made ~20 steps in 15 s): ask that created residents' ids were taken and
    # answered, not that each of GET, PATCH and DELETE was drawn
    by_id = [f"{op} /api/v1/residents/{{resident_id}}" for op in ("GET", "PATCH", "DELETE")]
    assert sum(sum(followed[t].values()) for t in by_id) >= 1, followed
    assert any(followed[t][200] or followed[t][204] for t in by_id), followed
    assert all(status < 500 for c in followed.values() for status in c if status), followed


def test_every_create_links_to_what_takes_its_id(api: Api) -> None:
    """The served schema's links: each create's 201 names the follow-ups that take the new
    object's id (what the stateful run above follows), and every link resolves."""
    schema = api.client.get("/openapi.json").json()
    paths = schema["paths"]
    operation_ids = {o["operationId"] for ops in paths.values() for o in ops.values()}
    for source, target, methods, params in LINKS:
        links = paths[source]["post"]["responses"]["201"]["links"]
        for method in methods:
            op = paths[target][method]["operationId"]
            assert links[op]["parameters"] == params, (source, target, method)
    for ops in paths.values():
        for o in ops.values():
            for link in o["responses"].get("201", {}).get("links", {}).values():
                assert link["operationId"] in operation_ids
    resident = paths["/api/v1/residents"]["post"]["responses"]["201"]["links"]
    assert {"get_resident", "update_resident", "delete_resident"} <= {
        k.split("_api_v1")[0] for k in resident
    }
