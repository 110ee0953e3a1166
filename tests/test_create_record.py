"""`ticket create` returns the record it wrote without reading it back: the record the read gives, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, text

from tktctl.api import Desk
from tktctl.db.models import Ticket
from tktctl.tickets import records
from tktctl.tickets.records import tickets_by_id


@pytest.fixture
def bob(desk: Desk) -> Desk:
    desk.agents.create("bob", name="Bob Ruiz", email="bob@example.com")
    desk.acl.grant("rw", group="users", agent="bob")
    return desk


def read_back(desk: Desk, record: dict[str, Any]) -> dict[str, Any]:
    with desk.read() as unit:
        return {**tickets_by_id(unit, [record["id"]])[0], "created_now": True}


CASES: list[dict[str, Any]] = [
    {"title": "plain"},
    {"title": "with a body", "body": "text"},
    {"title": "  spaced, ünïcode ✓  ", "customer": "c@example.com", "priority": 5, "channel": "internal"},
    {"title": "named", "owner": "bob", "responsible": "bob", "type": "Incident", "priority": "very low"},
    {"title": "pending", "state": "pending reminder", "pending_until": "2031-05-06 07:08:09"},
    {"title": "keyed", "external_id": "ext-1", "queue": "Junk"},
]


@pytest.mark.parametrize("values", CASES, ids=[c["title"].strip() for c in CASES])
def test_created_record_is_the_record_read_back(desk: Desk, bob: Desk, values: dict[str, Any]) -> None:
    desk.types.create("Incident")
    record = desk.tickets.create(**values)
    assert record == read_back(desk, record)


@pytest.fixture
def added_column(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """ticket_select() with the columns the test appends to the list after its own (the statements
    built from it are built again, and again after the test)."""
    added: list[Any] = []
    select = records.ticket_select
    monkeypatch.setattr(records, "ticket_select", lambda: select().add_columns(*added))
    built = (records._inserted_row, records._tickets_by_id)
    for statement in built:
        statement.cache_clear()
    yield added
    for statement in built:
        statement.cache_clear()


def test_a_column_added_to_ticket_select_is_in_the_created_record_or_fails_the_create(
    desk: Desk, added_column: list[Any]
) -> None:
    """The created record is made by ticket_select()'s column names: one the create wrote comes as read,
    one it does not know fails the create, never a record without it."""
    added_column.append(Ticket.owner_id)
    record = desk.tickets.create(title="owned")
    assert record == read_back(desk, record) and isinstance(record["owner_id"], int)
    added_column.append(Ticket.created_by)
    records._inserted_row.cache_clear()
    with pytest.raises(KeyError, match="created_by"):
        desk.tickets.create(title="unknown column")
    assert [t["title"] for t in desk.tickets.list()] == ["owned"]


def test_clock_in_another_zone_or_naive_gives_utc_as_read(db_url: str, desk: Desk) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=5)))
    for clock in (lambda: moment, lambda: moment.astimezone(timezone.utc).replace(tzinfo=None)):
        other = Desk(db_url, clock=clock)
        record = other.tickets.create(title="clock", state="pending auto close+", pending_until=moment)
        assert record == read_back(other, record)
        assert record["created"] == moment and record["created"].tzinfo == timezone.utc
        other.close()


def test_priority_names_are_the_desks(desk: Desk) -> None:
    desk.tickets.create(title="before")  # the names kept by the process's configuration cache
    with desk.write() as unit:
        unit.session.execute(text("UPDATE ticket_priority SET name = 'urgent!' WHERE id = 5"))
    record = desk.tickets.create(title="after", priority=5)
    assert record["priority_name"] == "urgent!" == read_back(desk, record)["priority_name"]


def test_create_reads_no_ticket_back(desk: Desk) -> None:
    desk.tickets.create(title="warm")
    statements: list[str] = []
    event.listen(desk.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    desk.tickets.create(title="counted", body="b")
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "ticket_state" in s]
    assert reads == []


def test_a_create_with_deadlines_reads_them_back(db_url: str, desk: Desk) -> None:
    desk.queues.create("Tier 1", first_response_time=60)
    still = Desk(db_url, clock=lambda: datetime(2030, 1, 2, 10, 0, tzinfo=timezone.utc))  # minutes left stay
    record = still.tickets.create(title="sla", queue="Tier 1")
    assert record["escalation"] is not None and record == read_back(still, record)
    closed = still.tickets.create(title="closed", state="closed successful")
    assert closed == read_back(still, closed)
    still.close()


def test_a_number_a_ticket_holds_is_passed_over(db_url: str, desk: Desk) -> None:
    """SQLite and PostgreSQL let the unique key settle it (the INSERT skips the row), MariaDB asks first:
    either way the create takes the next number, and the counter never hands out a held one."""
    from tktctl.tickets.numbering import format_number

    day = Desk(db_url, clock=lambda: datetime(2030, 1, 2, 10, 0, tzinfo=timezone.utc))
    first = day.tickets.create(title="first")
    with day.write() as unit:
        counter = unit.session.execute(text("SELECT value FROM ticket_number_counter")).scalar_one()
        number = [format_number("DateChecksum", "10", "20300102", counter + n) for n in range(4)]
        assert first["tn"] == number[0]
        unit.session.execute(text("UPDATE ticket SET tn = :tn WHERE id = :id"), {"tn": number[1], "id": first["id"]})
    assert [day.tickets.create(title=t)["tn"] for t in ("second", "third")] == number[2:]
    assert day.tickets.show(number[1])["title"] == "first"
    day.close()
