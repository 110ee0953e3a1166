"""Time input (contract section 7): absolute, relative and named times, always returned as aware UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from tktctl.core.timeparse import local_zone, parse_duration, parse_time
from tktctl.errors import UsageError

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
KOLKATA = ZoneInfo("Asia/Kolkata")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
# A fixed clock far from the machine's real date, so nothing can silently fall back to datetime.now().
NOW = datetime(2031, 6, 15, 12, 0, tzinfo=UTC)
MAX_SECONDS = 200 * 365 * 86400


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def parse(text: str, *, now: datetime = NOW, tz: tzinfo = BERLIN) -> datetime:
    result = parse_time(text, now=now, tz=tz)
    assert result.utcoffset() == timedelta(0)
    assert result.tzinfo is UTC
    return result


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta(0)),
        ("45s", timedelta(seconds=45)),
        ("90m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(days=7)),
        ("1w2d", timedelta(days=9)),
        ("1w2d3h4m5s", timedelta(days=9, hours=3, minutes=4, seconds=5)),
        # Any order and repeated units add up.
        ("30m1h", timedelta(minutes=90)),
        ("1h1h", timedelta(hours=2)),
        # Case and surrounding blanks do not matter.
        ("2H", timedelta(hours=2)),
        ("  1W2D ", timedelta(days=9)),
        ("007m", timedelta(minutes=7)),
        # The limit itself is accepted (200 years of 365 days).
        ("73000d", timedelta(days=73000)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "2", "h", "2x", "2 h", "1.5h", "-2h", "+2h", "2h 3m", "2hours", "1y", "d3", "2h-", "3 fortnights"],
)
def test_parse_duration_rejects_malformed(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_duration(text)
    message = info.value.message
    assert repr(text) in message
    # Helpful: says what a duration looks like.
    assert "s, m, h, d or w" in message
    assert "90m" in message


@pytest.mark.parametrize("text", ["73000d1s", "10431w", "99999999999999999999w", "1" * 30 + "s"])
def test_parse_duration_rejects_huge(text: str) -> None:
    with pytest.raises(UsageError, match="out of range"):
        parse_duration(text)


def test_parse_duration_rejects_more_digits_than_int_converts() -> None:
    # Regression: int() refuses strings of more than 4300 digits with a bare ValueError, which
    # escaped as an internal error instead of a usage error.
    with pytest.raises(UsageError, match="out of range"):
        parse_duration("9" * 5000 + "s")
    with pytest.raises(UsageError, match="out of range"):
        parse_time("9" * 5000 + "d", now=NOW, tz=BERLIN)
    with pytest.raises(UsageError, match="out of range"):
        parse_time("+" + "9" * 5000 + "d", now=NOW, tz=BERLIN)


UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
parts = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(sorted(UNITS))), min_size=1, max_size=8)


@given(parts)
def test_duration_is_the_sum_of_its_parts(items: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in items)
    total = sum(n * UNITS[unit] for n, unit in items)
    if total > MAX_SECONDS:
        with pytest.raises(UsageError, match="out of range"):
            parse_duration(text)
    else:
        assert parse_duration(text) == timedelta(seconds=total)


@given(
    st.integers(0, 5_000),
    st.integers(0, 5_000),
    st.integers(0, 10**5),
    st.integers(0, 10**6),
    st.integers(0, 10**7),
)
def test_duration_wdhms_in_canonical_order(w: int, d: int, h: int, m: int, s: int) -> None:
    text = f"{w}w{d}d{h}h{m}m{s}s"
    assert parse_duration(text) == timedelta(weeks=w, days=d, hours=h, minutes=m, seconds=s)


# --- absolute times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # A date alone is midnight in the configured zone.
        ("2026-11-27", BERLIN, utc(2026, 11, 26, 23, 0)),
        ("2026-11-27", UTC, utc(2026, 11, 27, 0, 0)),
        ("2026-11-27", TOKYO, utc(2026, 11, 26, 15, 0)),
        ("2026-11-27 14:00", BERLIN, utc(2026, 11, 27, 13, 0)),
        ("2026-11-27 14:00", KOLKATA, utc(2026, 11, 27, 8, 30)),
        ("2026-11-27 14:00", LOS_ANGELES, utc(2026, 11, 27, 22, 0)),
        ("2026-07-01 12:00", BERLIN, utc(2026, 7, 1, 10, 0)),
        ("2026-11-27T14:00:05.250000", UTC, datetime(2026, 11, 27, 14, 0, 5, 250000, tzinfo=UTC)),
        # An explicit offset wins over the configured zone.
        ("2026-11-27T14:00:00+05:30", BERLIN, utc(2026, 11, 27, 8, 30)),
        ("2026-11-27T14:00:00-08:00", BERLIN, utc(2026, 11, 27, 22, 0)),
        ("2026-11-27T14:00:00+00:00", BERLIN, utc(2026, 11, 27, 14, 0)),
        ("2026-11-27T14:00:00Z", BERLIN, utc(2026, 11, 27, 14, 0)),
        ("2026-11-27T14:00:00z", TOKYO, utc(2026, 11, 27, 14, 0)),
        ("2026-11-27 14:00 UTC", TOKYO, utc(2026, 11, 27, 14, 0)),
        ("2026-11-27T23:30:00-05:00", UTC, utc(2026, 11, 28, 4, 30)),
        ("  2026-11-27T14:00:00+05:30  ", UTC, utc(2026, 11, 27, 8, 30)),
    ],
)
def test_absolute_times(text: str, tz: tzinfo, expected: datetime) -> None:
    assert parse(text, tz=tz) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Spring forward in Berlin, 2026-03-29: 02:00 CET (+01:00) becomes 03:00 CEST (+02:00), at 01:00 UTC.
        ("2026-03-28 12:00", utc(2026, 3, 28, 11, 0)),
        ("2026-03-29 00:00", utc(2026, 3, 28, 23, 0)),
        ("2026-03-29 01:59", utc(2026, 3, 29, 0, 59)),
        ("2026-03-29 03:00", utc(2026, 3, 29, 1, 0)),
        ("2026-03-29 03:30", utc(2026, 3, 29, 1, 30)),
        ("2026-03-29 12:00", utc(2026, 3, 29, 10, 0)),
        ("2026-03-30 12:00", utc(2026, 3, 30, 10, 0)),
        # 02:30 does not exist that night; like zoneinfo (PEP 495, fold=0) it is read with the offset
        # in force before the change, +01:00, which is the same instant as 03:30 CEST.
        ("2026-03-29 02:30", utc(2026, 3, 29, 1, 30)),
        # Fall back, 2026-10-25: 03:00 CEST (+02:00) becomes 02:00 CET (+01:00), at 01:00 UTC.
        ("2026-10-24 12:00", utc(2026, 10, 24, 10, 0)),
        ("2026-10-25 00:00", utc(2026, 10, 24, 22, 0)),
        ("2026-10-25 01:30", utc(2026, 10, 24, 23, 30)),
        ("2026-10-25 03:30", utc(2026, 10, 25, 2, 30)),
        ("2026-10-25 12:00", utc(2026, 10, 25, 11, 0)),
        ("2026-10-26 12:00", utc(2026, 10, 26, 11, 0)),
        # 02:30 happens twice that night; fold=0 picks the first, still in summer time.
        ("2026-10-25 02:30", utc(2026, 10, 25, 0, 30)),
    ],
)
def test_naive_times_in_berlin_across_dst(text: str, expected: datetime) -> None:
    assert parse(text, tz=BERLIN) == expected


def test_noon_to_noon_across_dst_is_not_24_hours() -> None:
    # The wall clock, not a fixed offset, decides: the spring day is 23 hours long, the autumn day 25.
    assert parse("2026-03-29 12:00") - parse("2026-03-28 12:00") == timedelta(hours=23)
    assert parse("2026-10-25 12:00") - parse("2026-10-24 12:00") == timedelta(hours=25)
    assert parse("2026-03-29 12:00", tz=UTC) - parse("2026-03-28 12:00", tz=UTC) == timedelta(hours=24)


def test_time_of_day_alone_is_on_the_callers_today_in_the_configured_zone() -> None:
    # Regression: the missing date was taken from the machine's clock (dateutil's default),
    # not from `now` in the configured zone.
    # 2031-06-15 23:30 UTC is already 2031-06-16 01:30 in Berlin.
    now = utc(2031, 6, 15, 23, 30)
    assert parse("14:00", now=now, tz=BERLIN) == utc(2031, 6, 16, 12, 0)
    assert parse("14:00", now=now, tz=UTC) == utc(2031, 6, 15, 14, 0)
    assert parse("14:00", now=now, tz=LOS_ANGELES) == utc(2031, 6, 15, 21, 0)
    # Only the day of the month: the rest comes from now, too.
    assert parse("1", now=now, tz=UTC) == utc(2031, 6, 1, 0, 0)


@pytest.mark.parametrize(
    "text",
    [
        "not a time",
        "31/31/2026",
        "2026-13-01",
        "2026-02-30",
        "2026-11-27 25:00",
        "yesterdayish",
        "3 fortnights",
        "in two hours",
        "+",
        "+2",
        "+2x",
        "+ 2h",
        "99999999999999999999",
    ],
)
def test_garbage_is_a_usage_error_with_a_helpful_message(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_time(text, now=NOW, tz=BERLIN)
    message = info.value.message
    assert repr(text.strip()) in message
    # It says what would have worked.
    assert "2026-11-27" in message
    assert "3d" in message
    assert "+2h" in message
    assert "yesterday" in message


@pytest.mark.parametrize("text", ["2026-11-27 14:00 EST", "2026-11-27 14:00 XYZ", "2026-11-27T14:00 PDT"])
def test_unknown_zone_names_are_refused_not_ignored(text: str) -> None:
    # Regression: dateutil only warns about a zone name it does not know and returns a naive
    # time, which was then read in the configured zone: hours off, silently.
    with pytest.raises(UsageError) as info:
        parse_time(text, now=NOW, tz=BERLIN)
    assert repr(text) in info.value.message
    assert "offset" in info.value.message


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_absolute_times_outside_the_datetime_range_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="out of range"):
        parse_time(text, now=NOW, tz=UTC)


@pytest.mark.parametrize("text", ["", " ", "\t\n"])
def test_empty_time_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="empty time"):
        parse_time(text, now=NOW, tz=BERLIN)


# --- relative and named times ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        (" Now ", NOW),
        ("90m", NOW - timedelta(minutes=90)),
        ("2h", NOW - timedelta(hours=2)),
        ("3d", NOW - timedelta(days=3)),
        ("1w2d", NOW - timedelta(days=9)),
        ("0s", NOW),
        ("+2h", NOW + timedelta(hours=2)),
        ("+1w2d", NOW + timedelta(days=9)),
        ("+90M", NOW + timedelta(minutes=90)),
    ],
)
def test_relative_times(text: str, expected: datetime) -> None:
    assert parse(text) == expected


def test_relative_times_reject_huge_durations() -> None:
    with pytest.raises(UsageError, match="out of range"):
        parse_time("99999w", now=NOW, tz=BERLIN)
    with pytest.raises(UsageError, match="out of range"):
        parse_time("+99999w", now=NOW, tz=BERLIN)


def test_now_keeps_the_instant_of_a_non_utc_clock() -> None:
    now = datetime(2026, 11, 27, 14, 0, 30, 123, tzinfo=KOLKATA)
    assert parse("now", now=now) == utc(2026, 11, 27, 8, 30, 30, 123)


def test_durations_are_elapsed_time_even_when_now_is_in_a_zone_with_dst() -> None:
    # Regression: arithmetic on a zoneinfo-aware `now` is wall-clock arithmetic, so across the
    # spring-forward night "+2h" was only one real hour away.
    before_change = datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)  # 00:30 UTC
    assert parse("+2h", now=before_change) == utc(2026, 3, 29, 2, 30)  # 04:30 CEST
    after_change = datetime(2026, 3, 29, 4, 30, tzinfo=BERLIN)  # 02:30 UTC
    assert parse("2h", now=after_change) == utc(2026, 3, 29, 0, 30)  # 01:30 CET
    noon_cest = datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)  # 10:00 UTC
    assert parse("1d", now=noon_cest) == utc(2026, 3, 28, 10, 0)
    autumn = datetime(2026, 10, 25, 1, 30, tzinfo=BERLIN)  # 23:30 UTC the day before
    assert parse("+2h", now=autumn) == utc(2026, 10, 25, 1, 30)


@pytest.mark.parametrize(
    ("now", "tz", "today", "yesterday", "tomorrow"),
    [
        # 20:00 UTC is already 05:00 the next morning in Tokyo.
        (utc(2026, 11, 27, 20, 0), TOKYO, utc(2026, 11, 27, 15, 0), utc(2026, 11, 26, 15, 0), utc(2026, 11, 28, 15, 0)),
        # 03:00 UTC is still the evening before in Los Angeles (PST, -08:00).
        (
            utc(2026, 11, 28, 3, 0),
            LOS_ANGELES,
            utc(2026, 11, 27, 8, 0),
            utc(2026, 11, 26, 8, 0),
            utc(2026, 11, 28, 8, 0),
        ),
        # The same instant as the Tokyo case, given on a clock in another zone: only the instant counts.
        (
            datetime(2026, 11, 27, 12, 0, tzinfo=LOS_ANGELES),
            TOKYO,
            utc(2026, 11, 27, 15, 0),
            utc(2026, 11, 26, 15, 0),
            utc(2026, 11, 28, 15, 0),
        ),
        # Berlin on the spring-forward day: today began at 00:00 CET, yesterday too; tomorrow in CEST.
        (
            datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN),
            BERLIN,
            utc(2026, 3, 28, 23, 0),
            utc(2026, 3, 27, 23, 0),
            utc(2026, 3, 29, 22, 0),
        ),
        # Berlin on the fall-back day: today began at 00:00 CEST, tomorrow begins at 00:00 CET.
        (
            datetime(2026, 10, 25, 12, 0, tzinfo=BERLIN),
            BERLIN,
            utc(2026, 10, 24, 22, 0),
            utc(2026, 10, 23, 22, 0),
            utc(2026, 10, 25, 23, 0),
        ),
        # Just after local midnight in Kolkata (+05:30), while UTC is still on the previous day.
        (utc(2026, 1, 1, 18, 31), KOLKATA, utc(2026, 1, 1, 18, 30), utc(2025, 12, 31, 18, 30), utc(2026, 1, 2, 18, 30)),
    ],
)
def test_today_yesterday_tomorrow(
    now: datetime, tz: tzinfo, today: datetime, yesterday: datetime, tomorrow: datetime
) -> None:
    assert parse("today", now=now, tz=tz) == today
    assert parse("Yesterday", now=now, tz=tz) == yesterday
    assert parse(" TOMORROW ", now=now, tz=tz) == tomorrow


def test_yesterday_is_23_hours_before_today_on_the_day_after_spring_forward() -> None:
    now = datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN)
    assert parse("today", now=now) - parse("yesterday", now=now) == timedelta(hours=23)


# --- zones -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "", "local"])
def test_local_zone_defaults_to_the_machine_zone(name: str | None) -> None:
    zone = local_zone(name)
    assert isinstance(zone, tzinfo)
    probe = datetime(2026, 11, 27, 14, 0)
    assert probe.replace(tzinfo=zone).utcoffset() == probe.astimezone().utcoffset()
    # And it is usable as the zone of naive input.
    expected = probe.astimezone().astimezone(UTC)
    assert parse_time("2026-11-27 14:00", now=NOW, tz=zone) == expected


def test_local_zone_by_name() -> None:
    assert local_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert local_zone("UTC").utcoffset(datetime(2026, 1, 1)) == timedelta(0)


@pytest.mark.parametrize("name", ["Mars/Base", "Europe/Atlantis", "../../etc/passwd", "/etc/localtime", "Not A Zone"])
def test_local_zone_unknown_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError) as info:
        local_zone(name)
    assert info.value.message == f"unknown time zone {name!r}"


# --- properties ------------------------------------------------------------------------------

durations = st.builds(
    lambda n, unit: f"{n}{unit}",
    st.integers(0, 10**4),  # 10,000 weeks is within the 200-year limit
    st.sampled_from(sorted(UNITS)),
) | st.lists(st.tuples(st.integers(0, 999), st.sampled_from(sorted(UNITS))), min_size=1, max_size=5).map(
    lambda items: "".join(f"{n}{unit}" for n, unit in items)
)
# A clock reads a real instant: built in UTC and shown in any zone (never a wall time in a DST gap).
clocks = st.builds(
    lambda moment, zone: moment.replace(tzinfo=UTC).astimezone(zone),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.timezones() | st.just(UTC),
)
zones = st.timezones()


@given(durations, clocks, zones)
def test_relative_times_are_exactly_the_duration_away(duration: str, now: datetime, tz: tzinfo) -> None:
    expected = parse_duration(duration)
    ahead = parse_time("+" + duration, now=now, tz=tz)
    ago = parse_time(duration, now=now, tz=tz)
    assert ahead - now == expected
    assert now - ago == expected
    assert ahead.tzinfo is UTC
    assert ago.tzinfo is UTC


@given(clocks, zones)
def test_named_times_are_local_midnights_around_now(now: datetime, tz: tzinfo) -> None:
    today = parse_time("today", now=now, tz=tz)
    yesterday = parse_time("yesterday", now=now, tz=tz)
    tomorrow = parse_time("tomorrow", now=now, tz=tz)
    assert parse_time("now", now=now, tz=tz) == now
    assert today.tzinfo is UTC
    assert yesterday < today <= now < tomorrow
    # today is the first instant of now's local date: the instant before it is on the previous date.
    local_day = now.astimezone(tz).date()
    assert today.astimezone(tz).date() == local_day
    assert (today - timedelta(microseconds=1)).astimezone(tz).date() == local_day - timedelta(days=1)
    assert (tomorrow - timedelta(microseconds=1)).astimezone(tz).date() == local_day
    assert yesterday.astimezone(tz).date() == local_day - timedelta(days=1)
    assert tomorrow.astimezone(tz).date() == local_day + timedelta(days=1)


def _minute_offsets() -> st.SearchStrategy[tzinfo]:
    return st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.one_of(_minute_offsets(), st.timezones(), st.just(UTC)),
    ),
    zones,
)
def test_isoformat_round_trips_to_the_same_instant(moment: datetime, tz: tzinfo) -> None:
    # ISO 8601 offsets are whole minutes; zoneinfo's local mean times (e.g. +00:19:32 in
    # Amsterdam before 1937) would print seconds, which no ISO parser is asked to read.
    assume(moment.utcoffset() % timedelta(minutes=1) == timedelta(0))
    result = parse_time(moment.isoformat(), now=NOW, tz=tz)
    # Compared in UTC: PEP 495 makes an inter-zone == False for a time in a DST fold.
    assert result == moment.astimezone(UTC)
    assert result.tzinfo is UTC


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)), zones)
@example(datetime(1999, 10, 31, 3, 0), ZoneInfo("Europe/Simferopol"))  # a repeated hour: the first is read
def test_naive_isoformat_is_read_in_the_configured_zone(moment: datetime, tz: tzinfo) -> None:
    result = parse_time(moment.isoformat(), now=NOW, tz=tz)
    # Compared in UTC: PEP 495 makes an inter-zone == False for a time in a DST fold.
    assert result == moment.replace(tzinfo=tz).astimezone(UTC)
    assert result.tzinfo is UTC


@given(st.text(max_size=40), clocks, zones)
def test_any_text_gives_utc_or_a_usage_error(text: str, now: datetime, tz: tzinfo) -> None:
    try:
        result = parse_time(text, now=now, tz=tz)
    except UsageError:
        return  # any other exception fails the test
    assert result.tzinfo is UTC


# --- the ISO 8601 fast path ----------------------------------------------------------------------


def dateutil_reference(text: str, tz: tzinfo) -> datetime | type[UsageError]:
    """What parse_time gave before the fast path: dateutil for every absolute time."""
    from dateutil import parser

    default = NOW.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    try:
        parsed = parser.parse(text, default=default)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return UsageError


def parsed_or_error(text: str, tz: tzinfo) -> datetime | type[UsageError]:
    try:
        return parse_time(text, now=NOW, tz=tz)
    except UsageError:
        return UsageError


@st.composite
def iso_texts(draw: st.DrawFn) -> str:
    """ISO 8601 times as exports and feeds write them, with out-of-range fields now and then."""
    text = f"{draw(st.integers(0, 9999)):04d}-{draw(st.integers(0, 13)):02d}-{draw(st.integers(0, 32)):02d}"
    if draw(st.booleans()):
        text += draw(st.sampled_from("T ")) + f"{draw(st.integers(0, 25)):02d}:{draw(st.integers(0, 60)):02d}"
        if draw(st.booleans()):
            text += f":{draw(st.integers(0, 60)):02d}"
            if draw(st.booleans()):
                text += "." + draw(st.text("0123456789", min_size=1, max_size=6))
        text += draw(
            st.one_of(
                st.just(""),
                st.just("Z"),
                st.builds(
                    lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
                    st.sampled_from("+-"),
                    st.integers(0, 24),
                    st.integers(0, 59),
                ),
            )
        )
    return text


@given(iso_texts(), st.sampled_from([UTC, BERLIN, KOLKATA, LOS_ANGELES]))
@example("2026-11-27T14:00:00.123456Z", UTC)
@example("2026-11-27 14:00+05:30", BERLIN)
@example("2026-03-29T02:30", BERLIN)  # a wall time that does not exist there
@example("0001-01-01T00:00+01:00", UTC)  # out of range once in UTC
@example("2026-02-30", UTC)  # fromisoformat refuses: dateutil decides
def test_iso_fast_path_equals_dateutil(text: str, tz: tzinfo) -> None:
    assert parsed_or_error(text, tz) == dateutil_reference(text, tz)


def test_iso_fast_path_skips_dateutil(monkeypatch: pytest.MonkeyPatch) -> None:
    from dateutil import parser

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("dateutil called for an ISO time")

    monkeypatch.setattr(parser, "parse", refuse)
    assert parse("2026-11-27T14:00:00Z") == utc(2026, 11, 27, 14, 0)
    assert parse(" 2026-11-27T14:00Z ") == utc(2026, 11, 27, 14, 0)  # blanks around: stripped, then the fast path
    assert parse("2026-11-27") == utc(2026, 11, 26, 23, 0)


def test_iso_fast_path_reads_a_final_z_itself() -> None:
    """Python 3.10's fromisoformat refuses ``Z``: the fast path spells it out, not leaving it to dateutil."""
    from tktctl.core.timeparse import _parse_iso

    assert _parse_iso("2026-11-27T14:00:00.5Z") == datetime(2026, 11, 27, 14, 0, 0, 500000, tzinfo=UTC)
    assert _parse_iso("2026-13-01T00:00Z") is None  # refused: dateutil decides
