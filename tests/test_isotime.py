"""The time spellings done by hand for speed (tktctl.isotime, the SQLite read in records) equal the library's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from tktctl.db.bulk import _columns
from tktctl.db.models import Ticket
from tktctl.isotime import iso, sqlite_text
from tktctl.tickets.records import _conversion, time_reader

SQLITE = sqlite.dialect()
# Years 2 to 9998: a zone's offset must not carry a time out of datetime's range.
times = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.none() | st.timezones()
)


def isoformat_spelling(value: datetime) -> str:
    """What iso() spelled before: isoformat() of the UTC time, ``Z`` for ``+00:00``."""
    if value.tzinfo is None:
        return f"{value.isoformat()}Z"
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@given(times)
def test_iso_spells_what_isoformat_spells(value: datetime) -> None:
    assert iso(value) == isoformat_spelling(value)


@given(times)
def test_sqlite_text_is_what_sqlalchemy_stores(value: datetime) -> None:
    process = Ticket.__table__.c.created.type.dialect_impl(SQLITE).bind_processor(SQLITE)
    assert sqlite_text(value) == process(value)


def test_spellings_hold_past_the_day_memo() -> None:
    """More days than the memo keeps: it is emptied, not wrong."""
    start = datetime(2020, 1, 1, 0, 0, 1, 5, tzinfo=UTC)
    for n in range(0, 5000 * 86400, 86400 + 3607):
        value = start + timedelta(seconds=n)
        assert iso(value) == isoformat_spelling(value)
        assert sqlite_text(value) == value.strftime("%Y-%m-%d %H:%M:%S.%f")


@given(times, st.sampled_from(["", "Z", "+02:00", "-05:30"]), st.booleans())
def test_sqlite_time_read_is_sqlalchemys(value: datetime, suffix: str, drop_fraction: bool) -> None:
    """Stored text (SQLAlchemy's own, without a fraction, or with an offset written by hand) reads as
    SQLAlchemy reads it."""
    text = value.replace(tzinfo=None).isoformat(" ", "seconds" if drop_fraction else "microseconds") + suffix
    expected = _conversion(Ticket.created, SQLITE)(text)
    found = time_reader(SQLITE)(text)
    assert found == expected
    assert found.utcoffset() == expected.utcoffset()


@given(st.lists(st.none() | times, min_size=1, max_size=5))
def test_bulk_insert_converts_times_and_nulls_as_sqlalchemy_does(values: list[datetime | None]) -> None:
    process = Ticket.__table__.c.created.type.dialect_impl(SQLITE).bind_processor(SQLITE)
    rows = [{"pending_until": v} for v in values]
    (column,) = _columns(SQLITE, Ticket.__table__, ["pending_until"], rows, {})
    assert column == [process(v) for v in values]
