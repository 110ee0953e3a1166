"""Complete tickets for `ticket export`: each with its articles, attachments' metadata, history and links."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select

from tktctl.core.prepared import ids_in
from tktctl.core.record import Record
from tktctl.db.models import History, Queue, Ticket
from tktctl.tickets import fields as custom_fields
from tktctl.tickets.links import links_of
from tktctl.tickets.records import (
    HistoryReader,
    articles_of,
    history_select,
    raw_ticket_select,
    ticket_record,
    time_reader,
)

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


def complete_tickets(unit: Unit, ids: Sequence[int]) -> Iterator[Record]:
    """The complete records of tickets ``ids``: Core rows, times and payloads read raw and converted
    once for a repeat (records.time_reader, HistoryReader), statements built once."""
    connection = unit.session.connection()
    tickets_of, history_of = _export_statements()
    params = {"ids": list(ids)}
    time = time_reader(connection.dialect)
    # .all(): one fetch per chunk (iterating a result fetches row by row, a Python call each on psycopg)
    tickets = {row.id: ticket_record(row, None, time) for row in connection.execute(tickets_of, params).all()}
    custom_fields.add_to(unit, list(tickets.values()))
    by_ticket = articles_of(unit, ids)
    linked = links_of(unit, ids)
    history: dict[int, list[Record]] = {}
    record = HistoryReader(connection.dialect).record
    for *entry, ticket_id, queue in connection.execute(history_of, params).all():
        found = record(*entry)
        found["queue"] = queue
        history.setdefault(ticket_id, []).append(found)
    for ticket_id in ids:
        ticket = tickets[ticket_id]
        ticket["articles"] = by_ticket.get(ticket_id, [])
        ticket["history"] = history.get(ticket_id, [])
        ticket["links"] = linked.get(ticket_id, [])
        yield ticket


@cache
def _export_statements() -> tuple[Select[Any], Select[Any]]:
    """An export chunk's tickets and their history (with the queue each entry was in), ids bound per run."""
    history = (
        history_select(raw=True)
        .add_columns(History.ticket_id, Queue.name.label("queue"))
        .join(Queue, History.queue_id == Queue.id)
        .where(ids_in(History.ticket_id))
        .order_by(History.id)
    )
    return raw_ticket_select().where(ids_in(Ticket.id)), history
