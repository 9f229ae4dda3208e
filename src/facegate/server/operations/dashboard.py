"""What the dashboard shows, in words: per entrance its state (watching, camera lost since
10:42, door error, no camera set, starting, stopped...), today's opens, denials and unknown
visitors (days in the site's zone), and its last visitor (from the journal or from the
edge device that runs it, whichever is newer); the entrances that need someone
first, as alerts. The page renders it once and then polls it as JSON, so the same function
answers both.

The camera's state is read from what the runtime journals and from its newest frame:
"camera lost" needs a `source_lost` event newer than the last `source_restored` *and* no
frame for a few seconds, so an outage journalled before a restart does not linger on a
camera that works again. A door adapter is in error when its last `door_error` is newer
than the last open.

`frame_jpeg` encodes the entrance runtime's newest frame only when asked (the runtime
keeps a reference, never an encoded copy).
"""

from __future__ import annotations

import time as _time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import cv2
from sqlalchemy.orm import Session

from facegate.runtime.events import Decision
from facegate.server.errors import NotFound
from facegate.server.operations import device_events
from facegate.server.operations import entrances as entrance_ops
from facegate.server.operations import residents as resident_ops
from facegate.server.operations.event_text import ENGLISH, N_, Gettext, describe_event
from facegate.server.operations.events import event_out
from facegate.server.schemas import EntranceOut
from facegate.server.state import ServerState
from facegate.server.text import strip_bidi

STALE_FRAME_S = 5.0  # no frame for this long: the picture is not live
FRAME_MAX_WIDTH = 640  # the card shows it small; a 1080p JPEG every 2 s is wasted bandwidth
VISITS = (Decision.OPEN, Decision.DENY, Decision.UNKNOWN)
# an entrance runtime's state (`EntranceStatus.state`) for people; the reader's `_`
# translates them (the entrances page uses them too)
STATE_WORDS = {
    "running": N_("Watching"),
    "starting": N_("Starting"),
    "reconnecting": N_("Camera lost"),
    "source_lost": N_("Camera lost"),
    "no_source": N_("No camera set"),
    "disabled": N_("Switched off"),
    "stopped": N_("Stopped"),
    "ended": N_("Video ended"),
    "error": N_("Not working"),
}


@dataclass
class Card:
    id: int
    name: str
    state: str  # the runtime's token (running, no_source, error, ...), for scripts
    words: str  # the state for people, in the reader's language
    level: str  # ok, warn, bad or off: the card's colour and whether it is an alert
    detail: str = ""
    opens: int = 0
    denials: int = 0
    unknowns: int = 0
    last: dict[str, Any] | None = None  # the last visitor: time, sentence, snapshot, device
    live: bool = False  # a frame from the camera in the last few seconds
    frame_url: str = ""


