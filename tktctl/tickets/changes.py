"""Set-based ticket changes: the primitives every writer of tickets shares.

Ticket verbs, mail, saved jobs, maintenance and escalation all change tickets through these,
so each change writes the same OTRS-named history rows and refreshes the deadlines the same
way. A change to many tickets is one UPDATE per kind of change guarded by the condition it
relies on and one INSERT … SELECT of history rows, on tickets the caller has locked, in the
caller's transaction. The guard makes a lost race a conflict (exit 5), never a silent
overwrite. Permission checks are the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Insert,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from tktctl.core import lookup
from tktctl.core.lookup import chunks
from tktctl.core.vocabulary import HISTORY_EVENTS, PENDING_TYPES, PRIORITY_WORDS, clean_line, clean_text, column_length
from tktctl.db.models import Agent, Article, History, Queue, Ticket
from tktctl.db.sqljson import json_object
from tktctl.db.types import UTCDateTime
from tktctl.errors import ConflictError, UsageError
from tktctl.isotime import iso
from tktctl.sla import deadlines

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

# The columns an Entry's INSERT … SELECT fills, in its SELECT's order.
HISTORY_COLUMNS = ["ticket_id", "type", "actor_id", "queue_id", "at", "data"]
# How history names a priority, as OTRS does: "3 normal".
PRIORITY_NAMES = {n: f"{n} {word}" for n, word in PRIORITY_WORDS.items()}


# OTRS's history type for a ticket's first article, by channel (then "Agent" or "Customer").
_ARTICLE_KINDS = {"email": "Email", "phone": "PhoneCall", "web": "WebRequest"}


def article_history(channel: str, sender: str) -> str:
    """OTRS's history type for a ticket's first article (an internal one is a note)."""
    kind = _ARTICLE_KINDS.get(channel)
    if kind is None:
        return "AddNote"
    return f"{kind}{'Agent' if sender == 'agent' else 'Customer'}"


def new_ticket_data(tn: str, queue: str, state: str, priority_id: int) -> dict[str, Any]:
    """The data of a NewTicket history entry, however the ticket came in (command, mail, import)."""
    return {"tn": tn, "queue": queue, "state": state, "priority": PRIORITY_NAMES[priority_id]}


@dataclass
class Selected:
    """The tickets a change applies to, row-locked: their ids and WHERE clauses that cover them.

    A filter selection is one clause set (the filter itself), so each change is one UPDATE
    and one INSERT … SELECT whatever the number of tickets; explicit numbers are id lists.
    """

    ids: list[int]
    parts: list[list[ColumnElement[bool]]]
    # Read with the lock, before any change, when the selecting read had them (no read of their own):
    # the tickets' numbers in ``ids`` order, (number, owner id) of those locked by another agent in id
    # order (:func:`guard_locks`), the tickets a move out of any SLA refreshes (:func:`unsettled`).
    numbers: list[str] | None = None
    locked_by_others: list[tuple[str, int]] | None = None
    unsettled: list[int] | None = None

    @classmethod
    def of(cls, ids: Sequence[int], numbers: Sequence[str] | None = None) -> Selected:
        """Tickets already locked by id (e.g. by `lookup.tickets`), as a selection in that order."""
        parts = [[Ticket.id.in_(part)] for part in chunks(sorted(ids))]
        return cls(list(ids), parts, None if numbers is None else list(numbers))


@dataclass(frozen=True)
class Entry:
    """A history row for each selected ticket meeting ``when``, written by one INSERT … SELECT."""

    type: str
    data: ColumnElement[Any]
    when: tuple[ColumnElement[bool], ...] = ()
    queue: ColumnElement[Any] | None = None  # the history row's queue: the ticket's, unless given


def count_of(model: Any) -> Any:
    """SELECT count(*) FROM model, to add WHERE clauses to."""
    return select(func.count()).select_from(model)


def name_of(column: Any, model: Any) -> ColumnElement[Any]:
    """The name (or login) of the row ``column`` points to, as a correlated subquery."""
    label = model.login if model is Agent else model.name
    return select(label).where(model.id == column).scalar_subquery()


def _named(expr: ColumnElement[Any], names: dict[int, str]) -> ColumnElement[Any]:
    """A small fixed vocabulary (states, priorities) mapped in SQL by CASE."""
    return cast(case(names, value=expr), String())


def _first(unit: Unit, sel: Selected, *cond: ColumnElement[bool]) -> tuple[str, int, int] | None:
    """The first selected ticket meeting ``cond`` (tn, owner id) and how many do."""
    found: tuple[str, int] | None = None
    total = 0
    for where in sel.parts:
        statement = select(Ticket.tn, Ticket.owner_id).where(*where, *cond).order_by(Ticket.id).limit(1)
        row = unit.session.execute(statement).first()
        if row is not None:
            found = found or (row.tn, row.owner_id)
            total += unit.session.scalar(count_of(Ticket).where(*where, *cond)) or 0
    return None if found is None else (*found, total)


def refuse(unit: Unit, sel: Selected, message: str, *cond: ColumnElement[bool]) -> None:
    """A conflict naming the first selected ticket meeting ``cond`` (``{tn}`` in the message)."""
    hit = _first(unit, sel, *cond)
    if hit is not None:
        raise ConflictError(message.format(tn=hit[0]), ref=hit[0])


def guard_locks(unit: Unit, sel: Selected) -> None:
    """Only the owner changes a locked ticket (others take it over with ``lock --steal``)."""
    if sel.locked_by_others is None:
        foreign = _first(unit, sel, Ticket.locked.is_(True), Ticket.owner_id != unit.actor.id)
    else:
        foreign = (*sel.locked_by_others[0], len(sel.locked_by_others)) if sel.locked_by_others else None
    if foreign is not None:
        tn, owner_id, total = foreign
        owner = lookup.logins(unit, [owner_id])[owner_id]
        more = f" (and {total - 1} more)" if total > 1 else ""
        raise ConflictError(
            f"ticket {tn} is locked by {owner}{more}; take it over with `tktctl ticket lock --steal`", ref=tn
        )


def apply(
    unit: Unit,
    sel: Selected,
    values: dict[str, Any],
    entries: Sequence[Entry],
    when: Sequence[ColumnElement[bool]] = (),
) -> int:
    """History rows (reading the old values), then one UPDATE, per clause set; returns tickets changed.

    The rows are locked, so the UPDATE meets exactly the tickets counted first; any other
    number means a concurrent change slipped in (e.g. a new ticket matching the filter).
    """
    # SQLite writers hold the database's write lock from BEGIN IMMEDIATE: nothing can slip in.
    serialised = unit.session.get_bind().dialect.name == "sqlite"
    changed = 0
    told: dict[str, list[int]] = {e.type: [] for e in entries if e.type in HISTORY_EVENTS and unit.listens(e.type)}
    for where in sel.parts:
        expected = None if serialised else unit.session.scalar(count_of(Ticket).where(*where, *when)) or 0
        if expected == 0:
            continue
        for entry in entries:
            columns = select(
                Ticket.id,
                literal(entry.type, String()),
                literal(unit.actor.id, Integer()),
                Ticket.queue_id if entry.queue is None else entry.queue,
                literal(unit.now, UTCDateTime()),
                entry.data,
            ).where(*where, *when, *entry.when)
            unit.session.execute(insert(History).from_select(HISTORY_COLUMNS, columns))
            if entry.type in told:  # the tickets this entry is about, before the UPDATE changes them
                told[entry.type] += unit.session.scalars(select(Ticket.id).where(*where, *when, *entry.when))
        statement = (
            update(Ticket)
            .where(*where, *when)
            .values(**values, changed=unit.now, changed_by=unit.actor.id)
            .execution_options(synchronize_session=False)
        )
        done = unit.session.execute(statement).rowcount
        if expected is not None and done != expected:
            raise ConflictError("a concurrent change to these tickets won; nothing was changed, retry")
        changed += done
    for event, ids in told.items():
        if ids:
            unit.publish(event, ids)
    return changed


@cache
def _inserts() -> dict[str, Insert]:
    """Plain (Core) INSERTs of a ticket, an article and history rows, built once per process; the
    rows are dicts by column, given at execution (not the ORM's bulk INSERT, which prepares each
    row through the mapper)."""
    return {
        "ticket": insert(Ticket.__table__),
        "article": insert(Article.__table__),
        "history": insert(History.__table__),
    }


def add_history(unit: Unit, entries: Sequence[tuple[int, str, int, dict[str, Any]]]) -> None:
    """History rows (ticket id, type, queue id, data) in one multi-row INSERT."""
    if entries:
        unit.connection.execute(
            _inserts()["history"],
            [
                {
                    "ticket_id": t,
                    "type": kind,
                    "actor_id": unit.actor.id,
                    "queue_id": q,
                    "at": unit.now,
                    "data": {k: iso(v) if isinstance(v, datetime) else v for k, v in data.items()},
                }
                for t, kind, q, data in entries
            ],
        )


# A ticket's text columns that callers set (title is required): create and import check them alike.
TEXT_COLUMNS = {
    "title": Ticket.title,
    "customer": Ticket.customer,
    "type": Ticket.type,
    "external_id": Ticket.external_id,
    "tn": Ticket.tn,
}
# Read once: an import checks them for every record.
_TEXT_LIMITS = {key: column_length(column) for key, column in TEXT_COLUMNS.items()}
# OTRS's history type for a change of each text field.
FIELD_HISTORY = {
    "title": "TitleUpdate",
    "customer": "CustomerUpdate",
    "type": "TypeUpdate",
    "external_id": "ExternalIdUpdate",  # not in OTRS (no external id there): `ticket update --external-id`
}


def clean_ticket_text(values: dict[str, Any]) -> None:
    """Check the text ``values`` (keys of TEXT_COLUMNS) against their columns before anything is written."""
    for key, limit in _TEXT_LIMITS.items():
        value = values.get(key)
        if value is None and key != "title":
            continue
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{key} must be a string, not {type(value).__name__}")
        check = clean_text if key == "title" else clean_line  # one-line keys may reach mail headers
        # A title is required; an external id, when given, must say something (it is a key).
        check(key.replace("_", " "), value, limit=limit, required=key in ("title", "external_id"))


def set_fields(unit: Unit, sel: Selected, values: dict[str, str | None]) -> int:
    """Set text fields (title, customer, type), each with its OTRS history row; returns changes made."""
    changed = 0
    for key, value in values.items():
        column = getattr(Ticket, key)
        differs = column.is_not(None) if value is None else or_(column.is_(None), column != value)
        data = json_object(("from", column), ("to", value))
        changed += apply(unit, sel, {key: value}, [Entry(FIELD_HISTORY[key], data)], [differs])
    return changed


def insert_ticket(unit: Unit, tn: str, **values: Any) -> int:
    """One ticket row (the caller writes its history); returns its id."""
    row = {**ticket_row(unit, tn), **values}
    return unit.connection.execute(_inserts()["ticket"], row).inserted_primary_key[0]


def ticket_row(unit: Unit, tn: str) -> dict[str, Any]:
    """A new ticket's row but for the caller's values: its number, unlocked, made now by the actor."""
    now, actor = unit.now, unit.actor.id
    return {"tn": tn, "locked": False, "created": now, "changed": now, "created_by": actor, "changed_by": actor}


def add_article(
    unit: Unit,
    ticket_id: int,
    *,
    channel: str,
    sender: str,
    body: str | None,
    subject: str | None,
    from_: str | None = None,
    to: str | None = None,
    visible: bool = True,
    refresh: bool = True,
    **mail: str | None,
) -> int:
    """One article; ``mail`` takes the email headers ``a_cc``, ``message_id``, ``in_reply_to``, ``a_references``.

    ``refresh``: recompute the ticket's deadlines (False only for a caller that does it after).
    """
    row = {
        "ticket_id": ticket_id,
        "channel": channel,
        "sender": sender,
        "a_from": from_,
        "a_to": to,
        "subject": subject,
        "body": body,
        "visible_to_customer": visible,
        "created": unit.now,
        "created_by": unit.actor.id,
        **mail,
    }
    article_id: int = unit.connection.execute(_inserts()["article"], row).inserted_primary_key[0]
    if refresh:
        deadlines.refresh(unit, [ticket_id])  # an answer or a customer's contact moves the deadlines
    return article_id


def target_state(unit: Unit, name: str, pending_until: datetime | None) -> lookup.StateInfo:
    """The state a change may set: enabled, never 'merged', with a pending time exactly when pending."""
    target = lookup.state(unit, name)
    if not target.valid:
        raise ConflictError(f"state {name!r} is disabled", ref=name)
    if target.type == "merged":
        raise ConflictError("a ticket becomes 'merged' only by merging it into another", ref=name)
    if target.type in PENDING_TYPES and pending_until is None:
        raise UsageError(f"state {name!r} needs --pending-until")
    if target.type not in PENDING_TYPES and pending_until is not None:
        raise UsageError(f"--pending-until goes with a pending state, not {name!r}")
    return target


def set_state(unit: Unit, sel: Selected, target: lookup.StateInfo, pending_until: datetime | None) -> int:
    """Set the state (and pending time); closing also unlocks, as OTRS does, and records it."""
    pending_differs = (
        Ticket.pending_until.is_not(None)
        if pending_until is None
        else or_(Ticket.pending_until.is_(None), Ticket.pending_until != pending_until)
    )
    differs = or_(Ticket.state_id != target.id, pending_differs)
    old_pending: list[tuple[int, str, int, dict[str, Any]]] = []
    if pending_until is not None:
        for where in sel.parts:
            rows = unit.session.execute(select(Ticket.id, Ticket.queue_id, Ticket.pending_until).where(*where, differs))
            old_pending += [(i, "SetPendingTime", q, {"from": old, "to": pending_until}) for i, q, old in rows]
    names = {i: s.name for i, s in lookup.states(unit).items()}
    state_update = Entry(
        "StateUpdate",
        json_object(("from", _named(Ticket.state_id, names)), ("to", target.name)),
        when=(Ticket.state_id != target.id,),
    )
    changed = apply(unit, sel, {"state_id": target.id, "pending_until": pending_until}, [state_update], [differs])
    add_history(unit, old_pending)
    if target.type == "closed":
        unlock = Entry("Unlock", json_object(("from", "lock"), ("to", "unlock"), ("reason", "closed")))
        apply(unit, sel, {"locked": False}, [unlock], [Ticket.locked.is_(True)])
    deadlines.refresh(unit, sel.ids)
    return changed


def move(unit: Unit, sel: Selected, target_id: int, **extra: Any) -> int:
    """Move the selected tickets not already there (``extra`` goes into the history data)."""
    to = lookup.queues(unit)[target_id].name
    data = json_object(("from", name_of(Ticket.queue_id, Queue)), ("to", to), *extra.items())
    entry = Entry("Move", data, queue=literal(target_id, Integer()))
    # Another queue, another SLA: into a queue with one, every ticket's deadlines are recomputed;
    # into one without, only those of the tickets that had deadlines (found before the move, when
    # the filter still matches them) change, and the refresh clears them.
    timed = deadlines.slas(unit)[target_id].any
    refreshed = sel.ids if timed else sel.unsettled if sel.unsettled is not None else _with_deadlines(unit, sel)
    changed = apply(unit, sel, {"queue_id": target_id}, [entry], [Ticket.queue_id != target_id])
    deadlines.refresh(unit, refreshed)
    return changed


def foreign_owner(unit: Unit) -> ColumnElement[Any]:
    """The owner of a ticket locked by another agent than the actor, else NULL (:func:`guard_locks`)."""
    return case((and_(Ticket.locked.is_(True), Ticket.owner_id != unit.actor.id), Ticket.owner_id))


def unsettled(unit: Unit) -> ColumnElement[bool]:
    """Whether a refresh outside any SLA changes the ticket: it has deadlines, or it is closed and not
    yet stamped with its first closing."""
    closed = [s.id for s in lookup.states(unit).values() if s.type == "closed"]
    return or_(
        Ticket.escalation_check_at.is_not(None),
        Ticket.escalation_at.is_not(None),
        and_(Ticket.first_closed_at.is_(None), Ticket.state_id.in_(closed)),
    )


def _with_deadlines(unit: Unit, sel: Selected) -> list[int]:
    """The selected tickets a refresh outside any SLA changes, for a selection that did not read them."""
    ids: list[int] = []
    for where in sel.parts:
        ids += unit.session.scalars(select(Ticket.id).where(*where, unsettled(unit)))
    return ids


def set_priorities(unit: Unit, sel: Selected, absolute: int | None, steps: int) -> int:
    """Set the priority (or move it by ``steps``, capped to 1..5), with PriorityUpdate history."""
    step = Ticket.priority_id + steps
    new: ColumnElement[Any] = (
        literal(absolute, Integer()) if absolute is not None else case((step > 5, 5), (step < 1, 1), else_=step)
    )
    data = json_object(("from", _named(Ticket.priority_id, PRIORITY_NAMES)), ("to", _named(new, PRIORITY_NAMES)))
    return apply(unit, sel, {"priority_id": new}, [Entry("PriorityUpdate", data)], [new != Ticket.priority_id])


def add_notes(unit: Unit, sel: Selected, body: str, *, subject: str, visible: bool) -> int:
    """One note article per selected ticket, by INSERT … SELECT, with its AddNote history."""
    for where in sel.parts:
        columns = select(
            Ticket.id,
            literal("internal", String()),
            literal("agent", String()),
            literal(subject, String()),
            literal(body, Text()),
            literal(visible, Boolean()),
            literal(unit.now, UTCDateTime()),
            literal(unit.actor.id, Integer()),
        ).where(*where)
        fields = ["ticket_id", "channel", "sender", "subject", "body", "visible_to_customer", "created", "created_by"]
        unit.session.execute(insert(Article).from_select(fields, columns))
    data = json_object(("subject", subject), ("visible_to_customer", literal(visible, Boolean())))
    changed = apply(unit, sel, {}, [Entry("AddNote", data)])
    deadlines.refresh(unit, sel.ids)  # an agent's visible note is a first response
    return changed
