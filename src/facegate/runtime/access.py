"""Who may open which entrance when, decided on the intercom itself.

The rules live in the local config and are evaluated here, so the door keeps deciding
correctly with no server reachable. With no rules at all every enrolled resident may open
(`default_allow`); once any rule exists, only a rule grants access.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from facegate.schema import StrictModel as _Strict

log = logging.getLogger(__name__)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)  # fmt: skip
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_index(v: str | int) -> int:
    if isinstance(v, bool):
        raise ValueError(f"not a weekday: {v!r}")
    if isinstance(v, int):
        if not 0 <= v <= 6:
            raise ValueError(f"weekday numbers are 0 (mon) .. 6 (sun), got {v}")
        return v
    name = v.strip().lower()
    if name.isdigit():
        return _day_index(int(name))
    if name in DAY_NAMES:
        return DAY_NAMES.index(name)
    if name in _FULL_DAY_NAMES:
        return _FULL_DAY_NAMES.index(name)
    raise ValueError(f"not a weekday: {v!r}; use {', '.join(DAY_NAMES)} or 0..6")


def _parse_days(items: list[str | int]) -> list[int]:
    """Names, 0..6 (Monday = 0, as `datetime.weekday`), or ranges like "mon-fri" / "sat-mon"."""
    days: set[int] = set()
    for item in items:
        if isinstance(item, str) and "-" in item:
            first, _, last = item.partition("-")
            a, b = _day_index(first), _day_index(last)
            days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
        else:
            days.add(_day_index(item))
    return sorted(days)


def _minutes(v: str, *, allow_24: bool) -> int:
    m = _HHMM.match(v.strip())
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        if (h < 24 and mi < 60) or (allow_24 and h == 24 and mi == 0):
            return h * 60 + mi
    raise ValueError(f"not a time of day: {v!r}; use HH:MM (00:00-23:59, 24:00 as an end)")


def _format_days(days: list[int]) -> str:
    """[0,1,2,3,4] -> "mon-fri"; all seven -> "daily"."""
    if len(days) == 7:
        return "daily"
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 6:  # sat-mon wraps the week
        runs[0] = runs.pop() + runs[0]
    parts = []
    for r in runs:
        if len(r) >= 3:
            parts.append(f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in r)
    return ",".join(parts)


class TimeWindow(_Strict):
    """Weekly hours. A window whose end is not after its start crosses midnight and belongs to
    the day it starts on: fri 22:00-06:00 also admits Saturday 03:00, not Friday 03:00."""

    days: list[str | int] = Field(default_factory=lambda: list(DAY_NAMES))
    start: str = "00:00"
    end: str = "24:00"

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str | int]) -> list[str | int]:
        if not v:
            raise ValueError("days must not be empty; omit it for every day")
        _parse_days(v)
        return v

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        _minutes(v, allow_24=False)
        return v

    @field_validator("end")
    @classmethod
    def _end(cls, v: str) -> str:
        _minutes(v, allow_24=True)
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if _minutes(self.start, allow_24=False) == _minutes(self.end, allow_24=True):
            raise ValueError(
                f"window {self.start}-{self.end} is empty; use 00:00-24:00 for the whole day"
            )
        return self

    def contains(self, wall: datetime) -> bool:
        """Whether a wall-clock time (already in the policy's zone) falls in this window."""
        days = _parse_days(self.days)
        start = _minutes(self.start, allow_24=False)
        end = _minutes(self.end, allow_24=True)
        t = wall.hour * 60 + wall.minute
        today = wall.weekday()
        if start < end:
            return today in days and start <= t < end
        yesterday = (today - 1) % 7
        return (today in days and t >= start) or (yesterday in days and t < end)

    def describe(self) -> str:
        return f"{_format_days(_parse_days(self.days))} {self.start}-{self.end}"


def _date_only(v: Any) -> Any:
    # "2026-01-01" from JSON must mean the day, as it does from YAML, not its first instant.
    if isinstance(v, str) and _DATE_ONLY.match(v.strip()):
        return date.fromisoformat(v.strip())
    return v


class AccessRule(_Strict):
    """Lets `people` open `entrances` during `windows` (empty = always), optionally only
    between `valid_from` and `valid_until` and at most `max_uses` times (a guest pass).
    A date (no time) in `valid_until` includes that whole day."""

    people: list[str] = Field(min_length=1, description='names as enrolled, or ["*"]')
    entrances: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    windows: list[TimeWindow] = Field(default_factory=list)
    valid_from: datetime | date | None = None
    valid_until: datetime | date | None = None
    max_uses: int | None = Field(None, ge=1)

    _from_dates = field_validator("valid_from", "valid_until", mode="before")(_date_only)

    def matches(self, person: str, entrance: str) -> bool:
        return _matches(self.people, person) and _matches(self.entrances, entrance)


def _matches(patterns: list[str], name: str) -> bool:
    key = name.strip().casefold()
    return any(p.strip() == "*" or p.strip().casefold() == key for p in patterns)


class AccessConfig(_Strict):
    rules: list[AccessRule] = Field(default_factory=list)
    default_allow: bool = Field(
        True, description="with no rules at all: may every enrolled resident open?"
    )
    timezone: str | None = Field(
        None, description="IANA zone for windows and naive datetimes; default: system local"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" (a folder)
                raise ValueError(
                    f"unknown time zone {v!r}; use an IANA name such as 'Europe/Berlin'"
                ) from None
        return v

    @model_validator(mode="after")
    def _ordered(self) -> AccessConfig:
        zone = ZoneInfo(self.timezone) if self.timezone else None
        for i, r in enumerate(self.rules):
            if r.valid_from is not None and r.valid_until is not None:
                lo, hi = (
                    _bound(r.valid_from, zone, end=False),
                    _bound(r.valid_until, zone, end=True),
                )
                if hi <= lo:
                    raise ValueError(f"rules[{i}]: valid_until is not after valid_from")
        return self


def _aware(when: datetime, zone: tzinfo | None) -> datetime:
    """A naive datetime is wall time in the configured zone (system local when none)."""
    if when.tzinfo is not None:
        return when
    return when.replace(tzinfo=zone) if zone is not None else when.astimezone()


def _bound(v: datetime | date, zone: tzinfo | None, *, end: bool) -> datetime:
    """The instant a validity bound stands for; a date ends at the close of that day."""
    if not isinstance(v, datetime):
        v = datetime.combine(v + timedelta(days=1) if end else v, dtime.min)
    return _aware(v, zone)


def _format_bound(v: datetime | date) -> str:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M") + (f" {v.tzname()}" if v.tzinfo else "")
    return v.isoformat()


@dataclass(frozen=True)
class AccessVerdict:
    allowed: bool
    reason: str  # fit to show in the journal and the app
    rule_index: int | None  # the rule that granted, or the first that applied but refused


def resident_refusal(
    person: str,
    active: bool,
    valid_from: datetime | None,
    valid_until: datetime | None,
    when: datetime,
) -> AccessVerdict | None:
    """Why a known resident may not open at all (inactive, or outside their valid-from /
    valid-until, naive times being UTC), before any rule is asked; None when nothing
    refuses. The server's and the edge device's policies both ask this first."""
    if not active:
        return AccessVerdict(False, f"{person} is not an active resident", None)
    at = _utc(when)
    if valid_from is not None and at < _utc(valid_from):
        return AccessVerdict(
            False, f"{person} is a resident only from {valid_from:%Y-%m-%d %H:%M} UTC", None
        )
    if valid_until is not None and at >= _utc(valid_until):
        return AccessVerdict(
            False, f"{person} was a resident until {valid_until:%Y-%m-%d %H:%M} UTC", None
        )
    return None


def _utc(v: datetime) -> datetime:
    return v if v.tzinfo is not None else v.replace(tzinfo=UTC)


class AccessPolicy:
    """Evaluates an `AccessConfig`. Use counts of guest passes are held here in memory;
    the caller calls `record_use` after the door really opened and persists `uses`."""

    def __init__(self, config: AccessConfig, uses: Mapping[int, int] | None = None) -> None:
        self.config = config
        self._zone: tzinfo | None = ZoneInfo(config.timezone) if config.timezone else None
        self._lock = threading.Lock()
        self._uses: dict[int, int] = {}
        for index, count in (uses or {}).items():
            if 0 <= index < len(config.rules):
                self._uses[index] = int(count)
            else:
                # Counts saved for a rule list that has since shrunk: nothing to apply them to.
                log.warning("ignoring use count for access rule %d: no such rule", index)

    def refresh(self) -> bool:
        """Pick up rules changed elsewhere; True when they changed. A policy from a config
        file never changes while running; the server's (`DbAccessPolicy`) reads its DB."""
        return False

    @property
    def uses(self) -> dict[int, int]:
        """Rule index -> times used; a copy, for the caller to persist."""
        with self._lock:
            return dict(self._uses)

    def record_use(self, rule_index: int) -> int:
        """Count one use of a rule (call it when the door opened); returns the new count."""
        if not 0 <= rule_index < len(self.config.rules):
            raise IndexError(f"no access rule {rule_index}")
        with self._lock:
            self._uses[rule_index] = self._uses.get(rule_index, 0) + 1
            return self._uses[rule_index]

    def check(self, person: str, entrance: str, when: datetime) -> AccessVerdict:
        """May `person` open `entrance` at `when`? A naive `when` is wall time in the configured
        zone. Among several granting rules an unlimited one is preferred, so a resident who
        also holds a guest pass does not use it up."""
        rules = self.config.rules
        if not rules:
            if self.config.default_allow:
                return AccessVerdict(True, "no access rules: every resident may open", None)
            return AccessVerdict(False, "no access rules and default_allow is off", None)
        instant = _aware(when, self._zone)
        wall = instant.astimezone(self._zone) if self._zone else instant.astimezone()
        granted: list[int] = []
        refusals: list[tuple[int, str, str]] = []  # (rule, kind, text)
        for i, rule in enumerate(rules):
            if not rule.matches(person, entrance):
                continue
            why = self._refusal(i, rule, instant, wall)
            if why is None:
                granted.append(i)
            else:
                refusals.append((i, *why))
        if granted:
            unlimited = [i for i in granted if rules[i].max_uses is None]
            i = (unlimited or granted)[0]
            return AccessVerdict(True, f"rule {i} lets {person} open {entrance}", i)
        if not refusals:
            return AccessVerdict(False, f"no rule lets {person} open {entrance}", None)
        hours = list(dict.fromkeys(text for _, kind, text in refusals if kind == "hours"))
        parts: list[str] = []
        for _, kind, text in refusals:
            part = f"outside {person}'s hours ({'; '.join(hours)})" if kind == "hours" else text
            if part not in parts:
                parts.append(part)
        return AccessVerdict(False, "; ".join(parts), refusals[0][0])

    def _refusal(
        self, index: int, rule: AccessRule, instant: datetime, wall: datetime
    ) -> tuple[str, str] | None:
        """(kind, text) of why a rule naming this person and entrance does not grant now;
        the "hours" kind is kept apart so several rules' windows read as one phrase."""
        if rule.valid_from is not None and instant < _bound(rule.valid_from, self._zone, end=False):
            return "validity", f"pass not valid before {_format_bound(rule.valid_from)}"
        if rule.valid_until is not None and instant >= _bound(
            rule.valid_until, self._zone, end=True
        ):
            return "validity", f"pass expired {_format_bound(rule.valid_until)}"
        if rule.max_uses is not None:
            with self._lock:
                used = self._uses.get(index, 0)
            if used >= rule.max_uses:
                return "uses", f"pass used up ({used} of {rule.max_uses})"
        if rule.windows and not any(w.contains(wall) for w in rule.windows):
            return "hours", ", ".join(w.describe() for w in rule.windows)
        return None
