"""Time accounting, as OTRS's TimeAccounting: working time on an article, totals per ticket.

``ticket note --time-units 15`` writes one ``time_accounting`` row per note (by INSERT …
SELECT of the notes just written) and a TimeAccounting history row, in the note's transaction.
Units are the desk's own (minutes, by convention), with up to two decimals, as OTRS stores them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, Numeric, func, insert, literal, select

from tktctl.access import permissions
from tktctl.core.record import Record
from tktctl.db.models import Article, Ticket, TimeAccounting
from tktctl.db.sqljson import json_object
from tktctl.db.types import UTCDateTime
from tktctl.errors import UsageError
from tktctl.tickets import changes
from tktctl.tickets.changes import Entry, Selected

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

UNITS_MAX = Decimal("99999999.99")  # Numeric(10, 2)


def check_units(units: Any) -> float | None:
    """Time units: a positive number with at most two decimals (None: nothing accounted)."""
    if units is None:
        return None
    try:
        number = Decimal(str(units).strip()) if not isinstance(units, bool) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not 0 < number <= UNITS_MAX or number != round(number, 2):
        raise UsageError(f"--time-units must be a positive number with at most two decimals, not {units!r:.40}")
    return float(number)


def account(unit: Unit, sel: Selected, units: float) -> int:
    """Account ``units`` on each selected ticket's newest article (the note just written), with history."""
    for where in sel.parts:
        newest = select(func.max(Article.id)).join(Ticket, Article.ticket_id == Ticket.id).where(*where)
        newest = newest.group_by(Article.ticket_id)
        columns = select(
            Article.ticket_id,
            Article.id,
            literal(units, Numeric(10, 2)),
            literal(unit.now, UTCDateTime()),
            literal(unit.actor.id, Integer()),
        ).where(Article.id.in_(newest))
        names = ["ticket_id", "article_id", "time_unit", "created", "created_by"]
        unit.session.execute(insert(TimeAccounting).from_select(names, columns))
    data = json_object(("time_units", _text(units)))
    return changes.apply(unit, sel, {}, [Entry("TimeAccounting", data)])


def _text(units: float) -> str:
    return f"{units:g}"


class TimeAccounts:
    """``ticket time TN``: the time accounted on a ticket, in total and per article."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def of(self, ref: str) -> Record:
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            rows = unit.session.execute(
                select(TimeAccounting.article_id, TimeAccounting.time_unit, TimeAccounting.created)
                .where(TimeAccounting.ticket_id == row.id)
                .order_by(TimeAccounting.id)
            ).all()
            articles = [{"article": a, "time_units": float(t), "created": c} for a, t, c in rows]
            total = sum(Decimal(str(a["time_units"])) for a in articles)
            return {"tn": row.tn, "time_units": float(total), "articles": articles}
