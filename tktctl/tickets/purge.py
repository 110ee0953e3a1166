"""`ticket delete`: tickets and everything that refers to them, as Znuny's Maint::Ticket::Delete.

The only way data leaves the desk. What goes is found from the foreign keys, not from a list: every
table whose rows refer to a ticket (articles, history, outbox, notifications, and whatever later
tables refer to tickets) and, in turn, every table referring to those rows (attachments, raw
messages), deepest first, each one DELETE … WHERE key IN (SELECT …) per clause set. A reference
from another ticket (the ticket table itself) is set to NULL: deleting a ticket never deletes
another. Needs ``rw``; locks do not hold a delete back (as in Znuny). One audit entry per
transaction names the agent, the time, the ticket numbers and how many articles went; it is not a
ticket's row, so it survives them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, Table, delete, func, select, update

from tktctl.access import audit, permissions
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.db.models import Article, Base, Queue, Ticket
from tktctl.errors import PartialFailure, TktctlError
from tktctl.text import plural
from tktctl.tickets.changes import Selected
from tktctl.tickets.guards import require, select_visible
from tktctl.tickets.selection import TicketFilter, filter_clauses
from tktctl.tickets.verbs import BulkResult

if TYPE_CHECKING:
    from tktctl.core.unit import Unit
    from tktctl.tickets.selection import Selection
    from tktctl.tickets.verbs import Tickets

# The ticket numbers an audit entry lists at most (the count is always exact).
AUDIT_NUMBERS = 100_000


class Purge:
    """Deleting tickets, on the selection of :class:`~tktctl.tickets.verbs.Tickets`."""

    def __init__(self, tickets: Tickets) -> None:
        self.tickets = tickets

    def delete(
        self,
        selection: Selection,
        *,
        dry_run: bool = False,
        continue_on_error: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> BulkResult:
        """Delete the tickets: atomically (one transaction), or with ``continue_on_error`` one each.

        Yields the tickets as they were (``id``, ``tn``, ``title``, ``queue``, ``articles``); with
        ``continue_on_error`` one outcome per ticket, raising PartialFailure when any failed.
        """
        store = self.tickets.store
        if not continue_on_error:
            with store.write(dry_run=dry_run) as unit:
                records = purge(unit, select_visible(unit, selection))
            if progress is not None:
                progress(len(records))
            return BulkResult(records, len(records), len(records))
        outcomes: list[Record] = []
        for tn in self.tickets._numbers(selection):
            try:
                with store.write(dry_run=dry_run) as unit:
                    (record,) = purge(unit, select_visible(unit, [tn]))
                outcomes.append({"tn": tn, "ok": True, "changed": True, "error": None, "ticket": record})
            except TktctlError as exc:
                outcomes.append(
                    {"tn": tn, "ok": False, "changed": False, "error": exc.to_dict()["error"], "ticket": None}
                )
            if progress is not None:
                progress(1)
        failed = sum(not o["ok"] for o in outcomes)
        if failed:
            raise PartialFailure(f"{failed} of {plural(len(outcomes), 'ticket')} failed", outcomes)
        return BulkResult(outcomes, len(outcomes), len(outcomes))

    def preview(self, selection: Selection) -> tuple[int, int]:
        """How many tickets (that the agent may see) and articles a delete would remove, for the question."""
        with self.tickets.store.read() as unit:
            sel = _visible_unlocked(unit, selection)
            tickets = articles = 0
            for where in sel.parts:
                ids = select(Ticket.id).where(*where)
                tickets += unit.session.scalar(select(func.count()).select_from(ids.subquery())) or 0
                articles += unit.session.scalar(select(func.count(Article.id)).where(Article.ticket_id.in_(ids))) or 0
            return tickets, articles


def _visible_unlocked(unit: Unit, selection: Selection) -> Selected:
    """The selection without row locks (a read transaction), for counting."""

    if isinstance(selection, TicketFilter):
        return Selected([], [filter_clauses(unit, selection)])
    return Selected.of([r.id for r in permissions.tickets(unit, lookup.unique_refs(selection), lock=False)])


def purge(unit: Unit, sel: Selected) -> list[Record]:
    """Delete the selected (locked, visible) tickets with everything referring to them; ``rw`` needed.

    Returns the tickets as they were; writes the audit entry.
    """
    if not sel.ids:
        return []
    require(unit, "rw", sel)
    records: list[Record] = []
    for where in sel.parts:
        records += _records(unit, select(Ticket.id).where(*where))
    for where in sel.parts:
        _delete_referring(unit, Ticket.__table__, select(Ticket.id).where(*where))
        unit.session.execute(delete(Ticket).where(*where).execution_options(synchronize_session=False))
    numbers = [r["tn"] for r in records]
    articles = sum(r["articles"] for r in records)
    name = numbers[0] if len(numbers) == 1 else plural(len(numbers), "ticket")
    audit.record(
        unit,
        "delete",
        "ticket",
        name,
        count=len(numbers),
        tickets=numbers[:AUDIT_NUMBERS],
        articles=articles,
    )
    return records


def _records(unit: Unit, ids: Select[Any]) -> list[Record]:
    """The tickets about to go: number, title, queue and how many articles each has."""
    articles = (
        select(Article.ticket_id, func.count().label("n"))
        .where(Article.ticket_id.in_(ids))
        .group_by(Article.ticket_id)
        .subquery()
    )
    statement = (
        select(Ticket.id, Ticket.tn, Ticket.title, Queue.name.label("queue"), func.coalesce(articles.c.n, 0))
        .join(Queue, Queue.id == Ticket.queue_id)
        .outerjoin(articles, articles.c.ticket_id == Ticket.id)
        .where(Ticket.id.in_(ids))
        .order_by(Ticket.id)
    )
    return [
        {"id": i, "tn": tn, "title": title, "queue": queue, "articles": n}
        for i, tn, title, queue, n in unit.session.execute(statement)
    ]


def _referring(table: Table) -> Iterator[tuple[Table, ColumnElement[Any], ColumnElement[Any]]]:
    """Every (table, its column, the key of ``table`` it names) with a foreign key into ``table``."""
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table:
                yield other, fk.parent, fk.column


def _delete_referring(unit: Unit, table: Table, keys: Select[Any], depth: int = 0) -> None:
    """Delete, deepest first, every row that refers to the rows of ``table`` whose key is in ``keys``."""
    for other, column, key in _referring(table):
        named = keys if key.name == "id" else select(key).where(table.c.id.in_(keys))
        if other is Ticket.__table__:  # another ticket's reference (e.g. merged into): only cleared
            inner = named.subquery()  # a derived table: MySQL updates no table it selects from
            statement = update(other).where(column.in_(select(*inner.c))).values({column.name: None})
            unit.session.execute(statement.execution_options(synchronize_session=False))
            continue
        if depth < 4 and "id" in other.c:
            _delete_referring(unit, other, select(other.c.id).where(column.in_(named)), depth + 1)
        unit.session.execute(delete(other).where(column.in_(named)).execution_options(synchronize_session=False))