@dataclass
class Dashboard:
    cards: list[Card]
    alerts: list[str] = field(default_factory=list)
    residents: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hm(epoch: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(zone).strftime("%H:%M")


def _latest(state: ServerState, name: str, decision: Decision) -> dict[str, Any] | None:
    rows = state.journal.query(entrance=name, decision=decision, limit=1)
    return rows[0] if rows else None


def _newer(a: dict | None, b: dict | None) -> bool:
    """`a` exists and is later than `b` (or `b` does not exist)."""
    return a is not None and (b is None or (a["time"], a["id"]) > (b["time"], b["id"]))


def _state_words(
    state: ServerState, e: EntranceOut, zone: ZoneInfo, _: Gettext, now: float
) -> tuple[str, str, str, bool]:
    """(words, level, detail, live) of one entrance."""
    st = e.status
    frame = state.entrances.latest_frame(e.id)
    live = st.state == "running" and frame is not None and now - frame[1] < STALE_FRAME_S
    door_error = max(  # an open whose door failed says so itself since issue 15
        (
            r
            for d in (Decision.DOOR_ERROR, Decision.OPEN_FAILED)
            if (r := _latest(state, e.name, d))
        ),
        key=lambda r: (r["time"], r["id"]),
        default=None,
    )
    if _newer(door_error, _latest(state, e.name, Decision.OPEN)):
        assert door_error is not None
        return (
            _("Door error since {time}", time=_hm(door_error["time"], zone)),
            "bad",
            strip_bidi(door_error["reason"]),
            live,
        )
    if st.state in ("reconnecting", "source_lost"):  # the runtime's own word (issue 15)
        since = st.since.timestamp() if st.since else _time.time()
        return (
            _("Camera lost since {time}", time=_hm(since, zone)),
            "bad",
            strip_bidi(st.detail or ""),
            live,
        )
    if st.state == "running":
        lost = _latest(state, e.name, Decision.SOURCE_LOST)
        if not live and _newer(lost, _latest(state, e.name, Decision.SOURCE_RESTORED)):
            assert lost is not None
            return (
                _("Camera lost since {time}", time=_hm(lost["time"], zone)),
                "bad",
                strip_bidi(lost["reason"]),
                live,
            )
        return _(STATE_WORDS["running"]), "ok", "", live
    level = {"starting": "warn", "error": "bad"}.get(st.state, "off")
    # the fixed details (no camera set, runtimes off) are in the catalogue; others stay as said
    detail = _(st.detail) if st.detail else ""
    return _(STATE_WORDS.get(st.state, st.state)), level, strip_bidi(detail), live


def _last_visit(
    state: ServerState, name: str, zone: ZoneInfo, _: Gettext, from_device: dict | None
) -> dict | None:
    """The entrance's newest visit, in the journal or (`from_device`) sent up by the edge
    device that runs it, ordered as the event log merges them: (time, source, id)."""
    rows = [r for d in VISITS if (r := _latest(state, name, d)) is not None]
    if from_device is not None:
        rows.append(from_device)
    if not rows:
        return None
    row = max(rows, key=lambda r: (r["time"], r.get("source", 0), r["id"]))
    e = event_out(row)
    return {
        "time": _hm(row["time"], zone),
        "day": datetime.fromtimestamp(row["time"], UTC).astimezone(zone).date().isoformat(),
        "text": describe_event(e, _),
        "decision": e.decision,
        "snapshot_url": e.snapshot_url,
        "device": e.device,
    }


def dashboard(
    session: Session,
    state: ServerState,
    zone: ZoneInfo,
    _: Gettext = ENGLISH,
    now: float | None = None,
) -> Dashboard:
    """Every entrance's card, and the alerts (entrances in error first)."""
    now = _time.time() if now is None else now
    midnight = datetime.combine(datetime.fromtimestamp(now, zone).date(), time(), zone)
    ents = entrance_ops.list_entrances(session, state)
    count = resident_ops.count_residents(session)
    session.rollback()  # the journal is read with no database transaction open
    today = state.journal.count_by(midnight.timestamp())
    for key, n in device_events.count_by(state.db, midnight.timestamp()).items():
        today[key] = today.get(key, 0) + n  # doors run by edge devices count the same
    device_last = device_events.last_of(state.db, [e.name for e in ents], [d.value for d in VISITS])
    cards: list[Card] = []
    alerts: list[str] = []
    for e in ents:
        words, level, detail, live = _state_words(state, e, zone, _, now)
        cards.append(
            Card(
                id=e.id,
                name=e.name,
                state=e.status.state,
                words=words,
                level=level,
                detail=detail,
                opens=today.get((e.name, Decision.OPEN.value), 0),
                denials=today.get((e.name, Decision.DENY.value), 0),
                unknowns=today.get((e.name, Decision.UNKNOWN.value), 0),
                last=_last_visit(state, e.name, zone, _, device_last.get(e.name)),
                live=live,
                frame_url=f"/api/v1/entrances/{e.id}/frame.jpg",
            )
        )
        if level == "bad":
            alerts.append(f"{e.name}: {words}" + (f" ({detail})" if detail else ""))
    return Dashboard(cards=cards, alerts=alerts, residents=count)


def frame_jpeg(state: ServerState, entrance_id: int, quality: int = 80) -> bytes:
    """The entrance's newest camera frame as a JPEG at most `FRAME_MAX_WIDTH` wide;
    `NotFound` when its runtime is not running or has no recent frame."""
    got = state.entrances.latest_frame(entrance_id)
    if got is None or state.entrances.status(entrance_id).state != "running":
        raise NotFound(f"entrance {entrance_id} has no picture: its camera is not running")
    image, at = got
    if _time.time() - at > STALE_FRAME_S:
        raise NotFound(f"entrance {entrance_id} has no picture: no frame for {STALE_FRAME_S:g} s")
    h, w = image.shape[:2]
    if w > FRAME_MAX_WIDTH:
        image = cv2.resize(
            image, (FRAME_MAX_WIDTH, round(h * FRAME_MAX_WIDTH / w)), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise NotFound(f"entrance {entrance_id}: the frame could not be encoded")
    return buf.tobytes()
