"""The audit trail across tickets: streamed export with time, queue and type filters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from tktctl.db.models import History
from tktctl.services import lookup, permissions
from tktctl.services.records import Record, between, history_records

if TYPE_CHECKING:
    from tktctl.services.desk import Desk


class HistoryLog:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def export(
        self,
        *,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        queues: Sequence[str] = (),
        types: Sequence[str] = (),
    ) -> Iterator[Record]:
        """History entries oldest first, streamed in batches so memory stays flat."""
        with self.desk.read() as unit:
            criteria = between(unit, History.at, since, until)
            if queues:
                criteria.append(History.queue_id.in_([lookup.queue(unit, q).id for q in queues]))
            if types:
                criteria.append(History.type.in_(list(types)))
            visible = permissions.visible_tickets(unit)
            if visible is not None:
                criteria.append(visible)
            yield from history_records(unit, *criteria)
