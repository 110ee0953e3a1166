"""Rows to the contract's records (plain dicts with the documented keys)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, func, select, type_coerce
from sqlalchemy.orm import aliased
from sqlalchemy.types import NullType

from tktctl.db.models import (
    Agent,
    Article,
    Attachment,
    History,
    Priority,
    Queue,
    State,
    StateType,
    Ticket,
)
from tktctl.errors import UsageError
from tktctl.services import escalation
from tktctl.services.lookup import chunks

if TYPE_CHECKING:
    from tktctl.services.desk import Unit

Record = dict[str, Any]
_owner = aliased(Agent, name="owner")
_responsible = aliased(Agent, name="responsible")
# Rows fetched per round trip (a server-side cursor on PostgreSQL and MySQL), and distinct history
# times kept converted; the memo is emptied when full, so memory stays flat however long the export.
HISTORY_BATCH = 2000
TIME_MEMO = 4096


def ticket_select() -> Select[Any]:
    """Every column of the ticket record, joined in one statement."""
    return (
        select(
            Ticket.id,
            Ticket.tn,
            Ticket.title,
            Queue.name.label("queue"),
            State.name.label("state"),
            StateType.name.label("state_type"),
            Ticket.priority_id.label("priority"),
            Priority.name.label("priority_name"),
            Ticket.locked,
            _owner.login.label("owner"),
            _responsible.login.label("responsible"),
            Ticket.customer,
            Ticket.type,
            Ticket.created,
            Ticket.changed,
            Ticket.pending_until,
            Ticket.external_id,
            # For the escalation object (popped by ticket_record).
            Ticket.queue_id,
            Ticket.escalation_response_at,
            Ticket.escalation_update_at,
            Ticket.escalation_solution_at,
        )
        .join(Queue, Ticket.queue_id == Queue.id)
        .join(State, Ticket.state_id == State.id)
        .join(StateType, State.type_id == StateType.id)
        .join(Priority, Ticket.priority_id == Priority.id)
        .join(_owner, Ticket.owner_id == _owner.id)
        .outerjoin(_responsible, Ticket.responsible_id == _responsible.id)
    )


ESCALATION_COLUMNS = ("queue_id", "escalation_response_at", "escalation_update_at", "escalation_solution_at")


def ticket_record(row: Any, unit: Unit | None = None) -> Record:
    """The contract's ticket record; with ``unit``, the escalation object has working time left."""
    record = dict(row._mapping)
    record["lock"] = "locked" if record.pop("locked") else "unlocked"
    for key in ESCALATION_COLUMNS:
        record.pop(key)
    record["escalation"] = escalation.record(unit, row)
    return record


def tickets_by_id(unit: Unit, ids: Sequence[int]) -> list[Record]:
    """Ticket records for ``ids``, in that order."""
    found: dict[int, Record] = {}
    for part in chunks(list(ids)):
        for row in unit.session.execute(ticket_select().where(Ticket.id.in_(part))):
            found[row.id] = ticket_record(row, unit)
    return [found[i] for i in ids]


def articles(unit: Unit, ticket_id: int) -> list[Record]:
    return articles_of(unit, [ticket_id]).get(ticket_id, [])


def articles_of(unit: Unit, ticket_ids: Sequence[int]) -> dict[int, list[Record]]:
    """The tickets' articles (with their attachments' metadata) by ticket id, oldest first."""
    rows = unit.session.execute(
        select(Article, Ticket.tn)
        .join(Ticket, Article.ticket_id == Ticket.id)
        .where(Article.ticket_id.in_(ticket_ids))
        .order_by(Article.id)
    ).all()
    attachments: dict[int, list[Record]] = {}
    for part in chunks([a.id for a, _ in rows]):
        meta = unit.session.execute(
            select(Attachment.article_id, Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size)
            .where(Attachment.article_id.in_(part))
            .order_by(Attachment.id)
        )
        for article_id, att_id, filename, content_type, size in meta:
            attachments.setdefault(article_id, []).append(
                {"id": att_id, "filename": filename, "content_type": content_type, "size": size}
            )
    found: dict[int, list[Record]] = {}
    for a, tn in rows:
        found.setdefault(a.ticket_id, []).append(
            {
                "id": a.id,
                "ticket": tn,
                "channel": a.channel,
                "sender": a.sender,
                "from": a.a_from,
                "to": a.a_to,
                "subject": a.subject,
                "body": a.body,
                "visible_to_customer": a.visible_to_customer,
                "created": a.created,
                "attachments": attachments.get(a.id, []),
            }
        )
    return found


def history_select(at: Any = History.at) -> Select[Any]:
    """The history record's columns, in its key order (history_records passes ``at`` unconverted)."""
    return (
        select(History.id, Ticket.tn.label("ticket"), History.type, Agent.login.label("actor"), at, History.data)
        .join(Ticket, History.ticket_id == Ticket.id)
        .join(Agent, History.actor_id == Agent.id)
    )


def history_records(unit: Unit, *criteria: ColumnElement[bool]) -> Iterator[Record]:
    """History records matching ``criteria``, oldest first, streamed (an export runs to millions).

    Core rows, not ORM ones; ``at`` comes as the driver returns it and goes through its column
    type's own conversion once per distinct value: the rows of one change share one time, and
    that conversion was a large part of each row's cost.
    """
    connection = unit.session.connection()
    dialect = connection.dialect
    convert = History.at.type.dialect_impl(dialect).result_processor(dialect, None)
    statement = history_select(type_coerce(History.at, NullType()).label("at"))
    result = connection.execute(
        statement.where(*criteria).order_by(History.id).execution_options(yield_per=HISTORY_BATCH)
    )
    times: dict[Any, datetime] = {}
    for id_, ticket, type_, actor, raw, data in result:
        at = times.get(raw)
        if at is None:
            if len(times) >= TIME_MEMO:
                times.clear()
            at = times[raw] = convert(raw) if convert else raw
        yield {"id": id_, "ticket": ticket, "type": type_, "actor": actor, "at": at, "data": data}


def between(unit: Unit, column: Any, since: str | datetime | None, until: str | datetime | None) -> list[Any]:
    """``--since``/``--until`` as WHERE clauses on a time column (since inclusive, until exclusive)."""
    start, end = unit.parse_time(since), unit.parse_time(until)
    if start is not None and end is not None and end < start:
        raise UsageError("--until is before --since")
    return [*([column >= start] if start else []), *([column < end] if end else [])]


def count(unit: Unit, statement: Select[Any]) -> int:
    return unit.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
