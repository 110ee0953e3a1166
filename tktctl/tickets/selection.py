"""Which tickets a command means: the filter flags of `ticket list` as SQL, and the sort keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam, or_

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


# The filters that select by a list of values of one ticket column (ids found by the lookups).
LISTED: dict[str, Any] = {
    "queue": Ticket.queue_id,
    "state": Ticket.state_id,
    "state_type": Ticket.state_id,
    "priority": Ticket.priority_id,
    "owner": Ticket.owner_id,
    "lock": Ticket.locked,
    "customer": Ticket.customer,
    "responsible": Ticket.responsible_id,
    "type": Ticket.type,
    "external_id": Ticket.external_id,
}
VISIBLE = "visible"  # in a shape: only the tickets the acting agent may see (its queues, or its own)


@dataclass(frozen=True)
class BoundFilter:
    """A filter resolved for one unit: its list filters' names and lengths (the ``shape``, with VISIBLE
    when the actor sees only some tickets), their ``values``, and the clauses that are not lists."""

    shape: tuple[tuple[str, int], ...]
    values: dict[str, list[Any]]
    other: list[ColumnElement[bool]]

    @property
    def params(self) -> dict[str, Any]:
        """The bound parameters of :func:`bound_clauses` (``shape``)."""
        return {f"f_{name}_{i}": value for name, values in self.values.items() for i, value in enumerate(values)}

    def clauses(self) -> list[ColumnElement[bool]]:
        """Every WHERE clause, the list filters with bound parameters (to be run with ``params``)."""
        return [*bound_clauses(self.shape), *self.other]

    def inline(self) -> list[ColumnElement[bool]]:
        """Every WHERE clause, the values inline."""
        lists = [LISTED[name].in_(values) for name, values in self.values.items() if name != VISIBLE]
        if VISIBLE not in self.values:
            return [*lists, *self.other]
        *queues, owner = self.values[VISIBLE]
        return [*lists, *self.other, permissions.visible_clause(queues, owner)]


@lru_cache(maxsize=1024)
def bound_clauses(shape: tuple[tuple[str, int], ...]) -> tuple[ColumnElement[bool], ...]:
    """The list filters of ``shape``, a bound parameter per value, built once per shape: a statement
    made of them is the same object every call, so SQLAlchemy's compiled cache finds it at once (no
    cache key computed, no expanding IN rewritten per call)."""
    clauses = []
    for name, n in shape:
        column = Ticket.queue_id if name == VISIBLE else LISTED[name]
        binds = [bindparam(f"f_{name}_{i}", type_=column.type) for i in range(n)]
        if name == VISIBLE:
            *queues, owner = binds
            clauses.append(permissions.visible_clause(queues, owner))
        else:
            clauses.append(LISTED[name].in_(binds))
    return tuple(clauses)


def bound_filter(unit: Unit, selection: TicketFilter, *, visible: bool = True) -> BoundFilter:
    """A filter resolved: unknown names are not-found errors, bad values usage errors.

    ``visible``: only the tickets the acting agent may see (a notification rule's filter is about
    the tickets alone: its recipients' permissions are checked on their own).
    """
    values = _listed(unit, selection)
    other = _other_clauses(unit, selection)
    scope = permissions.visible_scope(unit) if visible else None
    if scope is not None:
        values[VISIBLE] = [*scope[0], scope[1]]
    return BoundFilter(tuple((name, len(v)) for name, v in values.items()), values, other)


def filter_clauses(unit: Unit, selection: TicketFilter, *, visible: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter, values inline (see :func:`bound_filter`)."""
    return bound_filter(unit, selection, visible=visible).inline()


def _listed(unit: Unit, selection: TicketFilter) -> dict[str, list[Any]]:
    """The values of the list filters given, by name (queues and states from the configuration
    cache: no query per name)."""
    values: dict[str, list[Any]] = {}
    if selection.queue:
        values["queue"] = [lookup.queue_info(unit, q).id for q in selection.queue]
    if selection.state:
        values["state"] = [lookup.state(unit, s).id for s in selection.state]
    if selection.state_type:
        values["state_type"] = list(lookup.state_ids_of_types(unit, selection.state_type))
    if selection.priority:
        values["priority"] = [parse_priority(p) for p in selection.priority]
    if selection.owner:
        values["owner"] = [lookup.agent(unit, o).id for o in selection.owner]
    if selection.lock:
        locks = {choice("lock", lock, ("locked", "unlocked")) == "locked" for lock in selection.lock}
        values["lock"] = sorted(locks)
    if selection.customer:
        values["customer"] = list(selection.customer)
    # Issue 12, part A: responsible, type, external id (each index-backed).
    if selection.responsible:
        values["responsible"] = [lookup.agent(unit, a).id for a in selection.responsible]
    if selection.type:
        values["type"] = [lookup.ticket_type(unit, t, disabled_ok=True) for t in selection.type]
    if selection.external_id:
        values["external_id"] = list(selection.external_id)
    return values


def _other_clauses(unit: Unit, selection: TicketFilter) -> list[ColumnElement[bool]]:
    """The filters that are not lists of values: title, breached, text, times, links, custom fields."""
    clauses: list[ColumnElement[bool]] = []
    if selection.title:
        escaped = selection.title.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(Ticket.title.like(f"%{escaped}%", escape="\\"))
    if selection.breached is not None:
        # escalation_at: the earliest deadline of an escalating ticket (none once it is closed).
        due = Ticket.escalation_at <= unit.now
        clauses.append(due if selection.breached else or_(Ticket.escalation_at.is_(None), ~due))
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
