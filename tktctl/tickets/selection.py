"""Which tickets a command means: the filter flags of `ticket list` as SQL, and the sort keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, or_

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.core.vocabulary import (
    choice,
    parse_priority,
)
from tktctl.db.models import Queue, State, Ticket
from tktctl.errors import UsageError
from tktctl.tickets import fields as custom_fields
from tktctl.tickets.links import linked_to_clause

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


@dataclass
class BulkResult:
    """What a bulk change did: the records (tickets, or outcomes), how many matched and changed."""

    records: Iterable[Record]
    matched: int
    changed: int
    # The tickets' numbers alone, read without building their records (a filter may have matched
    # a million, and ``-q`` prints only these); None: taken from the records.
    numbers_of: Callable[[], Iterator[str]] | None = None

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def numbers(self) -> Iterator[str]:
        """The ticket numbers of the records, in their order."""
        if self.numbers_of is not None:
            return self.numbers_of()
        return (r["tn"] for r in self.records)


@dataclass(frozen=True)
class TicketFilter:
    """A selection of tickets, with the flag names of ``ticket list``; empty fields select all."""

    queue: Sequence[str] = ()
    state: Sequence[str] = ()
    state_type: Sequence[str] = ()
    priority: Sequence[str | int] = ()
    owner: Sequence[str] = ()
    lock: Sequence[str] = ()
    customer: Sequence[str] = ()
    title: str | None = None
    created_before: str | datetime | None = None
    created_after: str | datetime | None = None
    changed_before: str | datetime | None = None
    changed_after: str | datetime | None = None
    # Issue 12, part A (t12a): responsible, type, external id, pending time, escalation.
    responsible: Sequence[str] = ()
    type: Sequence[str] = ()
    external_id: Sequence[str] = ()
    pending_before: str | datetime | None = None
    pending_after: str | datetime | None = None
    escalation_before: str | datetime | None = None
    breached: bool | None = None
    # Links (issue 12): tickets linked to any of these ticket numbers.
    linked_to: Sequence[str] = ()
    # Full-text search (the query language of ``ticket search``) in titles and articles.
    text: str | None = None
    field: Sequence[str] = ()  # custom fields: NAME=VALUE, NAME>VALUE, ... (tickets/fields.condition)

    def __post_init__(self) -> None:
        """Every sequence field as a tuple: one value (``queue="Alerts"``) is one value, not its characters.

        The vocabulary fields also split comma lists (``state_type="open,new"``, contract §5);
        names (queues, agents, customers) may hold commas and are never split.
        """
        for name in (*NAME_FILTERS, *VOCABULARY_FILTERS):
            value = getattr(self, name)
            values = () if value is None else (value,) if isinstance(value, (str, int)) else tuple(value)
            if name in VOCABULARY_FILTERS:
                values = tuple(part for v in values for part in _comma_list(name, v))
            object.__setattr__(self, name, values)

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, (), "") for f in fields(self))


NAME_FILTERS = ("queue", "owner", "customer", "responsible", "type", "external_id", "linked_to", "field")
VOCABULARY_FILTERS = ("state", "state_type", "priority", "lock")


def _comma_list(name: str, value: str | int) -> Sequence[str | int]:
    """``"open, new"`` as ``["open", "new"]``; an empty item is a mistake, not "every ticket"."""
    if not isinstance(value, str):
        return [value]
    parts = [part.strip() for part in value.split(",")]
    if not all(parts):
        raise UsageError(f"--{name.replace('_', '-')}: empty item in {value!r}")
    return parts


# Tickets named by number (``-`` already read), or chosen by a filter.
Selection = Iterable[str] | TicketFilter


SORT_KEYS: dict[str, Any] = {
    "id": Ticket.id,
    "tn": Ticket.tn,
    "title": Ticket.title,
    "created": Ticket.created,
    "changed": Ticket.changed,
    "priority": Ticket.priority_id,
    "queue": Queue.name,
    "state": State.name,
    "customer": Ticket.customer,
    "pending_until": Ticket.pending_until,
}


def filter_clauses(unit: Unit, selection: TicketFilter, *, visible: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter; unknown names are not-found errors, bad values usage errors.

    ``visible``: only the tickets the acting agent may see (a notification rule's filter is about
    the tickets alone: its recipients' permissions are checked on their own).
    """
    clauses: list[ColumnElement[bool]] = []
    if selection.queue:  # from the configuration cache, as states are (no query per name)
        clauses.append(Ticket.queue_id.in_([lookup.queue_info(unit, q).id for q in selection.queue]))
    if selection.state:
        clauses.append(Ticket.state_id.in_([lookup.state(unit, s).id for s in selection.state]))
    if selection.state_type:
        clauses.append(Ticket.state_id.in_(lookup.state_ids_of_types(unit, selection.state_type)))
    if selection.priority:
        clauses.append(Ticket.priority_id.in_([parse_priority(p) for p in selection.priority]))
    if selection.owner:
        clauses.append(Ticket.owner_id.in_([lookup.agent(unit, o).id for o in selection.owner]))
    if selection.lock:
        locks = {choice("lock", lock, ("locked", "unlocked")) == "locked" for lock in selection.lock}
        clauses.append(Ticket.locked.in_(sorted(locks)))
    if selection.customer:
        clauses.append(Ticket.customer.in_(list(selection.customer)))
    if selection.title:
        escaped = selection.title.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(Ticket.title.like(f"%{escaped}%", escape="\\"))
    clauses += _more_clauses(unit, selection)
    if selection.text:
        # Imported here: the query parser and the full-text SQL cost every `ticket create` ~1% of its
        # instructions at import (this module is on its path), for a filter only a search uses.
        from tktctl.core import textquery
        from tktctl.tickets import fulltext

        clauses.append(fulltext.ticket_clause(unit, textquery.parse(selection.text)))
    for column, value, before in (
        (Ticket.created, selection.created_before, True),
        (Ticket.created, selection.created_after, False),
        (Ticket.changed, selection.changed_before, True),
        (Ticket.changed, selection.changed_after, False),
        (Ticket.pending_until, selection.pending_before, True),
        (Ticket.pending_until, selection.pending_after, False),
        (Ticket.escalation_at, selection.escalation_before, True),
    ):
        moment = unit.parse_time(value)
        if moment is not None:
            clauses.append(column < moment if before else column >= moment)
    if selection.linked_to:
        clauses.append(linked_to_clause(unit, selection.linked_to))
    clauses += [custom_fields.condition(unit, text) for text in selection.field]
    seen = permissions.visible_tickets(unit) if visible else None
    if seen is not None:
        clauses.append(seen)
    return clauses


