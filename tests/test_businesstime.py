"""Working-time arithmetic: hand-computed cases, then properties over random calendars and instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tktctl.errors import UsageError
from tktctl.sla.businesstime import Calendar, add_working, build, parse_days, parse_holiday, working_between

UTC = timezone.utc
OFFICE = build(
    "Europe/Berlin",
    {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    ["12-25", "12-26", "2026-12-28"],
)
SPLIT = build("UTC", {"mon": ["09:00-12:00", "13:00-17:00"], "sat": ["10:00-12:00"]}, [])
NIGHT = build("America/New_York", {d: ["00:00-04:00"] for d in ("sat", "sun", "mon")}, [])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "minutes", "end"),
    [
        # Wednesday 2026-11-25, 10:00 Berlin (09:00Z): same day.
        ("2026-11-25 09:00", 60, "2026-11-25 10:00"),
        # Friday 15:00 Berlin + 4 h: 2 h on Friday, the weekend off, 2 h on Monday -> Mon 11:00 Berlin.
        ("2026-11-27 14:00", 240, "2026-11-30 10:00"),
        # Ending exactly at closing time stays on that day.
        ("2026-11-25 15:00", 60, "2026-11-25 16:00"),
        # Saturday night starts Monday 09:00 Berlin.
        ("2026-11-28 22:00", 1, "2026-11-30 08:01"),
        # Thursday 24 Dec 16:00 Berlin + 2 h: 1 h Thursday; 25th, 26th (yearly), weekend, 28th (one-off) off.
        ("2026-12-24 15:00", 120, "2026-12-29 09:00"),
        # Several nights: 3 working days (24 h) from Monday 09:00 Berlin ends Wednesday 17:00 Berlin.
        ("2026-11-30 08:00", 24 * 60, "2026-12-02 16:00"),
        # Summer time: Berlin is UTC+2, so 09:00 local is 07:00Z.
        ("2026-07-01 06:00", 30, "2026-07-01 07:30"),
        # Across the autumn DST change (25 Oct 2026): Friday 16:30 CEST + 1 h -> Monday 09:30 CET = 08:30Z.
        ("2026-10-23 14:30", 60, "2026-10-26 08:30"),
    ],
)
def test_add_working_hand_computed(start: str, minutes: int, end: str) -> None:
    assert add_working(OFFICE, at(start), minutes) == at(end)
    assert working_between(OFFICE, at(start), at(end)) == timedelta(minutes=minutes)


def test_split_day_and_saturday() -> None:
    # Monday 11:00 + 3 h: 1 h to noon, lunch off, 2 h from 13:00 -> 15:00.
    assert add_working(SPLIT, at("2026-11-30 11:00"), 180) == at("2026-11-30 15:00")
    # Monday 16:00 + 3 h: 1 h Monday, 2 h Saturday -> Saturday 12:00, end of range.
    assert add_working(SPLIT, at("2026-11-30 16:00"), 180) == at("2026-12-05 12:00")


def test_dst_spring_forward_shortens_a_night_range() -> None:
    # New York springs forward at 02:00 on Sunday 8 March 2026: 00:00-04:00 local is only 3 real hours.
    sunday = working_between(NIGHT, at("2026-03-08 04:00"), at("2026-03-08 09:00"))
    assert sunday == timedelta(hours=3)
    saturday = working_between(NIGHT, at("2026-03-07 05:00"), at("2026-03-07 09:00"))
    assert saturday == timedelta(hours=4)
    # Sunday 00:00 EST (05:00Z) + 4 h of work: 3 h on Sunday, 1 h on Monday (00:00 EDT = 04:00Z).
    assert add_working(NIGHT, at("2026-03-08 05:00"), 240) == at("2026-03-09 05:00")


def test_no_calendar_counts_every_hour() -> None:
    assert add_working(None, at("2026-11-28 22:00"), 90) == at("2026-11-28 23:30")
    assert working_between(None, at("2026-11-28 22:00"), at("2026-11-28 21:00")) == timedelta(hours=-1)


def test_negative_between_is_the_mirror() -> None:
    assert working_between(OFFICE, at("2026-11-30 10:00"), at("2026-11-30 08:00")) == timedelta(hours=-2)


@pytest.mark.parametrize("bad", ["13-01", "02-30", "2026-02-30", "xmas", ""])
def test_bad_holidays_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_holiday(bad)


def test_day_specs() -> None:
    assert parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_days("sat,mon") == [5, 0]
    with pytest.raises(UsageError):
        parse_days("fri-mon")
    with pytest.raises(UsageError):
        build("UTC", {"mon": ["09:00-08:00"]}, [])


# Properties -------------------------------------------------------------------------------

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    days = draw(st.lists(st.sampled_from(("mon", "tue", "wed", "thu", "fri", "sat", "sun")), min_size=1, unique=True))
    hours = {}
    for day in days:
        start = draw(st.integers(0, 22 * 60))
        end = draw(st.integers(start + 60, 24 * 60))
        hours[day] = [f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"]
    holidays = draw(st.lists(st.sampled_from(("01-01", "03-08", "03-29", "10-25", "11-01", "12-25")), unique=True))
    return build(draw(st.sampled_from(ZONES)), hours, holidays)


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)
# Up to ten working days: with at least an hour a week, a search never runs for years.
minutes = st.integers(1, 60 * 8 * 10)


def _inside(calendar: Calendar, moment: datetime) -> bool:
    day = moment.astimezone(calendar.zone).date()
    return any(
        begin < moment <= end
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        for begin, end in calendar.ranges(d)
    )


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, minutes, minutes)
def test_adding_is_monotonic_in_minutes(calendar: Calendar, start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert add_working(calendar, start, low) <= add_working(calendar, start, high)


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, instants, minutes)
def test_adding_is_monotonic_in_start(calendar: Calendar, x: datetime, y: datetime, m: int) -> None:
    early, late = sorted((x, y))
    assert add_working(calendar, early, m) <= add_working(calendar, late, m)


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, minutes)
def test_a_deadline_falls_inside_working_hours(calendar: Calendar, start: datetime, m: int) -> None:
    assert _inside(calendar, add_working(calendar, start, m))


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, minutes, minutes)
def test_splitting_a_duration_gives_the_same_end(calendar: Calendar, start: datetime, a: int, b: int) -> None:
    assert add_working(calendar, add_working(calendar, start, a), b) == add_working(calendar, start, a + b)


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, minutes)
def test_between_inverts_add(calendar: Calendar, start: datetime, m: int) -> None:
    assert working_between(calendar, start, add_working(calendar, start, m)) == timedelta(minutes=m)
