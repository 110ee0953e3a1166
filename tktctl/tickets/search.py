"""`ticket search`: tickets ranked by how well their titles and articles match a query.

The query is parsed once (core.textquery) and run by the database's own full-text engine
(tickets.fulltext, migration 0009). A ticket's score is its best document's; the filters of
``ticket list`` narrow the tickets, and a ticket the agent may not see is never found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select, union_all

from tktctl.core import textquery
from tktctl.core.record import Record
from tktctl.core.vocabulary import check_limit
from tktctl.db.models import Ticket
from tktctl.tickets import fulltext
from tktctl.tickets.records import ticket_record, ticket_select
from tktctl.tickets.selection import TicketFilter, filter_clauses

if TYPE_CHECKING:
    from tktctl.core.unit import Store

DEFAULT_LIMIT = 50


class Search:
    """Full-text search of one desk; each call is one read transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def tickets(
        self,
        query: str,
        selection: TicketFilter | None = None,
        *,
        fields: str | Sequence[str] | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[Record]:
        """The best ``limit`` tickets for ``query`` (ticket records with ``score``, best first).

        ``fields``: any of title, subject, body, from (a list, or comma-separated) [default: all].
        """
        node = textquery.parse(query)
        searched = fulltext.parse_fields(fields)
        check_limit(limit)
        with self.store.read() as unit:
            parts = fulltext.documents(unit, node, searched)
            found = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("found")
            best = (
                select(found.c.ticket_id, func.max(found.c.score).label("score"))
                .group_by(found.c.ticket_id)
                .subquery("best")
            )
            # The best tickets first (the filters need only the ticket row), then their records:
            # the joins of the record are made for ``limit`` tickets, not for every match.
            top = (
                select(Ticket.id.label("ticket_id"), best.c.score)
                .join(best, best.c.ticket_id == Ticket.id)
                .where(*filter_clauses(unit, selection or TicketFilter()))
                .order_by(best.c.score.desc(), Ticket.id)
                .limit(limit)
                .subquery("top")
            )
            statement = (
                ticket_select()
                .add_columns(top.c.score)
                .join(top, top.c.ticket_id == Ticket.id)
                .order_by(top.c.score.desc(), Ticket.id)
            )
            records = []
            for row in unit.session.execute(statement):
                record = ticket_record(row, unit)
                record["score"] = float(record["score"] or 0)
                records.append(record)
            return records
