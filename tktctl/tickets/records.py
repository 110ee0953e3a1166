"""Rows to the contract's records (plain dicts with the documented keys)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from functools import cache
from itertools import chain, starmap
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, select, type_coerce
from sqlalchemy.orm import aliased
from sqlalchemy.types import NullType

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.lookup import StateInfo, chunks
from tktctl.core.prepared import ids_in
from tktctl.core.record import Record
from tktctl.core.stream import BATCH, stream
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
from tktctl.errors import ConflictError
from tktctl.sla import deadlines
from tktctl.tickets import fields as custom_fields

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

    from tktctl.core.unit import Store, Unit

_owner = aliased(Agent, name="owner")
_responsible = aliased(Agent, name="responsible")
# History payloads kept decoded: at most PAYLOADS (emptied when full, so memory stays flat however
# long the export), none longer than PAYLOAD_TEXT (long ones seldom repeat).
PAYLOADS = 4096
PAYLOAD_TEXT = 256


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
# The columns of ticket_select(); a statement may add more after them (search: the score).
TICKET_COLUMNS = 21
# What ticket_select(raw=True) reads as the driver returns it: the times, and the lock (only tested for truth).
_RAW_COLUMNS = frozenset(("locked", "created", "changed", "pending_until", *ESCALATION_COLUMNS[1:]))


class _Deadlines(NamedTuple):
    """The columns deadlines.record reads, converted, for a row read raw."""

    queue_id: int
    escalation_response_at: datetime | None
    escalation_update_at: datetime | None
    escalation_solution_at: datetime | None


@cache
def raw_ticket_select() -> Select[Any]:
    """ticket_select() with its times and lock as the driver returns them, for a long read.

    SQLAlchemy runs a time column's conversion for every value, NULL or not, three Python calls
    each: a list of a million tickets made six million for six time columns, most of them NULL
    (pending and escalation times). time_reader() converts only what is there."""
    statement = ticket_select()
    return statement.with_only_columns(
        *(_driver_value(c) if c.key in _RAW_COLUMNS else c for c in statement.selected_columns),
        maintain_column_froms=True,
    )


def time_reader(dialect: Dialect) -> Callable[[Any], datetime]:
    """A driver's time (not NULL) as the time columns read it, converted once for a repeat of the last
    one (a ticket not changed since it was created; the history rows of one change)."""
    convert = _time_conversion(dialect)
    last_raw: Any = None
    last: Any = None

    def read(raw: Any) -> datetime:
        nonlocal last_raw, last
        if raw != last_raw:
            last_raw, last = raw, convert(raw) if convert else raw
        return last  # type: ignore[no-any-return]

    return read


def _time_conversion(dialect: Dialect) -> Callable[[Any], datetime] | None:
    """The time columns' conversion of a driver value; on SQLite, whose driver returns the stored text
    (naive UTC), the same aware time read in one step: SQLAlchemy's parse and then its UTC step (two
    Python calls) cost four times as much. Text with an offset of its own takes SQLAlchemy's way."""
    convert = _conversion(Ticket.created, dialect)
    if dialect.name != "sqlite" or convert is None:
        return convert
    parse = datetime.fromisoformat

    def from_text(raw: Any) -> datetime:
        try:
            return parse(raw + "+00:00")
        except (TypeError, ValueError):
            return convert(raw)  # type: ignore[no-any-return]

    return from_text


def ticket_record(row: Any, unit: Unit | None = None, time: Callable[[Any], datetime] | None = None) -> Record:
    """The contract's ticket record, its keys in the contract's order (a list renders it as it is);
    with ``unit``, the escalation object has working time left. Added columns come after.
    ``time``: the row is raw_ticket_select()'s, and converts its times."""
    (
        id_,
        tn,
        title,
        queue,
        state,
        state_type,
        priority,
        priority_name,
        locked,
        owner,
        responsible,
        customer,
        type_,
        created,
        changed,
        pending_until,
        external_id,
        _queue_id,
        response,
        update,
        solution,
        *added,
    ) = row
    escalation = None
    if response is not None or update is not None or solution is not None:
        if time is not None:
            row = _Deadlines(_queue_id, *(None if t is None else time(t) for t in (response, update, solution)))
        escalation = deadlines.record(unit, row)
    if time is not None:
        created, changed = time(created), time(changed)
        pending_until = None if pending_until is None else time(pending_until)
    record = {
        "id": id_,
        "tn": tn,
        "title": title,
        "queue": queue,
        "state": state,
        "state_type": state_type,
        "priority": priority,
        "priority_name": priority_name,
        "lock": "locked" if locked else "unlocked",
        "owner": owner,
        "responsible": responsible,
        "customer": customer,
        "type": type_,
        "created": created,
        "changed": changed,
        "pending_until": pending_until,
        "escalation": escalation,
        "external_id": external_id,
    }
    if added:
        record.update(zip(row._fields[TICKET_COLUMNS:], added, strict=True))
    return record


