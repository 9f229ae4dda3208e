"""The rule and guest-pass form of the web UI: pickers (residents and entrances to tick,
weekdays to tick, times and dates from the browser's own inputs) instead of typed ids and
`mon-fri`; what it posts becomes the API's own `RuleIn`, so a rule made here is the rule
`POST /api/v1/rules` would make, stored by the same operation.

Dates are days in the site's time zone (`server.timezone`): "valid until 31 May" means to
the end of that day there, stored as the first instant of the next day (a pass is refused
from `valid_until` on). A rule from the API with more than one weekly window is shown,
but its form edits the first window only and says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from facegate.runtime.access import DAY_NAMES, TimeWindow
from facegate.server.schemas import RuleIn, RuleOut
from facegate.server.ui.forms import FormError

DAY_WORDS = {  # short names in the reader's language (the catalogue has them)
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}


class RuleForm(BaseModel):
    """The form's fields as the browser sends them; ticked boxes arrive as repeated keys."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field("", max_length=200)
    resident_ids: list[int] = Field(default_factory=list, max_length=1000)
    entrance_ids: list[int] = Field(default_factory=list, max_length=1000)
    days: list[str] = Field(default_factory=list, max_length=7)
    start: str = Field("", max_length=10)
    end: str = Field("", max_length=10)
    valid_from: str = Field("", max_length=20)
    valid_until: str = Field("", max_length=20)
    max_uses: str = Field("", max_length=12)

    @classmethod
    def of(cls, rule: RuleOut, zone: ZoneInfo) -> RuleForm:
        """The form of a stored rule: what its pickers show."""
        w = rule.windows[0] if rule.windows else None
        days = _day_names(w.days) if w else []
        return cls(
            name=rule.name,
            resident_ids=rule.resident_ids or [],
            entrance_ids=rule.entrance_ids or [],
            days=[] if days == list(DAY_NAMES) and w and _whole_day(w) else days,
            start="" if w is None or w.start == "00:00" else w.start,
            end="" if w is None or w.end == "24:00" else w.end,
            valid_from=_day_of(rule.valid_from, zone),
            valid_until=_day_of(rule.valid_until, zone, until=True),
            max_uses=str(rule.max_uses or ""),
        )

    def body(self, zone: ZoneInfo, keep_windows: list[TimeWindow] | None = None) -> RuleIn:
        """The API's request: nobody ticked means every resident, no entrance ticked every
        entrance, no day and no time means always. `keep_windows`: a stored rule's other
        windows, kept after the first (which this form edits)."""
        errors: list[str] = []
        data: dict[str, Any] = {
            "name": self.name.strip(),
            "resident_ids": sorted(set(self.resident_ids)) or None,
            "entrance_ids": sorted(set(self.entrance_ids)) or None,
            "windows": [],
        }
        if self.days or self.start or self.end:
            data["windows"].append(
                {
                    "days": [d for d in DAY_NAMES if d in self.days] or list(DAY_NAMES),
                    "start": self.start or "00:00",
                    "end": self.end or "24:00",
                }
            )
        data["windows"] += [w.model_dump() for w in (keep_windows or [])]
        for key, until in (("valid_from", False), ("valid_until", True)):
            text = getattr(self, key).strip()
            if text:
                try:
                    data[key] = _instant(date.fromisoformat(text), zone, until)
                except ValueError:
                    errors.append(f"{key}: not a date (YYYY-MM-DD): {text}")
        if self.max_uses.strip():
            if self.max_uses.strip().isdigit():
                data["max_uses"] = int(self.max_uses)
            else:
                errors.append(f"max_uses: a whole number: {self.max_uses}")
        if errors:
            raise FormError(errors)
        try:
            return RuleIn.model_validate(data)
        except ValidationError as exc:
            raise FormError(
                [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            ) from None


def _instant(day: date, zone: ZoneInfo, until: bool) -> datetime:
    """The start of `day` in the site's zone (of the next day for an end), in UTC."""
    local = datetime.combine(day + timedelta(days=1) if until else day, time(), zone)
    return local.astimezone(UTC)


def _day_of(when: datetime | None, zone: ZoneInfo, until: bool = False) -> str:
    """The day a stored instant shows as; an end instant belongs to the day before it."""
    if when is None:
        return ""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    if until:
        aware -= timedelta(microseconds=1)
    return aware.astimezone(zone).date().isoformat()


def _day_names(days: list[str | int]) -> list[str]:
    """A window's days as the form's names, Monday first."""
    window = TimeWindow(days=days)
    probe = datetime(2024, 1, 1, 12, 0)  # a Monday at noon
    return [
        d
        for i, d in enumerate(DAY_NAMES)
        if TimeWindow(days=window.days, start="00:00", end="24:00").contains(
            probe + timedelta(days=i)
        )
    ]


def _whole_day(w: TimeWindow) -> bool:
    return w.start == "00:00" and w.end == "24:00"
