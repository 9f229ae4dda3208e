"""`facegate bench fleet` at a tiny size: 5 devices, 200 residents, against the real server,
its own Mosquitto and a PostgreSQL database of its own. Checks the report's shape and that
the restarts lost and duplicated nothing; the figures themselves are the benchmark's."""

from __future__ import annotations

import json
import uuid

import pytest

from facegate.cli import main
from facegate_bench.fleet.common import DEFAULT_DB


def _skip_reason() -> str | None:
    import importlib.util

    from facegate_bench.fleet.runner import unavailable

    if importlib.util.find_spec("facegate.server.fleet") is None:
        return "the server's fleet service (facegate.server.fleet) is not in this checkout"
    return unavailable(DEFAULT_DB)


@pytest.fixture
def database_url() -> str:
    why = _skip_reason()
    if why:
        pytest.skip(why)
    base = DEFAULT_DB.rsplit("/", 1)[0]
    return f"{base}/fg_bench_fleet_test_{uuid.uuid4().hex[:8]}"


@pytest.mark.slow  # about a minute: the server starts twice (once more after its kill)
def test_bench_fleet_tiny(database_url, tmp_path, capsys) -> None:
    out = tmp_path / "fleet.json"
    argv = [
        "bench", "fleet", "--json", "--devices", "5", "--residents", "200", "--entrances", "10",
        "--big-residents", "40", "--enrolments", "2", "--staff-enrolments", "1",
        "--new-devices", "1", "--ingest-events", "300", "--storm-rate", "50",
        "--storm-seconds", "12", "--database-url", database_url,
        "--workdir", str(tmp_path / "work"), "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads(out.read_text())
    assert report["dataset"]["residents"] == 200
    assert report["dataset"]["entrances"] == 10
    (run,) = report["runs"]
    assert run["devices"] == 5
    enrol = run["enrolment"]
    assert enrol["one_entrance"]["n"] == 2  # one device per entrance at this size
    # the staff member reached every device: the 5, and the new one at the big entrance
    assert enrol["every_entrance"]["n"] == enrol["every_entrance"]["devices_per_enrolment"] == 6
    assert enrol["one_entrance"]["not_reached"] == enrol["every_entrance"]["not_reached"] == 0
    assert 0 < enrol["all"]["p50_s"] <= enrol["all"]["p95_s"] <= enrol["all"]["max_s"]
    new = run["new_device"]
    assert new["residents"] == [40] and new["max_s"] > 0
    ingest = run["ingest"]
    assert ingest["stored"] == ingest["events"] == 300
    assert ingest["duplicates"] == 0
    assert ingest["server_rss_mb_peak"] > 0
    storm = run["storm"]
    assert storm["events_sent"] > 0
    assert storm["lost"] == 0 and storm["duplicated"] == 0
    assert storm["stored"] == storm["events_sent"]
    assert storm["broker_restart_s"] is not None and storm["server_restart_s"] is not None
    assert set(report["scaling"]) == {"5"}
