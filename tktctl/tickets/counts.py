"""`ticket count` and `stats`: how many tickets match, and counts and time units by group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from tktctl.core.record import Record
from tktctl.db.models import Ticket
from tktctl.errors import UsageError
from tktctl.tickets.changes import count_of
from tktctl.tickets.records import ticket_select
from tktctl.tickets.selection import TicketFilter, filter_clauses
from tktctl.tickets.timeacct import total_units

if TYPE_CHECKING:
    from tktctl.core.unit import Store

STATS_KEYS = {
    "queue": "queue",
    "state": "state",
    "state_type": "state_type",
    "priority": "priority",
    "owner": "owner",
    "lock": "locked",
}


def count(store: Store, selection: TicketFilter | None = None) -> int:
    """How many tickets match."""
    with store.read() as unit:
        where = filter_clauses(unit, selection or TicketFilter())
        return unit.session.scalar(count_of(Ticket).where(*where)) or 0


def stats(store: Store, by: Sequence[str] = ("queue",), selection: TicketFilter | None = None) -> list[Record]:
    """Ticket counts and the time units accounted on them, grouped by ``by``."""
    unknown = [b for b in by if b not in STATS_KEYS]
    if unknown or not by:
        raise UsageError(f"cannot group by {', '.join(unknown) or '(nothing)'}; choose from {', '.join(STATS_KEYS)}")
    with store.read() as unit:
        source = ticket_select().where(*filter_clauses(unit, selection or TicketFilter())).subquery()
        units = total_units()
        keys = [source.c[STATS_KEYS[b]].label(b) for b in by]
        statement = (
            select(*keys, func.count().label("count"), func.sum(units.c.time_units).label("time_units"))
            .select_from(source)
            .outerjoin(units, units.c.ticket_id == source.c.id)
            .group_by(*keys)
            .order_by(*keys)
        )
        rows = [dict(r._mapping) for r in unit.session.execute(statement)]
    for row in rows:
        if "lock" in row:
            row["lock"] = "locked" if row["lock"] else "unlocked"
        row["time_units"] = float(row["time_units"] or 0)
    return rows
