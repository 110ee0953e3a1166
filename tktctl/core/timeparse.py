"""Time input as the contract defines it (section 7): absolute, relative, and named times."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, time, timedelta, timezone, tzinfo

from tktctl.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(?:\d+[smhdw])+$")
_PART = re.compile(r"(\d+)([smhdw])")
# Durations beyond this are typos, and would overflow datetime arithmetic.
_MAX_SECONDS = 200 * 365 * 86400
# The ISO 8601 forms exports and most feeds write, which datetime.fromisoformat reads as dateutil
# does, ~50x faster: an import parses millions. Anything else (and what fromisoformat refuses) goes
# to dateutil.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?")


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``3d``, ``1w2d`` -> timedelta; anything else is a usage error."""
    compact = text.strip().lower()
    if not _DURATION.match(compact):
        raise UsageError(f"invalid duration {text!r}: use a number and a unit s, m, h, d or w, e.g. 90m, 1w2d")
    try:
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        seconds = _MAX_SECONDS + 1
    if seconds > _MAX_SECONDS:
        raise UsageError(f"duration {text!r} is out of range")
    return timedelta(seconds=seconds)


def parse_time(text: str, *, now: datetime, tz: tzinfo) -> datetime:
    """Parse a user's time; the result is aware and in UTC.

    ``now`` is the caller's clock (aware), so tests and saved jobs can fix it; ``tz`` is the
    zone of times written without one.
    """
    if _ISO.fullmatch(text):  # first: an import parses millions, and no other form looks like these
        return _absolute(text, _parse_iso(text), tz, now)
    word = text.strip().lower()
    if not word:
        raise UsageError("empty time")
    if word == "now":
        return now.astimezone(timezone.utc)
    if word in ("today", "yesterday", "tomorrow"):
        local_day = now.astimezone(tz).date() + timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[word])
        return datetime.combine(local_day, time(0), tzinfo=tz).astimezone(timezone.utc)
    # In UTC: arithmetic on a zoneinfo-aware datetime is wall-clock arithmetic, wrong across DST.
    if word.startswith("+") and _DURATION.match(word[1:]):
        return now.astimezone(timezone.utc) + parse_duration(word[1:])
    if _DURATION.match(word):
        return now.astimezone(timezone.utc) - parse_duration(word)
    text = text.strip()
    return _absolute(text, _parse_iso(text) if _ISO.fullmatch(text) else None, tz, now)


def _absolute(text: str, iso: datetime | None, tz: tzinfo, now: datetime) -> datetime:
    """``text`` as a date and time in UTC (``iso``: the fast path's reading, if it had one); without a
    zone of its own it is read in ``tz``."""
    parsed = iso or _parse_any(text, tz, now)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"time {text!r} is out of range") from exc


def _parse_iso(text: str) -> datetime | None:
    """The ISO fast path; None where fromisoformat refuses (month 13, year 0), for dateutil to judge.

    A final ``Z`` is spelled out: Python 3.10's fromisoformat refuses it (3.11's reads it alike).
    """
    try:
        return datetime.fromisoformat(f"{text[:-1]}+00:00" if text[-1] == "Z" else text)
    except ValueError:
        return None


def _parse_any(text: str, tz: tzinfo, now: datetime) -> datetime:
    from dateutil import parser

    # What the text leaves out (the date of "14:00") is taken from the caller's today, in ``tz``.
    default = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    try:
        with warnings.catch_warnings():
            # dateutil only warns about a zone name it does not know, and returns a naive time.
            warnings.simplefilter("error", parser.UnknownTimezoneWarning)
            parsed = parser.parse(text, default=default)
    except parser.UnknownTimezoneWarning as exc:
        raise UsageError(f"unknown time zone name in {text!r}: write an offset like +05:30, or Z for UTC") from exc
    except (ValueError, OverflowError) as exc:
        raise UsageError(
            f"invalid time {text!r}: use a date like 2026-11-27 or 2026-11-27 14:00, "
            "a duration like 3d (ago) or +2h (from now), or now/today/yesterday"
        ) from exc
    return parsed


def local_zone(name: str | None) -> tzinfo:
    """The configured zone for naive input; ``None`` or ``local`` means the machine's zone."""
    if not name or name == "local":
        from dateutil import tz

        return tz.tzlocal()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown time zone {name!r}") from exc
