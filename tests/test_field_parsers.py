"""The custom field value parsers (core/fieldtypes): what each type accepts, round trips, conditions."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tktctl.core import fieldtypes
from tktctl.core.fieldtypes import FieldInfo, Stored, parse_value
from tktctl.core.timeparse import parse_time
from tktctl.errors import UsageError

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
FIELDS = {
    kind: FieldInfo(1, kind.capitalize(), kind, ("a", "b c", "d") if kind in fieldtypes.CHOOSING else ())
    for kind in fieldtypes.TYPES
}


def parse(kind: str, value: object) -> list[Stored]:
    return parse_value(FIELDS[kind], value, lambda text: parse_time(text, now=NOW, tz=timezone.utc))


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_every_bigint_round_trips(number: int) -> None:
    assert parse("int", str(number)) == [Stored(str(number), number)]
    assert parse("int", number) == [Stored(str(number), number)]


@given(st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1)))
def test_numbers_out_of_range_are_refused(number: int) -> None:
    with pytest.raises(UsageError, match="accepts a whole number"):
        parse("int", str(number))


@given(st.text(max_size=30))
def test_int_accepts_exactly_signed_digits(text: str) -> None:
    stripped = text.strip()
    digits = stripped.lstrip("+-")
    ok = (
        stripped != ""
        and len(stripped) - len(digits) <= 1
        and digits.isascii()
        and digits.isdigit()
        and len(digits) <= 19
        and -(2**63) <= int(stripped) < 2**63
    )
    if text == "":
        assert parse("int", text) == []
    elif not ok:
        with pytest.raises(UsageError):
            parse("int", text)
    else:
        assert parse("int", text)[0].int == int(stripped)


@given(st.dates(min_value=date(1, 1, 1)))
def test_dates_round_trip_as_utc_midnight(day: date) -> None:
    (stored,) = parse("date", day.isoformat())
    assert stored.text == day.isoformat()
    assert stored.date == datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_datetimes_are_utc_to_the_second_and_reparse_to_themselves(moment: datetime) -> None:
    (stored,) = parse("datetime", moment.strftime("%Y-%m-%d %H:%M:%S"))
    assert stored.date == moment.replace(tzinfo=timezone.utc, microsecond=0)
    assert parse("datetime", stored.text) == [stored]


@given(st.lists(st.sampled_from(["a", "b c", "d"]), min_size=1))
def test_multiselect_keeps_each_value_once_sorted(values: list[str]) -> None:
    expected = [Stored(v) for v in sorted(set(values))]
    assert parse("multiselect", ",".join(values)) == expected
    assert parse("multiselect", values) == expected


@given(st.text(max_size=20))
def test_dropdown_accepts_only_its_values(text: str) -> None:
    if text in ("a", "b c", "d"):
        assert parse("dropdown", text) == [Stored(text)]
    elif text:
        with pytest.raises(UsageError, match="accepts one of: a, b c, d"):
            parse("dropdown", text)


@given(st.text(max_size=700))
def test_text_is_one_line_up_to_600_characters(text: str) -> None:
    bad = len(text) > 600 or any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in text)
    if not text:
        assert parse("text", text) == []
    elif bad:
        with pytest.raises(UsageError, match="field Text"):
            parse("text", text)
    else:
        assert parse("text", text) == [Stored(text)]


@pytest.mark.parametrize("word", [*fieldtypes.TRUE, *fieldtypes.FALSE, True, False, 1, 0, "YES", " No "])
def test_checkbox_words(word: object) -> None:
    truth = str(word).strip().lower() in fieldtypes.TRUE
    assert parse("checkbox", word) == ([Stored("1", 1)] if truth else [Stored("0", 0)])


@pytest.mark.parametrize("kind", fieldtypes.TYPES)
def test_empty_clears_every_type(kind: str) -> None:
    assert parse(kind, "") == [] and parse(kind, None) == []


@given(
    st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True),
    st.sampled_from(fieldtypes.OPERATORS),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zs")), max_size=20),
)
def test_conditions_split_at_the_first_operator(name: str, operator: str, value: str) -> None:
    text = f"{name}{operator}{value}"
    parsed = fieldtypes.parse_condition(text)
    assert parsed[0] == name
    # the operator read is the longest one at the end of the name; what follows is the value
    assert f"{parsed[0]}{parsed[1]}{parsed[2]}" == text.strip()


@given(st.text(max_size=30))
def test_assignments_and_conditions_never_crash(text: str) -> None:
    for function in (fieldtypes.parse_assignment, fieldtypes.parse_condition):
        with contextlib.suppress(UsageError):
            function(text)
