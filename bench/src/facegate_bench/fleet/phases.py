"""The fleet benchmark's measurements, one fleet size at a time (see `facegate_bench.fleet`).

Every phase talks to the real server the way an operator or a device does (REST API, MQTT),
and reads PostgreSQL only to learn what happened there: when a change was committed
(`fleet_changes.created_at`, written in the change's own transaction, so the latency
measured from it includes the commit) and which events were stored (`device_events`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from facegate_bench.fleet.common import (
    Admin,
    gather_limited,
    load,
    pct,
    rounded,
    spread,
    wait_until,
)
from facegate_bench.fleet.dataset import City
from facegate_bench.fleet.devices import Fleet, SimDevice
from facegate_bench.fleet.mqtt import Hub
from facegate_bench.fleet.services import Broker, Server, cpu_seconds, postgres_cpu_seconds

log = logging.getLogger(__name__)

TARGET_ENROL_P95_S = 2.0
TARGET_NEW_DEVICE_S = 5.0
TARGET_INGEST_PER_S = 2000.0


@dataclass
class Knobs:
    enrolments: int = 20  # residents enrolled at one entrance each
    staff_enrolments: int = 3  # staff granted at every entrance (fan-out to all devices)
    new_devices: int = 3  # devices enrolled at the 500-resident entrance
    ingest_events: int = 50_000
    storm_rate: float = 500.0  # events/s during the restarts
    storm_s: float = 40.0
    settle_timeout_s: float = 180.0


class SizeRun:
    """One fleet size: start the devices, then each measurement in turn."""

    def __init__(
        self,
        n: int,
        city: City,
        broker: Broker,
        server: Server,
        admin_password: str,
        root: Path,
        knobs: Knobs,
        photo: bytes,
        say: Callable[[str], None],
    ) -> None:
        self.n, self.city, self.broker, self.server = n, city, broker, server
        self.root, self.knobs, self.photo, self.say = root, knobs, photo, say
        self.admin = Admin(server, admin_password)
        self.rng = random.Random(n)
        self.entrance_of: dict[int, int] = {}  # device id -> entrance id
        self.names = {e: f"bench-{i:05d}" for i, e in enumerate(city.entrance_ids)}
        self.names[city.big_entrance] = "bench-big"
        self.fleet: Fleet | None = None
        self.db: psycopg.AsyncConnection | None = None

    async def run(self) -> dict[str, Any]:
        self.hub = Hub("127.0.0.1", self.broker.port)
        self.fleet = Fleet(self.server.url, self.hub, self.root)
        self.db = await psycopg.AsyncConnection.connect(self.city.url, autocommit=True)
        await self.admin.login()
        out: dict[str, Any] = {"devices": self.n, "load_start": load()}
        try:
            out["start"] = await self.start_fleet()
            self.say(f"[{self.n}] fleet up: {out['start']}")
            out["new_device"] = await self.new_devices()  # first: its entrance holds 500
            self.say(f"[{self.n}] new device: {out['new_device']}")
            out["enrolment"] = await self.enrolments()
            self.say(f"[{self.n}] enrolment: {out['enrolment']}")
            out["ingest"] = await self.ingest()
            self.say(f"[{self.n}] ingest: {out['ingest']}")
            out["storm"] = await self.storm()
            self.say(f"[{self.n}] storm: {out['storm']}")
        finally:
            out["load_end"] = load()
            try:  # revoked, they no longer cost the server's fan-out in the next size
                await asyncio.wait_for(self.revoke_all(), 120)
            except (TimeoutError, asyncio.CancelledError):
                self.say(f"[{self.n}] devices left unrevoked")
            await self.hub.close()
            await self.fleet.close()
            await self.admin.close()
            await self.db.close()
        return out

    # -- the fleet -------------------------------------------------------------------------

    async def make_device(self, name: str, entrance: int) -> tuple[SimDevice, dict[str, float]]:
        """Create on the server (admin), then enrol, connect and snapshot (the device)."""
        made = await self.admin.call(
            "POST", "/api/v1/devices", json={"name": name, "entrances": [entrance]}
        )
        t0 = time.perf_counter()
        creds = await self.fleet.enrol(made["token"])
        t1 = time.perf_counter()
        dev = self.fleet.add(creds)
        self.entrance_of[dev.id] = entrance
        self.fleet.entrance_of[dev.id] = self.names[entrance]
        return dev, {"enrol_s": t1 - t0, "t0": t0}

    async def start_fleet(self) -> dict[str, Any]:
        ents = self.city.entrance_ids
        t0 = time.perf_counter()
        made = await gather_limited(
            8,
            [
                self.make_device(f"bench-{self.n}-{i:05d}", ents[i % len(ents)])
                for i in range(self.n)
            ],
        )
        devs = [d for d, _ in made]
        t_enrol = time.perf_counter() - t0
        t_conn = await self.hub.connect_all([d.conn for d in devs], timeout_s=300)
        t1 = time.perf_counter()
        await asyncio.gather(*(self.fleet.snapshot(d) for d in devs))
        t_snap = time.perf_counter() - t1
        residents = [len(d.store.residents()) for d in devs[:50]]
        return {
            "create_and_enrol_s": rounded(t_enrol, 1),
            "mqtt_connect_s": rounded(t_conn, 1),
            "snapshots_s": rounded(t_snap, 1),
            "residents_per_device": round(statistics.mean(residents), 1),
        }

    async def revoke_all(self) -> None:
        ids = [d.id for d in self.fleet.devices]
        try:
            await gather_limited(
                8, [self.admin.call("DELETE", f"/api/v1/devices/{i}") for i in ids]
            )
        except Exception as exc:
            self.say(f"[{self.n}] revoking devices failed: {exc}")

    # -- (a) enrolment reaches every device that needs it -----------------------------------

    async def committed_at(self, kind: str, subject: int) -> tuple[int, float]:
        """The newest change of `kind`/`subject`: its number and when it was written (in
        the change's own transaction, just before the commit)."""
        cur = await self.db.execute(
            "SELECT seq, extract(epoch FROM created_at) FROM fleet_changes "
            "WHERE kind = %s AND subject_id = %s ORDER BY seq DESC LIMIT 1",
            (kind, subject),
        )
        row = await cur.fetchone()
        return int(row[0]), float(row[1])

    async def publish_delay(self, seq: int) -> float | None:
        """From a change's commit to the server marking it published (deltas sent)."""
        cur = await self.db.execute(
            "SELECT extract(epoch FROM published_at - created_at) FROM fleet_changes "
            "WHERE seq = %s",
            (seq,),
        )
        row = await cur.fetchone()
        return None if row is None or row[0] is None else float(row[0])

    async def new_resident(self, name: str) -> int:
        r = await self.admin.call("POST", "/api/v1/residents", json={"name": name})
        return int(r["id"])

    async def photo_for(self, rid: int) -> None:
        await self.admin.call(
            "POST",
            f"/api/v1/residents/{rid}/photos",
            files={"file": ("face.jpg", self.photo, "image/jpeg")},
            data={"confirm_other_resident": "true"},
        )

    async def set_rule(self, rule_id: int, residents: list[int], entrances: list[int] | None):
        name = "bench staff" if entrances is None else f"bench entrance {entrances[0]}"
        await self.admin.call(
            "PUT",
            f"/api/v1/rules/{rule_id}",
            json={
                "name": name,
                "resident_ids": residents,
                "entrance_ids": entrances,
            },
        )

    async def _reach(
        self, rid: int, devs: list[SimDevice], since: float, timeout_s: float, removal=False
    ):
        def at(d: SimDevice) -> dict[int, float]:
            return d.removed if removal else d.applied

        ok = await wait_until(lambda: all(rid in at(d) for d in devs), timeout_s)
        lat = [at(d)[rid] - since for d in devs if rid in at(d)]
        return lat, (0 if ok else sum(rid not in at(d) for d in devs))

    async def removals(self, rids: list[int]) -> dict[str, Any]:
        """Delete the staff enrolled in this size (their entrance holds 500 again) and time
        each removal to every device: a revocation, applied before anything else."""
        lat: list[float] = []
        missed = 0
        for rid in rids:
            await self.admin.call("DELETE", f"/api/v1/residents/{rid}")
            self.city.staff_ids.remove(rid)
            _, since = await self.committed_at("resident", rid)
            got, miss = await self._reach(rid, self.fleet.devices, since, 180, removal=True)
            lat += got
            missed += miss
        return spread(lat) | {"not_reached": missed, "devices": len(self.fleet.devices)}

    async def enrolments(self) -> dict[str, Any]:
        warm = await self.new_resident(f"bench warm-up {self.n}")
        await self.photo_for(warm)  # the server's engine loads once, before the timing
        by_entrance: dict[int, list[SimDevice]] = {}
        for d in self.fleet.devices:
            by_entrance.setdefault(self.entrance_of[d.id], []).append(d)
        lat_one: list[float] = []
        pub_one: list[float | None] = []
        pub_all: list[float | None] = []
        self.fleet.apply_s.clear()
        missed = 0
        for k in range(self.knobs.enrolments):
            e = self.rng.choice(sorted(by_entrance))
            rid = await self.new_resident(f"bench new {self.n}-{k}")
            self.city.residents_of[e].append(rid)
            await self.set_rule(self.city.rule_of[e], self.city.residents_of[e], [e])
            self.fleet.watch.add(rid)
            await self.photo_for(rid)
            seq, since = await self.committed_at("resident", rid)
            lat, miss = await self._reach(rid, by_entrance[e], since, 30)
            pub_one.append(await self.publish_delay(seq))
            lat_one += lat
            missed += miss
        lat_all: list[float] = []
        missed_all = 0
        staff_added: list[int] = []
        fanout_cpu = 0.0  # the server's CPU from the rule change to every device reached
        for k in range(self.knobs.staff_enrolments):
            rid = await self.new_resident(f"bench staff {self.n}-{k}")
            await self.photo_for(rid)
            self.city.staff_ids.append(rid)
            staff_added.append(rid)
            self.fleet.watch.add(rid)
            await asyncio.sleep(1.0)  # the photo's own change is published (to no device)
            cpu0 = cpu_seconds(self.server.proc.pid)
            await self.set_rule(self.city.staff_rule, self.city.staff_ids, None)
            seq, since = await self.committed_at("rules", self.city.staff_rule)
            lat, miss = await self._reach(rid, self.fleet.devices, since, 180)
            pub_all.append(await self.publish_delay(seq))
            fanout_cpu += cpu_seconds(self.server.proc.pid) - cpu0
            lat_all += lat
            missed_all += miss
        deltas = len(self.fleet.devices) * max(1, self.knobs.staff_enrolments)
        one = spread(lat_one) | {"not_reached": missed, "devices_per_enrolment": "1 entrance"}
        every = spread(lat_all) | {
            "not_reached": missed_all,
            "devices_per_enrolment": len(self.fleet.devices),
            "server_cpu_ms_per_device": rounded(1000 * fanout_cpu / deltas, 1),
        }
        both = lat_one + lat_all
        p95 = pct(both, 95)
        return {
            "one_entrance": one,
            "every_entrance": every,
            "all": spread(both)
            | {
                "target_p95_s": TARGET_ENROL_P95_S,
                "ratio": rounded(p95 / TARGET_ENROL_P95_S if p95 is not None else None),
                "meets": p95 is not None and p95 <= TARGET_ENROL_P95_S and not missed + missed_all,
            },
            "removal_every_entrance": await self.removals(staff_added),
            "gaps_seen": sum(d.gaps for d in self.fleet.devices),
            "server_commit_to_published_s": {
                "one_entrance": spread([x for x in pub_one if x is not None]),
                "every_entrance": spread([x for x in pub_all if x is not None]),
            },
            "device_apply_ms": {
                "p50": rounded(1000 * (pct(self.fleet.apply_s, 50) or 0), 2),
                "p95": rounded(1000 * (pct(self.fleet.apply_s, 95) or 0), 2),
                "note": "one delta verified and committed to a device's store; the simulated "
                "devices share one process, so a fan-out to N devices queues N of these",
            },
        }

    # -- (b) a new device with 500 residents -------------------------------------------------

    async def new_devices(self) -> dict[str, Any]:
        times, residents = [], []
        for j in range(self.knobs.new_devices):
            dev, t = await self.make_device(f"bench-{self.n}-big-{j}", self.city.big_entrance)
            await self.hub.connect_all([dev.conn], timeout_s=60)
            await self.fleet.snapshot(dev)
            times.append(time.perf_counter() - t["t0"])
            residents.append(len(dev.store.residents()))
        worst = max(times)
        return {
            "seconds": [rounded(x, 2) for x in times],
            "residents": residents,
            "max_s": rounded(worst, 2),
            "target_s": TARGET_NEW_DEVICE_S,
            "ratio": rounded(worst / TARGET_NEW_DEVICE_S),
            "meets": worst <= TARGET_NEW_DEVICE_S,
        }

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of the server, the broker, PostgreSQL and this process (the
        simulated devices): who the ingest's time goes to, on a box of 2 cores."""
        return {
            "server": cpu_seconds(self.server.proc.pid),
            "broker": cpu_seconds(self.broker.proc.pid),
            "postgres": postgres_cpu_seconds(),
            "devices": time.process_time(),
        }

    # -- (c) ingest -------------------------------------------------------------------------

    async def stored(self, tag: str) -> tuple[int, int]:
        cur = await self.db.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM device_events WHERE reason = %s",
            (tag,),
        )
        n, distinct = await cur.fetchone()
        return int(n), int(distinct)

    async def newest_row(self) -> int:
        cur = await self.db.execute("SELECT coalesce(max(id), 0) FROM device_events")
        return int((await cur.fetchone())[0])

    async def ingest(self) -> dict[str, Any]:
        tag = f"bench-ingest-{self.n}-{time.time():.0f}"
        devs = self.fleet.devices
        per, extra = divmod(self.knobs.ingest_events, len(devs))
        self.fleet.paused = True
        for i, d in enumerate(devs):
            d.queue_events(per + (i < extra), tag)
            if i % 50 == 49:
                await asyncio.sleep(0)
        base = await self.newest_row()
        cpu0 = self.cpu()
        samples: list[tuple[float, int]] = []
        rss: list[float] = []
        t0 = time.perf_counter()
        self.fleet.paused = False
        deadline = t0 + self.knobs.settle_timeout_s + self.knobs.ingest_events / 500
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.5)
            samples.append((time.perf_counter() - t0, await self.newest_row() - base))
            rss.append(self.server.rss_mb() or 0.0)
            if self.fleet.unacked() == 0:
                break
        wall = time.perf_counter() - t0
        cpu = {k: v - cpu0[k] for k, v in self.cpu().items()}
        n, distinct = await self.stored(tag)
        total = self.knobs.ingest_events
        # the server commits in large batches, so the count moves in steps: the rate is
        # from the release of the first event to the moment the database holds them all
        done = next((t for t, c in samples if c >= total), wall)
        rate = n / done if done > 0 else None
        serving = sum(cpu[k] for k in ("server", "broker", "postgres"))
        return {
            "events": total,
            "stored": n,
            "duplicates": n - distinct,
            "seconds_to_store_all": rounded(done, 1),
            "seconds_to_last_ack": rounded(wall, 1),
            "events_per_s_sustained": rounded(rate, 0),
            "stored_over_time": [
                (rounded(t, 1), c) for t, c in samples[:: max(1, len(samples) // 30)]
            ],
            "events_per_cpu_s": rounded(n / serving, 0) if serving else None,
            "target_per_s": TARGET_INGEST_PER_S,
            "ratio": rounded(rate / TARGET_INGEST_PER_S if rate else None),
            "meets": bool(rate and rate >= TARGET_INGEST_PER_S),
            "server_rss_mb_peak": max(rss) if rss else None,
            "cpu_s_per_1000_events": {k: rounded(1000 * v / max(n, 1)) for k, v in cpu.items()},
            "cpu_share_of_wall": {k: rounded(v / wall, 2) for k, v in cpu.items()},
            "load": load(),
        }

    # -- (d) restarts in an event storm ------------------------------------------------------

    async def storm(self) -> dict[str, Any]:
        tag = f"bench-storm-{self.n}-{time.time():.0f}"
        devs = self.fleet.devices
        sent: list[str] = []
        published0 = self.fleet.published_events()
        loop = asyncio.get_running_loop()
        marks: dict[str, float] = {}

        async def produce() -> None:
            t0 = time.perf_counter()
            step, i = 0.1, 0
            owed = 0.0
            while time.perf_counter() - t0 < self.knobs.storm_s:
                owed += self.knobs.storm_rate * step
                while owed >= 1:
                    sent.extend(devs[i % len(devs)].queue_events(1, tag))
                    i += 1
                    owed -= 1
                await asyncio.sleep(step)

        async def restarts() -> None:
            await asyncio.sleep(self.knobs.storm_s * 0.25)
            marks["broker_restart_s"] = await loop.run_in_executor(None, self.broker.restart)
            await asyncio.sleep(self.knobs.storm_s * 0.25)
            marks["server_restart_s"] = await loop.run_in_executor(None, self.server.restart)

        t0 = time.perf_counter()
        await asyncio.gather(produce(), restarts())
        ok = await wait_until(lambda: self.fleet.unacked() == 0, self.knobs.settle_timeout_s, 0.5)
        drained = time.perf_counter() - t0
        await asyncio.sleep(1.0)
        cur = await self.db.execute(
            "SELECT event_id, count(*) FROM device_events WHERE reason = %s GROUP BY event_id",
            (tag,),
        )
        rows = await cur.fetchall()
        stored = {r[0] for r in rows}
        lost = len(set(sent) - stored)
        dups = sum(r[1] - 1 for r in rows)
        return {
            "events_sent": len(sent),
            "stored": len(stored),
            "lost": lost,
            "duplicated": dups,
            "meets": lost == 0 and dups == 0,
            "resent_by_devices": self.fleet.published_events() - published0 - len(sent),
            "unacked_at_end": self.fleet.unacked(),
            "all_acked": ok,
            "seconds_to_drain": rounded(drained, 1),
            "rate_per_s": self.knobs.storm_rate,
            "rate_achieved_per_s": rounded(len(sent) / self.knobs.storm_s, 0),
            "broker_restart_s": rounded(marks.get("broker_restart_s"), 2),
            "server_restart_s": rounded(marks.get("server_restart_s"), 2),
            "server_kill": "SIGKILL (a crash); broker: SIGTERM (a service restart)",
            "load": load(),
        }
