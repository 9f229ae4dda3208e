"""The fleet benchmark's report: the machine it ran on, how figures grow with the fleet, and
the text table (the JSON report holds everything; the table is what docs/fleet.md quotes)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


def machine(files: tuple[int, int]) -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem_gb = round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass

    def sysctl(name: str) -> str:
        try:
            return Path("/proc/sys/" + name.replace(".", "/")).read_text().strip()
        except OSError:
            return "?"

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "mosquitto": _first_line(["mosquitto", "-h"]),
        "postgresql": _first_line(["psql", "--version"]),
        "open_files_limit": {"soft": files[0], "hard": files[1]},
        "somaxconn": sysctl("net.core.somaxconn"),
        "file_max": sysctl("fs.file-max"),
        "load_start": [round(x, 2) for x in os.getloadavg()],
    }


def scaling(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each headline figure by fleet size, and its growth from the smallest fleet."""
    rows = {}
    for r in runs:
        rows[r["devices"]] = {
            "enrol_p95_s": r.get("enrolment", {}).get("all", {}).get("p95_s"),
            "fanout_all_p95_s": r.get("enrolment", {}).get("every_entrance", {}).get("p95_s"),
            "removal_all_p95_s": r.get("enrolment", {})
            .get("removal_every_entrance", {})
            .get("p95_s"),
            "server_cpu_ms_per_device_delta": r.get("enrolment", {})
            .get("every_entrance", {})
            .get("server_cpu_ms_per_device"),
            "new_device_s": r.get("new_device", {}).get("max_s"),
            "ingest_per_s": r.get("ingest", {}).get("events_per_s_sustained"),
            "server_rss_mb": r.get("ingest", {}).get("server_rss_mb_peak"),
            "fleet_start_s": _sum(r.get("start", {})),
        }
    if len(rows) > 1:
        small = min(rows)
        for n, row in rows.items():
            if n == small:
                continue
            row["vs_smallest"] = {
                k: round(v / rows[small][k], 2)
                for k, v in row.items()
                if isinstance(v, int | float) and rows[small].get(k)
            }
    return {str(k): v for k, v in rows.items()}


def _sum(start: dict[str, Any]) -> float | None:
    parts = [start.get(k) for k in ("create_and_enrol_s", "mqtt_connect_s", "snapshots_s")]
    return round(sum(p for p in parts if p), 1) if any(parts) else None


def _f(x: Any, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.2f}{unit}" if x < 100 else f"{x:.0f}{unit}"
    return f"{x}{unit}"


def to_text(report: dict[str, Any]) -> str:
    m = report.get("machine", {})
    d = report.get("dataset", {})
    lines = [
        f"machine: {m.get('cpus')} CPUs ({m.get('cpu')}), {m.get('memory_gb')} GB, "
        f"{m.get('mosquitto')}, {m.get('postgresql')}, open files {m.get('open_files_limit')}",
        f"dataset: {d.get('residents')} residents, {d.get('entrances')} entrances, "
        f"{d.get('templates')} templates, built in {d.get('seconds', {}).get('total')} s "
        f"({d.get('how')})",
        f"server: started in {report.get('server_start_s')} s, "
        f"RSS idle {report.get('server_rss_mb_idle')} MB",
        "",
        f"{'devices':>8} {'enrol p50/p95/max (1 entrance)':>31} {'to all p95':>11} "
        f"{'removal all p95':>16} {'new dev 500':>12} {'ingest ev/s':>12} {'RSS MB':>7} "
        f"{'storm lost/dup':>15} {'load 1m':>8}",
    ]
    for r in report.get("runs", []):
        if "error" in r:
            lines.append(f"{r['devices']:>8} failed: {r['error']}")
            continue
        e = r.get("enrolment", {})
        one, every = e.get("one_entrance", {}), e.get("every_entrance", {})
        gone = e.get("removal_every_entrance", {})
        nd, ing, st = r.get("new_device", {}), r.get("ingest", {}), r.get("storm", {})
        lines.append(
            f"{r['devices']:>8} "
            f"{_f(one.get('p50_s')) + '/' + _f(one.get('p95_s')) + '/' + _f(one.get('max_s')):>31} "
            f"{_f(every.get('p95_s'), ' s'):>11} {_f(gone.get('p95_s'), ' s'):>16} "
            f"{_f(nd.get('max_s'), ' s'):>12} "
            f"{_f(ing.get('events_per_s_sustained')):>12} {_f(ing.get('server_rss_mb_peak')):>7} "
            f"{_f(st.get('lost')) + '/' + _f(st.get('duplicated')):>15} "
            f"{_f((ing.get('load') or [None])[0]):>8}"
        )
    lines += ["", "targets (value / target; <= 1 meets for times, >= 1 for rates):"]
    for r in (r for r in report.get("runs", []) if "error" not in r):
        en = r.get("enrolment", {})
        e, one, every = en.get("all", {}), en.get("one_entrance", {}), en.get("every_entrance", {})
        nd, ing, st = r.get("new_device", {}), r.get("ingest", {}), r.get("storm", {})
        lines.append(
            f"  {r['devices']} devices: enrolment p95 {_f(e.get('p95_s'), ' s')} / 2 s = "
            f"{_f(e.get('ratio'))} ({_ok(e.get('meets'))}; one entrance "
            f"{_f(one.get('p95_s'), ' s')}, every entrance {_f(every.get('p95_s'), ' s')}); "
            f"new device {_f(nd.get('max_s'), ' s')}"
            f" / 5 s = {_f(nd.get('ratio'))} ({_ok(nd.get('meets'))}); ingest "
            f"{_f(ing.get('events_per_s_sustained'))}/s / 2000 = {_f(ing.get('ratio'))} "
            f"({_ok(ing.get('meets'))}); storm lost {_f(st.get('lost'))}, duplicated "
            f"{_f(st.get('duplicated'))} ({_ok(st.get('meets'))})"
        )
    return "\n".join(lines)


def _ok(flag: Any) -> str:
    return "meets" if flag else "MISSES" if flag is not None else "-"
