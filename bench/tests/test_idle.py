"""`facegate bench idle` on a short empty scene: the gate skips the detector, and the report
says what was skipped (the walk-in part needs the shared data and is skipped without it)."""

from __future__ import annotations

from facegate_bench import idle


def test_an_empty_second_is_mostly_not_detected(engine, tmp_path) -> None:
    report = idle.run(engine, tmp_path / "no-data", seconds=1.0, sizes=("720p",))
    row = report["empty"]["720p"]
    assert row["gate_off"]["frames"] == row["gate_on"]["frames"] == 25
    assert row["gate_off"]["detected"] == 25 and row["gate_on"]["detected"] <= 2
    assert row["gate_on"]["cpu_ms_per_frame"] > 0 and "skipped" in report["walk_in"]
    assert "720p: gate off" in idle.to_text(report)