def tickets_by_id(unit: Unit, ids: Sequence[int]) -> list[Record]:
    """Ticket records for ``ids``, in that order."""
    found: dict[int, Record] = {}
    for part in chunks(list(ids)):
        for row in unit.connection.execute(_tickets_by_id(), {"ids": list(part)}):
            found[row.id] = ticket_record(row, unit)
    custom_fields.add_to(unit, list(found.values()))
    return [found[i] for i in ids]


@cache
def _tickets_by_id() -> Select[Any]:
    return ticket_select().where(ids_in(Ticket.id))


def by_external_id(unit: Unit, external_id: str) -> Record | None:
    """The ticket holding the key, read with its owner in one statement; one the agent may not see
    is only a taken key (nothing of it shown)."""
    row = unit.session.execute(_by_external_id(), {"key": external_id}).first()
    if row is None:
        return None
    if not permissions.sees(unit, row.queue_id, row.owner_id):
        raise ConflictError(f"external id {external_id!r} is taken", ref=external_id)
    record = ticket_record(row, unit)
    del record["owner_id"]  # read for the check above, not part of the record
    custom_fields.add_to(unit, [record])
    return {**record, "created_now": False}


@cache
def _by_external_id() -> Select[Any]:
    return ticket_select().add_columns(Ticket.owner_id).where(Ticket.external_id == bindparam("key"))


def inserted_ticket(
    unit: Unit, ticket_id: int, tn: str, values: dict[str, Any], names: tuple[str, StateInfo, str, str | None]
) -> Record:
    """The record :func:`tickets_by_id` reads back for a ticket this transaction inserted with ``values``
    (insert_ticket's) and nothing since (no deadlines, no field values), without reading it: ``names``
    are its queue's name, its state, its owner's and its responsible's logins."""
    queue, state, owner, responsible = names
    now = _as_read(unit.now)
    priority = values["priority_id"]
    written = {  # ticket_select()'s names to their values; one literal: the cheapest build (create's hot path)
        **values,  # the ticket's own columns as written: title, customer, type, external_id, queue_id
        "id": ticket_id,
        "tn": tn,
        "queue": queue,
        "state": state.name,
        "state_type": state.type,
        "priority": priority,
        "priority_name": lookup.priority_names(unit)[priority],
        "locked": False,
        "owner": owner,
        "responsible": responsible,
        "created": now,
        "changed": now,
        "pending_until": _as_read(values["pending_until"]),
        "escalation_response_at": None,
        "escalation_update_at": None,
        "escalation_solution_at": None,
    }
    row, pick = _inserted_row()
    record = ticket_record(row(pick(written)))
    record["fields"] = {}
    return record


