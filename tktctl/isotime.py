"""The one spelling of a time in machine output: ISO 8601, UTC, ``Z`` suffix; and SQLite's stored spelling.

Both are spelled from the time's fields, not by isoformat() or SQLAlchemy's format string, which
cost three to five times as much: an export spells millions of times, an import stores them (tests
hold the spellings equal to those).
"""

from __future__ import annotations

from datetime import datetime, timezone

# Spelled days ("2026-11-27") by ordinal, emptied when full; a stream's times fall on few days.
_DAYS: dict[int, str] = {}
_MAX_DAYS = 4096
_TWO = tuple(f"{n:02d}" for n in range(60))


def _utc(value: datetime) -> datetime:
    zone = value.tzinfo
    return value if zone is None or zone is timezone.utc else value.astimezone(timezone.utc)


def _day(value: datetime) -> str:
    ordinal = value.toordinal()
    day = _DAYS.get(ordinal)
    if day is None:
        if len(_DAYS) >= _MAX_DAYS:
            _DAYS.clear()
        day = _DAYS[ordinal] = value.date().isoformat()
    return day


def iso(value: datetime) -> str:
    """``value`` (naive: UTC already) as isoformat() spells it in UTC, ``Z`` for the offset."""
    value = _utc(value)
    two = _TWO
    micro = value.microsecond
    if micro:
        return f"{_day(value)}T{two[value.hour]}:{two[value.minute]}:{two[value.second]}.{str(micro + 1_000_000)[1:]}Z"
    return f"{_day(value)}T{two[value.hour]}:{two[value.minute]}:{two[value.second]}Z"


def sqlite_text(value: datetime) -> str:
    """``value`` (naive: UTC already) as a UTC time column stores it on SQLite (SQLAlchemy's DATETIME format,
    microseconds always), for a bulk insert."""
    value = _utc(value)
    two = _TWO
    clock = f"{two[value.hour]}:{two[value.minute]}:{two[value.second]}"
    return f"{_day(value)} {clock}.{str(value.microsecond + 1_000_000)[1:]}"
