"""Streamed reads past several batches, with other queries between the batches, on every backend.

PyMySQL discards the rest of an unbuffered result when another query runs on its connection:
a list of 2,500 tickets printed 1,000. Small batches here make every read cross many of them.
"""

from __future__ import annotations

import io
import json
import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text

from tests.conftest import Cli
from tktctl.api import Desk, TicketFilter
from tktctl.core.stream import stream
from tktctl.db.models import Agent, History, Ticket
from tktctl.formats import render
from tktctl.formats.kinds import TICKET, Kind
from tktctl.text import printable

TICKETS = 23
BATCH = 4


def _tickets(desk: Desk, count: int = TICKETS) -> list[str]:
    desk.queues.create("Bulk")
    desk.fields.create("env", type="text")
    records = [
        (i, {"title": f"t{i}", "queue": "Bulk", "priority": i % 5 + 1, "fields": {"env": f"e{i}"}})
        for i in range(count)
    ]
    desk.transfer.import_tickets(records)
    return [t["tn"] for t in desk.tickets.list(TicketFilter(queue="Bulk"))]


def test_stream_yields_every_row_in_batches_while_other_queries_run(desk: Desk) -> None:
    _tickets(desk)
    with desk.read() as unit:
        seen: list[int] = []
        sizes: list[int] = []
        for part in stream(unit, select(Ticket.id).order_by(Ticket.id), batch=BATCH):
            sizes.append(len(part))
            seen += [row.id for row in part]
            assert unit.session.scalar(select(func.count()).select_from(Agent)) >= 1  # another query mid-stream
        assert seen == sorted(seen) and len(seen) == unit.session.scalar(select(func.count()).select_from(Ticket))
    assert max(sizes) == BATCH and len(sizes) >= TICKETS // BATCH


def test_ticket_list_streams_every_ticket_with_fields_and_sort(desk: Desk) -> None:
    _tickets(desk)
    listed = list(desk.tickets.list(TicketFilter(queue="Bulk"), sort="-priority", batch=BATCH))
    assert len(listed) == TICKETS
    assert {t["title"]: t["fields"] for t in listed} == {f"t{i}": {"env": f"e{i}"} for i in range(TICKETS)}
    keys = [(-t["priority"], t["id"]) for t in listed]
    assert keys == sorted(keys)
    assert all(tuple(t) == TICKET.keys for t in listed)  # the contract's order: rendered without a copy


def test_ticket_history_streams_past_several_batches(desk: Desk) -> None:
    tn = _tickets(desk, 1)[0]
    for step in range(10):
        desk.tickets.prioritize([tn], to=(3, 4, 5, 2, 1)[step % 5])
        desk.tickets.note([tn], body=f"note {step}")
    entries = list(desk.tickets.history_stream(tn, batch=BATCH))
    assert len(entries) > 3 * BATCH
    assert entries == desk.tickets.history(tn)
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    with desk.read() as unit:
        stored = unit.session.scalar(select(func.count()).select_from(History).join(Ticket).where(Ticket.tn == tn))
    assert len(entries) == stored


def test_export_streams_every_complete_ticket(desk: Desk) -> None:
    tns = _tickets(desk)
    exported = list(desk.transfer.export_tickets(TicketFilter(queue="Bulk"), batch=BATCH))
    assert sorted(t["tn"] for t in exported) == sorted(tns)
    assert all(t["history"] and t["history"][0]["type"] == "NewTicket" for t in exported)
    assert {t["title"]: t["fields"] for t in exported} == {f"t{i}": {"env": f"e{i}"} for i in range(TICKETS)}


def test_audit_list_streams_past_several_batches(desk: Desk) -> None:
    for n in range(3 * BATCH + 1):
        desk.groups.create(f"g{n}")
    entries = list(desk.audit.list(objects=["group"], batch=BATCH))
    assert [e["name"] for e in entries] == [f"g{n}" for n in range(3 * BATCH + 1)]


def test_ticket_history_cli_streams_and_fails_before_output(cli: Cli) -> None:
    tn = cli("ticket", "create", "--title", "t", "-q").stdout.strip()
    for priority in (4, 5, 1):
        cli("ticket", "prioritize", tn, "--to", str(priority))
    lines = cli("ticket", "history", tn, "-o", "jsonl").stdout.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["NewTicket", *["PriorityUpdate"] * 3]
    assert cli("ticket", "history", "2000010110000001", "-o", "jsonl", expect=3).stdout == ""


