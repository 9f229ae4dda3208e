"""The outbox: an event stays until acked, survives kill -9, an open waits briefly for its
door outcome, and the budgets drop the oldest first, counted, never silently."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

from facegate.fleet.config import EdgeBudget
from facegate.fleet.edge.outbox import Outbox
from facegate.fleet.protocol import EventRecord


def record(decision: str = "unknown", **kw) -> EventRecord:
    return EventRecord(
        id=uuid.uuid4().hex, entrance="main", time=time.time(), decision=decision, **kw
    )


def test_an_event_stays_until_acked_and_its_shot_until_uploaded(tmp_path, vault) -> None:
    with Outbox(tmp_path / "o.sqlite", vault=vault) as box:
        a, b = record(), record("open", person="Ann")
        box.add(a)
        box.add(b, shot=b"\xff\xd8jpeg-bytes")
        due = box.due(10)
        assert [r.id for r in due] == [a.id, b.id]
        assert due[1].snapshot is True and due[0].snapshot is False
        box.mark_sent([a.id, b.id])
        assert box.due(10) == []  # in flight
        assert box.pending() == 2
        assert box.ack([a.id, b.id, "f" * 32]) >= 2
        assert box.pending() == 0 and box.waiting_shots() == 1
        (shot,) = box.shots_due()
        assert shot.id == b.id and shot.jpeg == b"\xff\xd8jpeg-bytes"
        assert b"jpeg-bytes" not in (tmp_path / "o.sqlite").read_bytes()  # sealed
        box.shot_failed(b.id, 1, backoff_s=60)
        assert box.shots_due() == []
        box.shot_done(b.id)
        assert box.waiting_shots() == 0


def test_unacked_events_are_sent_again(tmp_path) -> None:
    clock = [1000.0]
    with Outbox(tmp_path / "o.sqlite", clock=lambda: clock[0]) as box:
        a = record()
        box.add(a)
        box.mark_sent([a.id])
        assert box.due(10, resend_after_s=30) == []
        clock[0] += 31
        assert [r.id for r in box.due(10, resend_after_s=30)] == [a.id]
        box.mark_sent([a.id])
        box.resend_all()  # a reconnect
        assert [r.id for r in box.due(10)] == [a.id]


def test_an_open_waits_for_its_door_outcome(tmp_path) -> None:
    clock = [1000.0]
    with Outbox(tmp_path / "o.sqlite", clock=lambda: clock[0]) as box:
        op = record("open", person="Ann")
        box.add(op, hold_s=20)
        assert box.due(10) == []
        failed = op.model_copy(update={"decision": "open_failed", "door": {"actuated": False}})
        box.settle(failed)
        (sent,) = box.due(10)
        assert sent.decision == "open_failed" and sent.door == {"actuated": False}
        # an open whose outcome never comes still goes up once the hold has passed
        other = record("open")
        box.add(other, hold_s=20)
        clock[0] += 21
        assert other.id in [r.id for r in box.due(10)]


def test_the_age_budget_drops_old_events_counted(tmp_path, caplog) -> None:
    clock = [1000.0]
    budget = EdgeBudget(outbox_max_age_s=60)
    with Outbox(tmp_path / "o.sqlite", budget, clock=lambda: clock[0]) as box:
        old = record()
        box.add(old)
        clock[0] += 61
        new = record()
        box.add(new)
        assert [r.id for r in box.due(10)] == [new.id]
        assert box.dropped() == {"dropped_events": 1, "dropped_shots": 0}
    assert old.id in caplog.text and "dropped unsent" in caplog.text


def test_the_disk_budget_drops_shots_first_then_the_oldest_events(tmp_path) -> None:
    budget = EdgeBudget(outbox_max_mb=0.05)  # ~52 kB
    with Outbox(tmp_path / "o.sqlite", budget) as box:
        ids = []
        for _ in range(4):
            r = record()
            ids.append(r.id)
            box.add(r, shot=os.urandom(20_000))
        d = box.dropped()
        assert d["dropped_shots"] >= 1 and d["dropped_events"] == 0
        assert box.size_bytes() <= 0.05 * 1024 * 1024
        assert [r.id for r in box.due(10)] == ids  # every event still there
        for _ in range(400):
            box.add(record(reason="x" * 200))
        assert box.size_bytes() <= 0.05 * 1024 * 1024
        d = box.dropped()
        assert d["dropped_shots"] == 4 and d["dropped_events"] > 0
        remaining = [r.id for r in box.due(1000)]
        assert ids[0] not in remaining  # the oldest went first
        assert len(remaining) + d["dropped_events"] == 404


WRITER = textwrap.dedent(
    """
    import sys, time, uuid
    from facegate.fleet.edge.outbox import Outbox
    from facegate.fleet.protocol import EventRecord
    box = Outbox(sys.argv[1])
    while True:
        r = EventRecord(id=uuid.uuid4().hex, entrance="main", time=time.time(), decision="deny")
        box.add(r, shot=b"x" * 5000)
        print(r.id, flush=True)  # after the commit: this event must survive
    """
)


def test_events_survive_kill_9_mid_stream(tmp_path) -> None:
    path = tmp_path / "o.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(50)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with Outbox(path) as box:
        kept = {r.id for r in box.due(10_000)}
    assert len(acknowledged) == 50 and set(acknowledged) <= kept