@cache
def _inserted_row() -> tuple[Callable[[Iterable[Any]], Any], Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
    """A row of ticket_select()'s columns (named as its rows are) made of their values, and what picks
    those values out of a mapping by the columns' names: a column added to the statement is one
    inserted_ticket must give (a KeyError on every create otherwise), never one it leaves out."""
    columns = [column.key for column in ticket_select().selected_columns]
    return namedtuple("InsertedTicket", columns)._make, itemgetter(*columns)


def _as_read(value: datetime | None) -> datetime | None:
    """A time as its column gives it back: in UTC (naive ones are stored as UTC), microseconds kept."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def stream_tickets(store: Store, ids: Sequence[int]) -> Iterator[Record]:
    """Ticket records for ``ids`` after a change, in a read of their own, streamed in chunks (a filter
    may have matched a million)."""
    with store.read() as unit:
        for part in chunks(ids):
            yield from tickets_by_id(unit, part)


def articles(unit: Unit, ticket_id: int) -> list[Record]:
    return articles_of(unit, [ticket_id]).get(ticket_id, [])


def articles_of(unit: Unit, ticket_ids: Sequence[int]) -> dict[int, list[Record]]:
    """The tickets' articles (with their attachments' metadata) by ticket id, oldest first."""
    rows = unit.session.execute(_articles_of(), {"ids": list(ticket_ids)}).all()
    attachments: dict[int, list[Record]] = {}
    for part in chunks([a.id for a in rows]):
        meta = unit.session.execute(
            select(Attachment.article_id, Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size)
            .where(ids_in(Attachment.article_id))
            .order_by(Attachment.id),
            {"ids": list(part)},
        )
        for article_id, att_id, filename, content_type, size in meta:
            attachments.setdefault(article_id, []).append(
                {"id": att_id, "filename": filename, "content_type": content_type, "size": size}
            )
    found: dict[int, list[Record]] = {}
    for a in rows:
        found.setdefault(a.ticket_id, []).append(
            {
                "id": a.id,
                "ticket": a.tn,
                "channel": a.channel,
                "sender": a.sender,
                "from": a.a_from,
                "to": a.a_to,
                "cc": a.a_cc,
                "subject": a.subject,
                "body": a.body,
                "visible_to_customer": a.visible_to_customer,
                "created": a.created,
                "attachments": attachments.get(a.id, []),
                "message_id": a.message_id,
                "in_reply_to": a.in_reply_to,
                "references": a.a_references,
            }
        )
    return found


@cache
def _articles_of() -> Select[Any]:
    """The columns of articles_of's records, as Core rows: ORM objects cost an export a third of its time."""
    columns = (Article.id, Article.ticket_id, Article.channel, Article.sender, Article.a_from, Article.a_to)
    columns += (Article.a_cc, Article.subject, Article.body, Article.visible_to_customer, Article.created)
    columns += (Article.message_id, Article.in_reply_to, Article.a_references, Ticket.tn)
    return (
        select(*columns)
        .join(Ticket, Article.ticket_id == Ticket.id)
        .where(ids_in(Article.ticket_id))
        .order_by(Article.id)
    )


def history_select(*, raw: bool = False) -> Select[Any]:
    """The history record's columns in its key order; ``raw``: ``at`` and ``data`` unconverted."""
    at, data = (_driver_value(History.at), _driver_value(History.data)) if raw else (History.at, History.data)
    return (
        select(History.id, Ticket.tn.label("ticket"), History.type, Agent.login.label("actor"), at, data)
        .join(Ticket, History.ticket_id == Ticket.id)
        .join(Agent, History.actor_id == Agent.id)
    )


def _driver_value(column: Any) -> ColumnElement[Any]:
    """The column as the driver returns it, without its type's conversion."""
    return type_coerce(column, NullType()).label(column.key)


def _conversion(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What the column's type does to a driver value on this dialect (the very function it runs)."""
    return column.type.dialect_impl(dialect).result_processor(dialect, None)


def _flat(text: str, value: Any) -> bool:
    """``value`` (decoded from ``text``) is an object of scalars, of which a shallow copy is a whole one.

    Read off the text: an object nesting another object or a list has a second ``{`` or a ``[``.
    """
    return type(value) is dict and text.count("{") == 1 and "[" not in text


def history_records(unit: Unit, *criteria: ColumnElement[bool], batch: int = BATCH) -> Iterator[Record]:
    """History records matching ``criteria``, oldest first, streamed (a ticket may have 100,000); an
    iterator of C functions over the rows, not a generator: no frame to resume per record."""
    connection = unit.session.connection()
    record = HistoryReader(connection.dialect).record
    statement = history_select(raw=True).where(*criteria).order_by(History.id)
    return starmap(record, chain.from_iterable(stream(unit, statement, batch=batch)))


class HistoryReader:
    """Rows of history_select(raw=True) to history records, for long reads (an export runs to millions).

    Core rows, not ORM ones, with ``at`` and ``data`` read as the driver returns them and
    converted here by their column types' own functions, but not again for a repeat: the rows
    of one change follow each other with one time, and most payloads are a few from/to pairs.
    Short flat payloads (dicts of scalars) are kept decoded; each record gets its own copy, so
    no two records share a mutable value.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.time = time_reader(dialect)
        self.to_data = _conversion(History.data, dialect)  # None: the driver decodes JSON itself
        self.payloads: dict[str, dict[str, Any]] = {}

    def record(self, id_: int, ticket: str, type_: str, actor: str, raw_at: Any, data: Any) -> Record:
        to_data = self.to_data
        if to_data is not None:
            payloads = self.payloads
            kept = payloads.get(data) if type(data) is str else None
            if kept is not None:
                data = kept.copy()
            else:
                text, data = data, to_data(data)
                if type(text) is str and len(text) <= PAYLOAD_TEXT and _flat(text, data):
                    if len(payloads) >= PAYLOADS:
                        payloads.clear()
                    payloads[text] = data.copy()
        return {"id": id_, "ticket": ticket, "type": type_, "actor": actor, "at": self.time(raw_at), "data": data}