# A table cannot stream (its widths come from every row): it is written without tabulate's copies,
# and must stay what tabulate wrote.

cell_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.text(string.ascii_lowercase + "_", min_size=1, max_size=10), min_size=1, max_size=4, unique=True),
    data=st.data(),
)
def test_table_is_tabulates_simple_table(keys: list[str], data: st.DataObject) -> None:
    from tabulate import tabulate

    kind = Kind("thing", keys=tuple(keys), id_key=keys[0], table_keys=tuple(keys))
    records = data.draw(st.lists(st.fixed_dictionaries({k: cell_text for k in keys}), min_size=1, max_size=6))
    out = io.StringIO()
    render(records, kind=kind, fmt="table", out=out)
    cells = [[printable(r[k]) for k in keys] for r in records]
    assert out.getvalue() == tabulate(cells, headers=keys, tablefmt="simple", disable_numparse=True) + "\n"


def test_stream_refuses_a_write_unit_before_reading(desk: Desk) -> None:
    """On MySQL a stream reads on a connection of its own, blind to the unit's uncommitted writes:
    every backend refuses a write unit, so that a misuse fails here on SQLite too."""
    _tickets(desk, 1)
    with desk.write() as unit, pytest.raises(RuntimeError, match="read unit"):
        stream(unit, select(Ticket.id))
    with desk.read() as unit:
        assert [len(part) for part in stream(unit, select(Ticket.id))] == [1]


@pytest.mark.backends("mysql")
def test_a_stream_survives_a_reader_slower_than_the_servers_write_timeout(db_url: str) -> None:
    """MariaDB drops a connection it cannot write to for net_write_timeout: a reader that paused (a
    pager, a busy machine) lost `ticket export` of a million tickets after 139,500 records. Here the
    server's default is 1 s and the reader pauses 3 s with megabytes of the result still unsent. (The
    server's global default is changed for a few seconds: CI runs the tests one at a time.)"""
    desk = Desk(db_url)
    _tickets(desk, 1)
    columns = [c.name for c in Ticket.__table__.columns if c.name not in ("id", "tn", "title")]
    rows = 40_000
    admin = create_engine(db_url)
    try:
        with admin.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO ticket (tn, title, {', '.join(columns)})"
                    f" SELECT CONCAT('9', LPAD(seq, 15, '0')), REPEAT('x', 250), {', '.join(columns)}"
                    f" FROM ticket, seq_1_to_{rows}"
                )
            )
        with admin.connect() as conn:
            # 1 s is this test's own (a run killed before its `finally` left it): give the default back.
            before = max(60, int(conn.exec_driver_sql("SELECT @@GLOBAL.net_write_timeout").scalar()))
            conn.exec_driver_sql("SET GLOBAL net_write_timeout = 1")
        try:
            reader = Desk(db_url)  # connections made now start from the 1 s default
            with reader.read() as unit:
                seen = 0
                for part in stream(unit, select(Ticket).order_by(Ticket.id), batch=500):
                    if not seen:
                        time.sleep(3)
                    seen += len(part)
            reader.close()
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"SET GLOBAL net_write_timeout = {int(before)}")
        assert seen == rows + 1
    finally:
        admin.dispose()
        desk.close()


@pytest.mark.backends("mysql")
def test_the_stream_timeout_keeps_an_init_command_given_in_the_url(db_url: str) -> None:
    """The day-long write timeout is a statement of tktctl's own: a URL's ``init_command`` still runs."""
    from sqlalchemy.engine import make_url

    from tktctl.db.engine import STREAM_WRITE_TIMEOUT_S

    url = make_url(db_url).update_query_dict({"init_command": "SET @tktctl_probe = 7"})
    desk = Desk(url.render_as_string(hide_password=False))
    try:
        with desk.read() as unit:
            probe, timeout = unit.connection.exec_driver_sql("SELECT @tktctl_probe, @@SESSION.net_write_timeout").one()
    finally:
        desk.close()
    assert (probe, timeout) == (7, STREAM_WRITE_TIMEOUT_S)
