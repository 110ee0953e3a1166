"""The outbox as records: what `mail outbox` lists and what `mail send` reports back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.core.record import Record
from tktctl.db.models import MailOutbox, Ticket

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


def select_outbox() -> Any:
    return (
        select(
            MailOutbox.id,
            Ticket.tn.label("ticket"),
            MailOutbox.kind,
            MailOutbox.recipient,
            MailOutbox.subject,
            MailOutbox.status,
            MailOutbox.attempts,
            MailOutbox.next_attempt,
            MailOutbox.last_error,
            MailOutbox.created,
            MailOutbox.sent,
        )
        .outerjoin(Ticket, Ticket.id == MailOutbox.ticket_id)
        .order_by(MailOutbox.id)
    )


def outbox_records(unit: Unit, statement: Any) -> Iterator[Record]:
    for row in unit.session.execute(statement):
        yield dict(row._mapping)


def outbox_by_id(unit: Unit, ids: Sequence[int]) -> list[Record]:
    return list(outbox_records(unit, select_outbox().where(MailOutbox.id.in_(list(ids)))))
