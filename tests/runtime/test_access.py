"""Access rules, evaluated on the intercom: who, where, when, until when, how often."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from facegate.runtime.access import AccessConfig, AccessPolicy, AccessRule, TimeWindow

BERLIN = ZoneInfo("Europe/Berlin")
# 2026-03-02 is a Monday; in Berlin winter time (UTC+1) until 2026-03-29.
MON = datetime(2026, 3, 2)


def at(day_offset: int, hhmm: str) -> datetime:
    """A naive wall time `day_offset` days after Monday 2026-03-02."""
    h, m = map(int, hhmm.split(":"))
    return MON.replace(day=MON.day + day_offset, hour=h, minute=m)


def policy(*rules: dict[str, Any], tz: str | None = "Europe/Berlin", **kw: Any) -> AccessPolicy:
    return AccessPolicy(AccessConfig(rules=list(rules), timezone=tz, **kw.pop("config", {})), **kw)


def test_no_rules_lets_every_resident_open() -> None:
    v = policy().check("Ann", "main-door", at(0, "03:00"))
    assert v.allowed and v.rule_index is None
    assert "no access rules" in v.reason


def test_no_rules_with_default_allow_off_denies() -> None:
    v = policy(config={"default_allow": False}).check("Ann", "main-door", at(0, "12:00"))
    assert not v.allowed


def test_once_a_rule_exists_only_rules_grant() -> None:
    p = policy({"people": ["Bob"]})
    assert p.check("Bob", "main-door", at(0, "12:00")).allowed
    v = p.check("Ann", "main-door", at(0, "12:00"))
    assert not v.allowed
    assert v.reason == "no rule lets Ann open main-door"
    assert v.rule_index is None


def test_people_and_entrances_match_names_and_wildcards() -> None:
    p = policy(
        {"people": ["Ann", "Bob"], "entrances": ["main-door"]},
        {"people": ["*"], "entrances": ["garage"]},
    )
    assert p.check("Ann", "main-door", at(0, "12:00")).rule_index == 0
    assert p.check("bob", "Main-Door", at(0, "12:00")).allowed  # case does not matter
    assert not p.check("Cyd", "main-door", at(0, "12:00")).allowed
    v = p.check("Cyd", "garage", at(0, "12:00"))
    assert v.allowed and v.rule_index == 1
    assert v.reason == "rule 1 lets Cyd open garage"
    assert not p.check("Ann", "back-door", at(0, "12:00")).allowed


def test_weekday_and_hours_window() -> None:
    p = policy({"people": ["Ann"], "windows": [{"days": ["mon-fri"], "start": "07:00",
                                                 "end": "19:00"}]})  # fmt: skip
    assert p.check("Ann", "main", at(0, "07:00")).allowed  # start is inclusive
    assert p.check("Ann", "main", at(4, "18:59")).allowed  # Friday
    v = p.check("Ann", "main", at(0, "19:00"))  # end is exclusive
    assert not v.allowed
    assert v.reason == "outside Ann's hours (mon-fri 07:00-19:00)"
    assert v.rule_index == 0
    assert not p.check("Ann", "main", at(5, "12:00")).allowed  # Saturday


def test_days_accept_numbers_names_and_wrapping_ranges() -> None:
    w = TimeWindow(days=[5, "Sunday"], start="10:00", end="12:00")
    assert w.describe() == "sat,sun 10:00-12:00"
    wrap = TimeWindow(days=["fri-mon"], start="10:00", end="12:00")
    assert wrap.describe() == "fri-mon 10:00-12:00"
    assert [wrap.contains(at(d, "11:00")) for d in range(7)] == [
        True, False, False, False, True, True, True,
    ]  # fmt: skip
    assert TimeWindow(start="09:00", end="10:00").describe() == "daily 09:00-10:00"


def test_window_crossing_midnight_belongs_to_its_start_day() -> None:
    p = policy({"people": ["Nia"], "windows": [{"days": ["fri"], "start": "22:00",
                                                 "end": "06:00"}]})  # fmt: skip
    assert p.check("Nia", "main", at(4, "23:30")).allowed  # Friday night
    assert p.check("Nia", "main", at(5, "05:59")).allowed  # early Saturday
    assert not p.check("Nia", "main", at(5, "06:00")).allowed
    assert not p.check("Nia", "main", at(4, "03:00")).allowed  # early Friday: Thursday's night
    assert not p.check("Nia", "main", at(4, "21:59")).allowed


def test_whole_day_and_empty_windows() -> None:
    assert TimeWindow(start="00:00", end="24:00").contains(at(2, "23:59"))
    with pytest.raises(ValidationError, match="is empty"):
        TimeWindow(start="08:00", end="08:00")
    for bad in ("25:00", "7", "07:60"):
        with pytest.raises(ValidationError, match="not a time of day"):
            TimeWindow(start=bad, end="09:00")
    with pytest.raises(ValidationError, match="not a weekday"):
        TimeWindow(days=["funday"])
    with pytest.raises(ValidationError, match=r"0 \(mon\) \.\. 6"):
        TimeWindow(days=[7])


def test_several_rules_for_one_person_explain_all_hours() -> None:
    p = policy(
        {"people": ["Ann"], "windows": [{"days": ["mon-fri"], "start": "07:00", "end": "19:00"}]},
        {
            "people": ["Ann"],
            "windows": [{"days": ["sat", "sun"], "start": "10:00", "end": "16:00"}],
        },
    )
    assert p.check("Ann", "main", at(5, "11:00")).rule_index == 1
    v = p.check("Ann", "main", at(5, "20:00"))
    assert v.reason == "outside Ann's hours (mon-fri 07:00-19:00; sat,sun 10:00-16:00)"


def test_valid_from_and_until_dates_include_the_whole_day() -> None:
    p = policy({"people": ["Gus"], "valid_from": "2026-03-03", "valid_until": date(2026, 3, 4)})
    v = p.check("Gus", "main", at(0, "23:59"))
    assert not v.allowed and v.reason == "pass not valid before 2026-03-03"
    assert p.check("Gus", "main", at(1, "00:00")).allowed
    assert p.check("Gus", "main", at(2, "23:59")).allowed
    v = p.check("Gus", "main", at(3, "00:00"))
    assert not v.allowed and v.reason == "pass expired 2026-03-04"


def test_valid_until_datetime() -> None:
    p = policy({"people": ["Gus"], "valid_until": "2026-03-02T14:30"})
    assert p.check("Gus", "main", at(0, "14:29")).allowed
    assert p.check("Gus", "main", at(0, "14:30")).reason == "pass expired 2026-03-02 14:30"


def test_validity_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="valid_until is not after valid_from"):
        AccessConfig(rules=[{"people": ["Gus"], "valid_from": "2026-03-05",
                             "valid_until": "2026-03-04"}])  # fmt: skip


def test_max_uses_counts_and_runs_out() -> None:
    p = policy({"people": ["Plumber"], "max_uses": 3})
    for n in (1, 2, 3):
        v = p.check("Plumber", "main", at(0, "10:00"))
        assert v.allowed
        assert p.record_use(v.rule_index) == n
    v = p.check("Plumber", "main", at(0, "10:05"))
    assert not v.allowed
    assert v.reason == "pass used up (3 of 3)"
    assert p.uses == {0: 3}


def test_use_counts_survive_a_restart_via_the_constructor() -> None:
    cfg = AccessConfig(rules=[AccessRule(people=["Plumber"], max_uses=2)])
    first = AccessPolicy(cfg)
    first.record_use(0)
    second = AccessPolicy(cfg, uses={**first.uses, 9: 4})  # 9: a rule that no longer exists
    assert second.uses == {0: 1}
    second.record_use(0)
    assert second.check("Plumber", "main", at(0, "10:00")).reason == "pass used up (2 of 2)"
    with pytest.raises(IndexError):
        second.record_use(1)


def test_unlimited_rule_is_preferred_over_a_guest_pass() -> None:
    p = policy({"people": ["Ann"], "max_uses": 1}, {"people": ["Ann"]})
    v = p.check("Ann", "main", at(0, "10:00"))
    assert v.allowed and v.rule_index == 1


def test_aware_datetimes_are_converted_to_the_configured_zone() -> None:
    p = policy({"people": ["Ann"], "windows": [{"start": "07:00", "end": "19:00"}]})
    # 06:30 UTC is 07:30 in Berlin (winter, UTC+1): inside. 18:30 UTC is 19:30: outside.
    assert p.check("Ann", "main", datetime(2026, 3, 2, 6, 30, tzinfo=UTC)).allowed
    assert not p.check("Ann", "main", datetime(2026, 3, 2, 18, 30, tzinfo=UTC)).allowed
    # In summer Berlin is UTC+2: 05:30 UTC is 07:30 local.
    assert p.check("Ann", "main", datetime(2026, 7, 6, 5, 30, tzinfo=UTC)).allowed
    # The same instants judged in UTC give the opposite answers.
    utc = policy({"people": ["Ann"], "windows": [{"start": "07:00", "end": "19:00"}]}, tz="UTC")
    assert not utc.check("Ann", "main", datetime(2026, 3, 2, 6, 30, tzinfo=UTC)).allowed
    assert utc.check("Ann", "main", datetime(2026, 3, 2, 18, 30, tzinfo=UTC)).allowed


def test_weekday_is_taken_in_the_configured_zone() -> None:
    p = policy({"people": ["Ann"], "windows": [{"days": ["sat"]}]})
    # Friday 23:30 UTC is already Saturday 00:30 in Berlin.
    assert p.check("Ann", "main", datetime(2026, 3, 6, 23, 30, tzinfo=UTC)).allowed


def test_naive_datetimes_are_local_to_the_configured_zone() -> None:
    p = policy({"people": ["Gus"], "valid_until": "2026-03-02T12:00"})
    assert p.check("Gus", "main", datetime(2026, 3, 2, 11, 59)).allowed  # naive: Berlin time
    # 11:30 UTC is 12:30 in Berlin: after the naive (Berlin) end of the pass.
    assert not p.check("Gus", "main", datetime(2026, 3, 2, 11, 30, tzinfo=UTC)).allowed
    assert p.check("Gus", "main", datetime(2026, 3, 2, 10, 59, tzinfo=BERLIN)).allowed


def test_aware_validity_bounds_are_kept() -> None:
    p = policy({"people": ["Gus"], "valid_until": "2026-03-02T12:00:00+00:00"})
    assert p.check("Gus", "main", datetime(2026, 3, 2, 12, 59, tzinfo=BERLIN)).allowed
    assert not p.check("Gus", "main", datetime(2026, 3, 2, 13, 0, tzinfo=BERLIN)).allowed


def test_system_local_zone_when_none_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX-only")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        p = policy({"people": ["Ann"], "windows": [{"start": "07:00", "end": "19:00"}]}, tz=None)
        # 23:00 UTC is 08:00 next day in Tokyo (UTC+9).
        assert p.check("Ann", "main", datetime(2026, 3, 2, 23, 0, tzinfo=UTC)).allowed
        assert p.check("Ann", "main", datetime(2026, 3, 2, 8, 0)).allowed  # naive = local
        assert not p.check("Ann", "main", datetime(2026, 3, 2, 12, 0, tzinfo=UTC)).allowed
    finally:
        monkeypatch.undo()
        time.tzset()


def test_config_errors() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        AccessConfig(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="Extra inputs"):
        AccessConfig(rules=[{"people": ["Ann"], "doors": ["x"]}])
    with pytest.raises(ValidationError, match="people"):
        AccessConfig(rules=[{"people": []}])
    with pytest.raises(ValidationError, match="max_uses"):
        AccessConfig(rules=[{"people": ["Ann"], "max_uses": 0}])
