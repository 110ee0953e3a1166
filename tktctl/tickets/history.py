"""The audit trail across tickets: streamed export with time, queue and type filters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.record import Record, between
from tktctl.db.models import History
from tktctl.tickets.records import history_records

if TYPE_CHECKING:
    from tktctl.core.unit import Store


class HistoryLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def export(
        self,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        queues: Sequence[str] = (),
        types: Sequence[str] = (),
    ) -> Iterator[Record]:
        """History entries oldest first, streamed in batches so memory stays flat."""
        with self.store.read() as unit:
            criteria = between(unit, History.at, since, until)
            if queues:
                criteria.append(History.queue_id.in_([lookup.queue(unit, q).id for q in queues]))
            if types:
                criteria.append(History.type.in_(list(types)))
            visible = permissions.visible_tickets(unit)
            if visible is not None:
                criteria.append(visible)
            yield from history_records(unit, *criteria)
