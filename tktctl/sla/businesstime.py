"""Working-time arithmetic over a business calendar: pure functions, no database.

A calendar has a time zone, working hours per weekday (wall-clock ranges, local time) and
holidays (``MM-DD`` every year, ``YYYY-MM-DD`` once). Working time is real elapsed time
inside the working ranges: each day's ranges are turned into UTC instants with
:mod:`zoneinfo`, so a range that spans a DST change is an hour shorter or longer, as the
clock on the wall says. ``None`` as the calendar means every hour counts (24/7).

Precision is one second; callers pass minutes. Holidays and weekdays are judged by the
local date.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tktctl.errors import UsageError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_YEARLY = re.compile(r"^(\d{2})-(\d{2})$")
# A calendar with working hours has at least one working second in any 8 days (at most 7
# weekdays, and a week of holidays is still checked for); this bounds every search loop.
_MAX_DAYS = 366 * 200


@dataclass(frozen=True)
class Calendar:
    """Working hours per weekday (0 = Monday) as (start, end) minutes after local midnight."""

    timezone: str = "UTC"
    hours: Mapping[int, Sequence[tuple[int, int]]] = field(default_factory=dict)
    yearly: frozenset[tuple[int, int]] = frozenset()
    dates: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_holiday(self, day: date) -> bool:
        return day in self.dates or (day.month, day.day) in self.yearly

    def ranges(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working ranges as UTC instants (empty on holidays and days off)."""
        if self.is_holiday(day):
            return []
        zone = self.zone
        result = []
        for start, end in self.hours.get(day.weekday(), ()):
            begin = _instant(day, start, zone)
            finish = _instant(day, end, zone)
            if finish > begin:
                result.append((begin, finish))
        return result


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Local wall time ``minutes`` after midnight of ``day`` (24:00 is the next midnight), in UTC."""
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    # fold=0: a wall time that a DST change skips or repeats takes the offset before the change.
    return wall.replace(tzinfo=zone).astimezone(timezone.utc)


def _days(calendar: Calendar, moment: datetime, step: int) -> Iterator[date]:
    """Local dates from the one holding ``moment`` onwards (step 1) or backwards (step -1)."""
    day = moment.astimezone(calendar.zone).date() - timedelta(days=step)
    for _ in range(_MAX_DAYS):
        yield day
        day += timedelta(days=step)
    raise UsageError(f"calendar in {calendar.timezone} has no working hours within {_MAX_DAYS} days")


def add_working(calendar: Calendar | None, start: datetime, minutes: int) -> datetime:
    """The instant at which ``minutes`` of working time have passed since ``start``.

    For ``minutes > 0`` the result lies inside working hours (the end of a range counts),
    so a deadline never falls on a night or holiday.
    """
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if calendar is None:
        return start + timedelta(minutes=minutes)
    left = timedelta(minutes=minutes)
    if not left:
        return start
    for day in _days(calendar, start, 1):
        for begin, end in calendar.ranges(day):
            if end <= start:
                continue
            begin = max(begin, start)
            if end - begin >= left:
                return begin + left
            left -= end - begin
    raise AssertionError("unreachable: _days raises first")


def working_between(calendar: Calendar | None, start: datetime, end: datetime) -> timedelta:
    """Working time from ``start`` to ``end``; negative when ``end`` is earlier."""
    if end < start:
        return -working_between(calendar, end, start)
    if calendar is None:
        return end - start
    total = timedelta(0)
    for day in _days(calendar, start, 1):
        ranges = calendar.ranges(day)
        for begin, finish in ranges:
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta(0):
                total += overlap
        # The day before the local date of `end`, plus one for ranges that run past midnight.
        if day > end.astimezone(calendar.zone).date():
            return total
    raise AssertionError("unreachable: _days raises first")


# Parsing and showing calendars -------------------------------------------------------------


def _minutes(hour: str, minute: str, text: str) -> int:
    value = int(hour) * 60 + int(minute)
    if int(minute) > 59 or value > 24 * 60:
        raise UsageError(f"invalid time in working hours {text!r}")
    return value


def parse_ranges(text: str) -> list[tuple[int, int]]:
    """``09:00-12:00,13:00-17:00`` -> [(540, 720), (780, 1020)]; ranges must not overlap."""
    ranges = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        match = _RANGE.match(part)
        if not match:
            raise UsageError(f"invalid working hours {part!r}; use HH:MM-HH:MM, e.g. 09:00-17:00")
        start, end = _minutes(match[1], match[2], part), _minutes(match[3], match[4], part)
        if end <= start:
            raise UsageError(f"working hours {part!r} end before they start")
        ranges.append((start, end))
    ranges.sort()
    for (_, end), (start, _) in itertools.pairwise(ranges):
        if start < end:
            raise UsageError(f"working hours {text!r} overlap")
    return ranges


def parse_days(text: str) -> list[int]:
    """``mon-fri``, ``sat``, ``mon,wed`` -> weekday numbers."""
    result: list[int] = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise UsageError(f"invalid weekday {part!r}; use mon, tue, wed, thu, fri, sat, sun or ranges like mon-fri")
        lo, hi = DAYS.index(first), DAYS.index(last or first)
        if hi < lo:
            raise UsageError(f"weekday range {part!r} runs backwards")
        result.extend(range(lo, hi + 1))
    return result


def parse_holiday(text: str) -> str:
    """Check ``MM-DD`` (every year) or ``YYYY-MM-DD`` (once); returns it normalised."""
    value = str(text).strip()
    match = _YEARLY.match(value)
    try:
        if match:
            date(2000, int(match[1]), int(match[2]))  # a leap year, so 02-29 is accepted
            return value
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise UsageError(f"invalid holiday {value!r}; use MM-DD (every year) or YYYY-MM-DD (once)") from exc


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown time zone {name!r}; use an IANA name like Europe/Berlin") from exc
    return name


def build(timezone_name: str, hours: Mapping[str, Sequence[str]], holidays: Sequence[str]) -> Calendar:
    """A calendar from its stored form: ``{"mon": ["09:00-17:00"], ...}`` and holiday strings."""
    per_day: dict[int, list[tuple[int, int]]] = {}
    for day, ranges in hours.items():
        per_day[DAYS.index(day)] = [r for text in ranges for r in parse_ranges(text)]
    yearly: set[tuple[int, int]] = set()
    dates: set[date] = set()
    for item in holidays:
        if _YEARLY.match(item):
            yearly.add((int(item[:2]), int(item[3:])))
        else:
            dates.add(date.fromisoformat(item))
    return Calendar(timezone_name, per_day, frozenset(yearly), frozenset(dates))
