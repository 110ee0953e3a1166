"""`ticket count` and `stats`: how many tickets match, and counts and time units by group.

Both read the ticket table alone: ``stats`` groups on the ids (covered by the indexes of the
common filters, see migration 0015) and names the groups after, from the few queues, states
and agents; time units are summed by a second, small query over the accounted time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select

from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.db.models import Ticket, TimeAccounting
from tktctl.errors import UsageError
from tktctl.tickets.changes import count_of
from tktctl.tickets.selection import TicketFilter, filter_clauses, named_clauses, named_in_sql

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

# Each grouping key: the ticket column grouped on.
STATS_KEYS = {
    "queue": Ticket.queue_id,
    "state": Ticket.state_id,
    "state_type": Ticket.state_id,
    "priority": Ticket.priority_id,
    "owner": Ticket.owner_id,
    "lock": Ticket.locked,
}


def count(store: Store, selection: TicketFilter | None = None) -> int:
    """How many tickets match."""
    selection = selection or TicketFilter()
    with store.read() as unit:
        rest, named, names = named_in_sql(selection)
        where = filter_clauses(unit, rest)
        statement = _counted(named, where) if where else _counted_by_names(named)
        number, all_known = unit.session.execute(statement, names).one()
        if not all_known:  # a name is unknown: the lookups say which (or it was created since)
            number = unit.session.scalar(count_of(Ticket).where(*filter_clauses(unit, selection)))
        return number or 0


def _counted(named: tuple[str, ...], where: Sequence[Any] = ()) -> Select[Any]:
    """``SELECT (count(*) … WHERE where), every name found`` for the filters given by name (see
    ``named_clauses``) and the other clauses."""
    clauses, known = named_clauses(named)
    return select(count_of(Ticket).where(*clauses, *where).scalar_subquery(), known)


# The statement of a count by names alone, built once per shape (no building, no cache key per call).
_counted_by_names = cache(_counted)


def stats(store: Store, by: Sequence[str] = ("queue",), selection: TicketFilter | None = None) -> list[Record]:
    """Ticket counts and the time units accounted on them, grouped by ``by``, ordered by the groups."""
    unknown = [b for b in by if b not in STATS_KEYS]
    if unknown or not by:
        raise UsageError(f"cannot group by {', '.join(unknown) or '(nothing)'}; choose from {', '.join(STATS_KEYS)}")
    with store.read() as unit:
        where = filter_clauses(unit, selection or TicketFilter())
        columns = list(dict.fromkeys(STATS_KEYS[b] for b in by))  # state and state_type share one
        counted = select(*columns, func.count()).where(*where).group_by(*columns)
        # The IN makes the accounted tickets the ones read (SQLite would walk every ticket otherwise,
        # since its index on the grouped columns gives the order of the GROUP BY).
        accounted = Ticket.id.in_(select(TimeAccounting.ticket_id))
        units = (
            select(*columns, func.sum(TimeAccounting.time_unit))
            .join(Ticket, TimeAccounting.ticket_id == Ticket.id)
            .where(*where, accounted)
            .group_by(*columns)
        )
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for *ids, number in unit.session.execute(counted):
            groups.setdefault(tuple(ids), [0, 0.0])[0] += number
        for *ids, total in unit.session.execute(units):
            groups[tuple(ids)][1] += total or 0
        keys = [column.key for column in columns]
        at = [keys.index(STATS_KEYS[b].key) for b in by]
        owners = {ids[keys.index("owner_id")] for ids in groups} if "owner" in by else set()
        show = _shown(unit, owners)
        totals: dict[tuple[Any, ...], list[Any]] = {}
        for ids, (number, time_units) in groups.items():
            total = totals.setdefault(tuple(show[b](ids[i]) for b, i in zip(by, at, strict=True)), [0, 0.0])
            total[0] += number
            total[1] += time_units
    return [
        {**dict(zip(by, key, strict=True)), "count": number, "time_units": float(time_units)}
        for key, (number, time_units) in sorted(totals.items())
    ]


def _shown(unit: Unit, owners: set[int]) -> dict[str, Callable[[Any], Any]]:
    """What each grouping key shows for the id (or flag) grouped on: names read once for all groups."""
    states = lookup.states(unit)
    queues = lookup.queues(unit)
    logins = lookup.logins(unit, owners)
    return {
        "queue": lambda i: queues[i].name,
        "state": lambda i: states[i].name,
        "state_type": lambda i: states[i].type,
        "priority": lambda i: i,
        "owner": lambda i: logins[i],
        "lock": lambda locked: "locked" if locked else "unlocked",
    }
