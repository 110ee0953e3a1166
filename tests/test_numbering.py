"""Ticket numbers as OTRS makes them: the DateChecksum check digit, the three formats, the counter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from itertools import cycle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tktctl.db.models import Base, Counter, Ticket
from tktctl.errors import UsageError
from tktctl.tickets.numbering import GENERATORS, checksum, format_number, next_numbers

UTC = timezone.utc
NOV27 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def reference_checksum(digits: str) -> int:
    """The rule written out independently: weights 1, 2, 1, 2 ... from the left, 10 - sum mod 10, 10 -> 1."""
    total = sum(w * int(d) for w, d in zip(cycle((1, 2)), digits))
    check = 10 - total % 10
    return 1 if check == 10 else check


# --- checksum --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        # "": sum 0; 10 - 0 = 10 -> 1.
        ("", 1),
        # "0": sum 0 -> 10 -> 1.
        ("0", 1),
        # "5": 5*1 = 5; 10 - 5 = 5.
        ("5", 5),
        # "9": sum 9; 10 - 9 = 1. (The same check digit as a sum of 0: see the detection tests.)
        ("9", 1),
        # "12": 1*1 + 2*2 = 5; 10 - 5 = 5.
        ("12", 5),
        # "21": 2*1 + 1*2 = 4; 10 - 4 = 6. Weights differ by position, so order matters.
        ("21", 6),
        # "19": 1*1 + 9*2 = 19; 19 mod 10 = 9; 10 - 9 = 1.
        ("19", 1),
        # "91": 9*1 + 1*2 = 11; 11 mod 10 = 1; 10 - 1 = 9.
        ("91", 9),
        # "123456": 1 + 2*2 + 3 + 4*2 + 5 + 6*2 = 1 + 4 + 3 + 8 + 5 + 12 = 33; 10 - 3 = 7.
        ("123456", 7),
        # "55": 5 + 10 = 15; 10 - 5 = 5. A weight-2 digit counts 2*d, not its digit sum (not Luhn).
        ("55", 5),
        # "202611271000001" (2026-11-27, system 10, counter 1):
        #   2*1 + 0*2 + 2*1 + 6*2 + 1*1 + 1*2 + 2*1 + 7*2 + 1*1 + 0*2 + 0*1 + 0*2 + 0*1 + 0*2 + 1*1
        #   = 2 + 0 + 2 + 12 + 1 + 2 + 2 + 14 + 1 + 0 + 0 + 0 + 0 + 0 + 1 = 37; 10 - 7 = 3.
        ("202611271000001", 3),
        # "202611271012345" (counter 12345):
        #   2 + 0 + 2 + 12 + 1 + 2 + 2 + 14 + 1 + 0 + 1*1 + 2*2 + 3*1 + 4*2 + 5*1
        #   = 37 - 1 + (1 + 4 + 3 + 8 + 5) = 57; 10 - 7 = 3.
        ("202611271012345", 3),
        # "202611281000001" (the next day): the 7 -> 8 is at a weight-2 position, 37 + 2 = 39; 10 - 9 = 1.
        ("202611281000001", 1),
        # "202611271000003" (counter 3): 37 - 1 + 3 = 39; 10 - 9 = 1.
        ("202611271000003", 1),
        # "202611271000004" (counter 4): 37 - 1 + 4 = 40; 40 mod 10 = 0; 10 - 0 = 10 -> 1.
        ("202611271000004", 1),
        # "202611271000051": 37 + 5*2 (position 13, weight 2) = 47; 10 - 7 = 3.
        ("202611271000051", 3),
    ],
)
def test_checksum_hand_computed(digits: str, expected: int) -> None:
    assert checksum(digits) == expected
    assert reference_checksum(digits) == expected


@given(st.text(alphabet="0123456789", max_size=40))
def test_checksum_matches_the_rule(digits: str) -> None:
    check = checksum(digits)
    assert check == reference_checksum(digits)
    assert 1 <= check <= 9


def _substitutions(prefix: str) -> Iterator[tuple[int, str, str]]:
    for i, old in enumerate(prefix):
        for new in "0123456789":
            if new != old:
                yield i, old, new


def _detected(before: str, i: int, new: str) -> bool:
    return checksum(before) != checksum(before[:i] + new + before[i + 1 :])


@given(st.text(alphabet="0123456789", min_size=1, max_size=24))
def test_single_digit_substitutions_the_check_digit_detects(prefix: str) -> None:
    """Exactly which single-digit errors the check digit catches.

    A substitution d -> d' changes the weighted sum by w*(d' - d). The check digit depends only on
    r = sum mod 10 and is one-to-one on r = 1..9, but r = 0 and r = 9 both give 1 (10 -> 1). So:

    * at a weight-1 position r changes (d' - d is never 0 mod 10), and the error is caught unless
      r moves between 9 and 0; a weight-1 substitution is therefore NOT always detected.
    * at a weight-2 position r changes unless d' - d = +-5, and the change is even, so r never
      moves between 9 and 0: caught unless the digits differ by exactly 5.
    """
    r = sum(w * int(d) for w, d in zip(cycle((1, 2)), prefix)) % 10
    for i, old, new in _substitutions(prefix):
        weight = 1 if i % 2 == 0 else 2
        r_new = (r + weight * (int(new) - int(old))) % 10
        expected = {r, r_new} != {0, 9} if weight == 1 else abs(int(new) - int(old)) != 5
        assert _detected(prefix, i, new) == expected, (prefix, i, old, new)


def test_undetected_substitutions_exist_at_both_weights() -> None:
    # Weight 1: counter 3 sums to 39 (check 1), counter 4 to 40 (check 10 -> 1): a 3 -> 4 typo
    # in the last digit of 2026112710000031 gives 2026112710000041, which also checks out.
    assert checksum("202611271000003") == checksum("202611271000004") == 1
    # Weight 2: position 13 weighs 2, so 0 -> 5 adds 10 and leaves the sum mod 10 at 7.
    assert checksum("202611271000001") == checksum("202611271000051") == 3
    # Weight 1, residue away from 0/9: always caught, e.g. 1 -> 2 in the last digit (37 -> 38).
    assert checksum("202611271000002") == 2 != checksum("202611271000001")


@given(st.text(alphabet="0123456789", min_size=1, max_size=24))
def test_weight_one_substitutions_are_caught_when_the_sum_is_not_0_or_9_mod_10(prefix: str) -> None:
    r = sum(w * int(d) for w, d in zip(cycle((1, 2)), prefix)) % 10
    if r in (0, 9):
        return
    for i, _old, new in _substitutions(prefix):
        if i % 2 == 0:
            # r is in 1..8, so its check digit 10 - r is in 2..9; the new sum mod 10 differs from r
            # and gives either another 10 - r' or 1: never the same check digit.
            assert _detected(prefix, i, new)


# --- format_number ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generator", "system_id", "counter", "expected"),
    [
        ("DateChecksum", "10", 1, "2026112710000013"),
        ("DateChecksum", "10", 12345, "2026112710123453"),
        # 2026112710 sums to 36 (see above); 9 + 18 + 9 + 18 + 9 = 63; 99 -> 10 - 9 = 1.
        ("DateChecksum", "10", 99999, "2026112710999991"),
        # 20261127 1 00001: 2 + 0 + 2 + 12 + 1 + 2 + 2 + 14 + 1*1 + 0 + 0 + 0 + 0 + 1*2 = 38 -> 2.
        ("DateChecksum", "1", 1, "202611271000012"),
        ("Date", "10", 1, "202611271000001"),
        ("Date", "10", 12345, "202611271012345"),
        ("Date", "99", 42, "202611279900042"),
        ("AutoIncrement", "10", 1, "1000001"),
        ("AutoIncrement", "10", 123, "1000123"),
        ("AutoIncrement", "10", 9999, "1009999"),
        ("AutoIncrement", "10", 99999, "1099999"),
        ("AutoIncrement", "10", 100000, "10100000"),
        ("AutoIncrement", "10", 1234567, "101234567"),
        ("AutoIncrement", "7", 5, "700005"),
    ],
)
def test_format_number(generator: str, system_id: str, counter: int, expected: str) -> None:
    assert format_number(generator, system_id, "20261127", counter) == expected


def test_date_checksum_layout() -> None:
    tn = format_number("DateChecksum", "10", "20261127", 4711)
    assert len(tn) == 16
    assert tn[:8] == "20261127"
    assert tn[8:10] == "10"
    assert tn[10:15] == "04711"
    assert int(tn[15]) == checksum(tn[:15])
    # Date is the same without the check digit.
    assert format_number("Date", "10", "20261127", 4711) == tn[:15]


def test_autoincrement_ignores_the_day() -> None:
    assert format_number("AutoIncrement", "10", "20261127", 8) == format_number("AutoIncrement", "10", "20991231", 8)


@pytest.mark.parametrize("generator", GENERATORS)
def test_counters_beyond_five_digits_stay_distinct(generator: str) -> None:
    counters = [99_998, 99_999, 100_000, 100_001, 999_999, 1_000_000, 10_000, 1_000]
    numbers = [format_number(generator, "10", "20261127", n) for n in counters]
    assert len(set(numbers)) == len(counters)
    assert all(n.isdigit() for n in numbers)


def test_counters_beyond_five_digits_grow_the_number() -> None:
    # The counter is zero-padded to at least five digits, not cut: 100000 takes six.
    assert format_number("DateChecksum", "10", "20261127", 100_000) == "2026112710100000" + str(
        checksum("2026112710100000")
    )
    assert len(format_number("DateChecksum", "10", "20261127", 100_000)) == 17
    assert format_number("Date", "10", "20261127", 100_000) == "2026112710100000"


@pytest.mark.parametrize("generator", ["Random", "datechecksum", "", "AutoIncrement "])
def test_unknown_generator(generator: str) -> None:
    with pytest.raises(UsageError) as info:
        format_number(generator, "10", "20261127", 1)
    assert repr(generator) in info.value.message
    assert "DateChecksum, Date, AutoIncrement" in info.value.message


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2999, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))
system_ids = st.text(alphabet="0123456789", min_size=1, max_size=2)


@given(days, system_ids, st.integers(0, 10**8))
def test_date_checksum_numbers_are_digits_ending_in_their_check_digit(day: str, system_id: str, counter: int) -> None:
    tn = format_number("DateChecksum", system_id, day, counter)
    assert tn.isdigit()
    assert tn.isascii()
    prefix = f"{day}{system_id}{counter:05d}"
    assert tn == prefix + str(checksum(prefix))
    assert tn[:-1] == format_number("Date", system_id, day, counter)
    assert len(tn) == 8 + len(system_id) + max(5, len(str(counter))) + 1


@given(days, system_ids, st.lists(st.integers(0, 10**8), min_size=2, max_size=50, unique=True))
def test_distinct_counters_give_distinct_numbers(day: str, system_id: str, counters: list[int]) -> None:
    for generator in GENERATORS:
        numbers = {format_number(generator, system_id, day, n) for n in counters}
        assert len(numbers) == len(counters)


@given(days, st.integers(0, 99_999), st.data())
def test_single_digit_changes_in_a_ticket_number(day: str, counter: int, data: st.DataObject) -> None:
    tn = format_number("DateChecksum", "10", day, counter)
    prefix = tn[:-1]
    i = data.draw(st.integers(0, len(prefix) - 1), label="position")
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != prefix[i]]), label="digit")
    changed = prefix[:i] + new + prefix[i + 1 :]
    r = sum(w * int(d) for w, d in zip(cycle((1, 2)), prefix)) % 10
    diff = int(new) - int(prefix[i])
    if i % 2 == 0:  # weight 1
        r_new = (r + diff) % 10
        assert (checksum(changed) != int(tn[-1])) == ({r, r_new} != {0, 9})
    else:  # weight 2
        assert (checksum(changed) != int(tn[-1])) == (abs(diff) != 5)


# --- next_numbers against a real database ----------------------------------------------------


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Counter(name="ticket", day="", value=0))
        session.commit()
        yield session
    engine.dispose()


def counter_row(session: Session) -> tuple[str, int]:
    row = session.execute(select(Counter.day, Counter.value).where(Counter.name == "ticket")).one()
    return row.day, row.value


def test_first_numbers_of_a_fresh_counter(session: Session) -> None:
    assert next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27) == ["2026112710000013"]
    assert next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27) == ["2026112710000022"]
    assert next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27) == ["2026112710000031"]
    assert counter_row(session) == ("20261127", 3)


@pytest.mark.parametrize("generator", GENERATORS)
def test_consecutive_numbers(session: Session, generator: str) -> None:
    got = [next_numbers(session, generator=generator, system_id="10", now=NOV27)[0] for _ in range(12)]
    assert got == [format_number(generator, "10", "20261127", n) for n in range(1, 13)]
    assert len(set(got)) == 12


@pytest.mark.parametrize("generator", ["DateChecksum", "Date"])
def test_date_based_counters_restart_each_day(session: Session, generator: str) -> None:
    for _ in range(3):
        next_numbers(session, generator=generator, system_id="10", now=NOV27)
    next_day = NOV27 + timedelta(days=1)
    assert next_numbers(session, generator=generator, system_id="10", now=next_day) == [
        format_number(generator, "10", "20261128", 1)
    ]
    assert counter_row(session) == ("20261128", 1)
    assert next_numbers(session, generator=generator, system_id="10", now=next_day + timedelta(hours=5)) == [
        format_number(generator, "10", "20261128", 2)
    ]
    # Any change of day restarts, also a later one.
    assert next_numbers(session, generator=generator, system_id="10", now=NOV27 + timedelta(days=40)) == [
        format_number(generator, "10", "20270106", 1)
    ]


def test_date_checksum_next_day_number(session: Session) -> None:
    next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27)
    # 202611281000001: sum 39 (see test_checksum_hand_computed), check 1.
    assert next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27 + timedelta(days=1)) == [
        "2026112810000011"
    ]


def test_autoincrement_never_restarts(session: Session) -> None:
    assert next_numbers(session, generator="AutoIncrement", system_id="10", now=NOV27) == ["1000001"]
    assert next_numbers(session, generator="AutoIncrement", system_id="10", now=NOV27) == ["1000002"]
    assert next_numbers(session, generator="AutoIncrement", system_id="10", now=NOV27 + timedelta(days=1)) == [
        "1000003"
    ]
    assert next_numbers(session, generator="AutoIncrement", system_id="10", now=NOV27 + timedelta(days=400)) == [
        "1000004"
    ]
    # The counter's day is left alone.
    assert counter_row(session) == ("", 4)


def test_count_reserves_consecutive_numbers(session: Session) -> None:
    next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27)
    batch = next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27, count=5)
    assert batch == [format_number("DateChecksum", "10", "20261127", n) for n in range(2, 7)]
    assert counter_row(session) == ("20261127", 6)
    assert next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27) == [
        format_number("DateChecksum", "10", "20261127", 7)
    ]


def test_count_on_a_new_day_starts_at_one(session: Session) -> None:
    next_numbers(session, generator="Date", system_id="10", now=NOV27, count=7)
    batch = next_numbers(session, generator="Date", system_id="10", now=NOV27 + timedelta(days=1), count=5)
    assert batch == [f"2026112810{n:05d}" for n in range(1, 6)]
    assert counter_row(session) == ("20261128", 5)


def test_count_with_autoincrement(session: Session) -> None:
    assert next_numbers(session, generator="AutoIncrement", system_id="3", now=NOV27, count=5) == [
        "300001",
        "300002",
        "300003",
        "300004",
        "300005",
    ]


def test_numbers_belong_to_the_callers_transaction(session: Session) -> None:
    next_numbers(session, generator="Date", system_id="10", now=NOV27)
    session.commit()
    next_numbers(session, generator="Date", system_id="10", now=NOV27, count=3)
    session.rollback()
    assert next_numbers(session, generator="Date", system_id="10", now=NOV27) == ["202611271000002"]


def test_counter_past_99999(session: Session) -> None:
    session.execute(Counter.__table__.update().values(day="20261127", value=99_998))
    got = next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27, count=3)
    assert got == [
        "202611271099999" + str(checksum("202611271099999")),
        "2026112710100000" + str(checksum("2026112710100000")),
        "2026112710100001" + str(checksum("2026112710100001")),
    ]
    assert len(set(got)) == 3


def hold(session: Session, *numbers: str) -> None:
    """Tickets holding ``numbers`` (as an import from another desk leaves them)."""
    row = {"title": "t", "queue_id": 1, "state_id": 1, "priority_id": 3, "owner_id": 1, "created_by": 1}
    at = {"created": NOV27, "changed": NOV27, "changed_by": 1}
    session.execute(Ticket.__table__.insert(), [{**row, **at, "tn": n} for n in numbers])


def test_taken_numbers_are_passed_over_across_a_change_of_length(session: Session) -> None:
    """Regression: taken numbers are found by one range per length, also where the length grows."""
    session.execute(Counter.__table__.update().values(day="20261127", value=99_997))
    number = {n: format_number("DateChecksum", "10", "20261127", n) for n in range(99_998, 100_004)}
    # 99,999 and 100,001 are taken; the third is another length that sorts inside the first range.
    hold(session, number[99_999], number[100_001], number[99_998][:-1] + "55")
    got = next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27, count=4)
    assert got == [number[99_998], number[100_000], number[100_002], number[100_003]]


def test_numbers_passed_over_on_request(session: Session) -> None:
    """An import's own numbers, not written yet, are passed over like taken ones."""
    number = {n: format_number("Date", "10", "20261127", n) for n in range(1, 6)}
    got = next_numbers(
        session, generator="Date", system_id="10", now=NOV27, count=3, passing_over={number[1], number[3]}
    )
    assert got == [number[2], number[4], number[5]]


@pytest.mark.parametrize("system_id", ["", "1a", "-1", " 10", "1.0", "x", "²", "١٠", "１０"])
def test_bad_system_id(session: Session, system_id: str) -> None:
    # Regression for "²", "١٠" (Arabic-Indic) and "１０" (full width): str.isdigit() accepts them,
    # and the check digit's int() then failed with a bare ValueError, or they went into numbers.
    with pytest.raises(UsageError) as info:
        next_numbers(session, generator="DateChecksum", system_id=system_id, now=NOV27)
    assert repr(system_id) in info.value.message
    assert counter_row(session) == ("", 0)


def test_unknown_generator_in_next_numbers(session: Session) -> None:
    with pytest.raises(UsageError, match="unknown ticket number generator 'Random'"):
        next_numbers(session, generator="Random", system_id="10", now=NOV27)
    assert counter_row(session) == ("", 0)


def test_missing_counter_row() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session, pytest.raises(UsageError, match="tktctl init"):
        next_numbers(session, generator="DateChecksum", system_id="10", now=NOV27)
    engine.dispose()
