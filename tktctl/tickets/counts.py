"""`ticket count` and `stats`: how many tickets match, and counts and time units by group.

Both are one statement on the ticket table, the filter's names resolved by the lookups of
``ticket list`` (``selection.filter_clauses``: queues and states from the configuration cache,
so the same names select the same tickets, or fail the same way, on every verb and backend):
``stats`` groups on the ids (covered by the indexes of the common filters, see migration 0015)
and names the groups over the grouped rows, by subqueries on the few queues, states and agents;
time units are summed by a second, small query over the accounted time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tktctl.core.record import Record
from tktctl.db.models import Agent, Queue, State, StateType, Ticket, TimeAccounting
from tktctl.errors import UsageError
from tktctl.tickets.changes import count_of, name_of
from tktctl.tickets.selection import LISTED, TicketFilter, bound_clauses, bound_filter, filter_clauses

if TYPE_CHECKING:
    from tktctl.core.unit import Store

# Each grouping key: the ticket column grouped on (the column its filter selects on).
STATS_KEYS = {key: LISTED[key] for key in ("queue", "state", "state_type", "priority", "owner", "lock")}


def count(store: Store, selection: TicketFilter | None = None) -> int:
    """How many tickets match: a statement built once per filter shape (its values bound), run on
    the unit's connection (through the session's execute it costs twice as much)."""
    with store.read() as unit:
        bound = bound_filter(unit, selection or TicketFilter())
        statement = count_of(Ticket).where(*bound.clauses()) if bound.other else _count_by_shape(bound.shape)
        return unit.connection.execute(statement, bound.params).scalar() or 0


@lru_cache(maxsize=1024)
def _count_by_shape(shape: tuple[tuple[str, int], ...]) -> Any:
    return count_of(Ticket).where(*bound_clauses(shape))


def stats(store: Store, by: Sequence[str] = ("queue",), selection: TicketFilter | None = None) -> list[Record]:
    """Ticket counts and the time units accounted on them, grouped by ``by``, ordered by the groups."""
    unknown = [b for b in by if b not in STATS_KEYS]
    if unknown or not by:
        raise UsageError(f"cannot group by {', '.join(unknown) or '(nothing)'}; choose from {', '.join(STATS_KEYS)}")
    selection, by = selection or TicketFilter(), tuple(by)
    width = len(dict.fromkeys(STATS_KEYS[b] for b in by))  # state and state_type share one column
    with store.read() as unit:
        where = tuple(filter_clauses(unit, selection))
        grouped, units = _statements(by, where) if where else _statements_by_shape(by)
        rows = unit.session.execute(grouped).all()
        shown: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        totals: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            values = zip(by, row[width : width + len(by)], strict=True)
            key = tuple(_SHOWN_IN_PYTHON.get(b, _as_is)(v) for b, v in values)
            shown[tuple(row[:width])] = key
            totals.setdefault(key, [0, 0.0])[0] += row[-1]
        for *ids, total in unit.session.execute(units):
            totals[shown[tuple(ids)]][1] += total or 0
    return [
        {**dict(zip(by, key, strict=True)), "count": number, "time_units": float(time_units)}
        for key, (number, time_units) in sorted(totals.items())
    ]


# What a grouping key shows for the id it groups on, read in the grouping statement itself.
_SHOWN_IN_SQL: dict[str, Callable[[Any], Any]] = {
    "queue": lambda column: name_of(column, Queue),
    "state": lambda column: name_of(column, State),
    "state_type": lambda column: (
        select(StateType.name).join(State, State.type_id == StateType.id).where(State.id == column).scalar_subquery()
    ),
    "owner": lambda column: name_of(column, Agent),
}
_SHOWN_IN_PYTHON: dict[str, Callable[[Any], Any]] = {"lock": lambda locked: "locked" if locked else "unlocked"}


def _as_is(value: Any) -> Any:
    return value


def _statements(by: tuple[str, ...], where: tuple[Any, ...] = ()) -> tuple[Any, Any]:
    """The grouping statement (per group: the ids grouped on, what each key of ``by`` shows, and the
    count) and the time units statement, for the filter's clauses ``where``."""
    columns = list(dict.fromkeys(STATS_KEYS[b] for b in by))
    groups = select(*columns, func.count().label("tickets")).where(*where).group_by(*columns).subquery()
    grouped = [groups.c[STATS_KEYS[b].key] for b in by]
    shown = [_SHOWN_IN_SQL[b](c) if b in _SHOWN_IN_SQL else c for b, c in zip(by, grouped, strict=True)]
    # The IN makes the accounted tickets the ones read (SQLite would walk every ticket otherwise,
    # since its index on the grouped columns gives the order of the GROUP BY).
    accounted = Ticket.id.in_(select(TimeAccounting.ticket_id))
    units = (
        select(*columns, func.sum(TimeAccounting.time_unit))
        .join(Ticket, TimeAccounting.ticket_id == Ticket.id)
        .where(*where, accounted)
        .group_by(*columns)
    )
    return select(*(groups.c[c.key] for c in columns), *shown, groups.c.tickets), units


# The statements of an unfiltered stats, built once per grouping (no building, no cache key per call).
_statements_by_shape = cache(_statements)