def _more_clauses(unit: Unit, selection: TicketFilter) -> list[ColumnElement[bool]]:
    """Issue 12, part A: responsible, type, external id, breached (each index-backed)."""
    clauses: list[ColumnElement[bool]] = []
    if selection.responsible:
        clauses.append(Ticket.responsible_id.in_([lookup.agent(unit, a).id for a in selection.responsible]))
    if selection.type:
        clauses.append(Ticket.type.in_([lookup.ticket_type(unit, t, disabled_ok=True) for t in selection.type]))
    if selection.external_id:
        clauses.append(Ticket.external_id.in_(list(selection.external_id)))
    if selection.breached is not None:
        # escalation_at: the earliest deadline of an escalating ticket (none once it is closed).
        due = Ticket.escalation_at <= unit.now
        clauses.append(due if selection.breached else or_(Ticket.escalation_at.is_(None), ~due))
    return clauses


def order_by_keys(sort: str | None) -> list[Any]:
    """``-priority,created`` -> ORDER BY; the id breaks ties so pages are stable."""
    order: list[Any] = []
    for key in (sort or "id").split(","):
        key = key.strip()
        descending = key.startswith("-")
        column = SORT_KEYS.get(key.lstrip("-+"))
        if column is None:
            raise UsageError(f"cannot sort by {key!r}; sort keys: {', '.join(SORT_KEYS)} (prefix - for descending)")
        order.append(column.desc() if descending else column.asc())
    return [*order, Ticket.id.asc()]
