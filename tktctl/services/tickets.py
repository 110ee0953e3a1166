"""Tickets: create, show, list, and every change of the lifecycle, each with its history.

A change to many tickets is set-based: one locking SELECT of the tickets, one UPDATE per
kind of change guarded by the condition it relies on, one multi-row INSERT of history
rows; all in the caller's transaction. The guard makes a lost race a conflict (exit 5),
never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, insert, update

from tktctl.db.models import Article, History, Queue, State, Ticket
from tktctl.errors import ConflictError, PartialFailure, TktctlError, UsageError
from tktctl.isotime import iso
from tktctl.services import escalation, lookup, permissions
from tktctl.services.lookup import TicketRow, chunks
from tktctl.services.numbering import next_numbers
from tktctl.services.records import (
    Record,
    articles,
    history_records,
    history_select,
    ticket_record,
    ticket_select,
    tickets_by_id,
)
from tktctl.services.vocabulary import (
    CHANNELS,
    PENDING_TYPES,
    PRIORITY_WORDS,
    SENDERS,
    TITLE_MAX,
    choice,
    clean_text,
    parse_priority,
)

if TYPE_CHECKING:
    from tktctl.services.desk import Desk, Unit

Change = Callable[["Unit", list[TicketRow]], None]


@dataclass(frozen=True)
class TicketFilter:
    """A selection of tickets, with the flag names of ``ticket list``; empty fields select all."""

    queue: Sequence[str] = ()
    state: Sequence[str] = ()
    state_type: Sequence[str] = ()
    priority: Sequence[str | int] = ()
    owner: Sequence[str] = ()
    lock: str | None = None
    customer: Sequence[str] = ()
    title: str | None = None
    created_before: str | datetime | None = None
    created_after: str | datetime | None = None
    changed_before: str | datetime | None = None
    changed_after: str | datetime | None = None

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))


SORT_KEYS: dict[str, Any] = {
    "id": Ticket.id,
    "tn": Ticket.tn,
    "title": Ticket.title,
    "created": Ticket.created,
    "changed": Ticket.changed,
    "priority": Ticket.priority_id,
    "queue": Queue.name,
    "state": State.name,
    "customer": Ticket.customer,
    "pending_until": Ticket.pending_until,
}


def _where(unit: Unit, selection: TicketFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter; unknown names are not-found errors, bad values usage errors."""
    clauses: list[ColumnElement[bool]] = []
    if selection.queue:
        clauses.append(Ticket.queue_id.in_([lookup.queue(unit, q).id for q in selection.queue]))
    if selection.state:
        clauses.append(Ticket.state_id.in_([lookup.state(unit, s).id for s in selection.state]))
    if selection.state_type:
        clauses.append(Ticket.state_id.in_(lookup.state_ids_of_types(unit, selection.state_type)))
    if selection.priority:
        clauses.append(Ticket.priority_id.in_([parse_priority(p) for p in selection.priority]))
    if selection.owner:
        clauses.append(Ticket.owner_id.in_([lookup.agent(unit, o).id for o in selection.owner]))
    if selection.lock is not None:
        choice("lock", selection.lock, ("locked", "unlocked"))
        clauses.append(Ticket.locked.is_(selection.lock == "locked"))
    if selection.customer:
        clauses.append(Ticket.customer.in_(list(selection.customer)))
    if selection.title:
        escaped = selection.title.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(Ticket.title.like(f"%{escaped}%", escape="\\"))
    for column, value, before in (
        (Ticket.created, selection.created_before, True),
        (Ticket.created, selection.created_after, False),
        (Ticket.changed, selection.changed_before, True),
        (Ticket.changed, selection.changed_after, False),
    ):
        moment = unit.parse_time(value)
        if moment is not None:
            clauses.append(column < moment if before else column >= moment)
    visible = permissions.visible_group_ids(unit, "ro")
    if visible is not None:
        clauses.append(Ticket.queue_id.in_([q.id for q in lookup.queues(unit).values() if q.group_id in visible]))
    return clauses


def _order(sort: str | None) -> list[Any]:
    """``-priority,created`` -> ORDER BY; the id breaks ties so pages are stable."""
    order: list[Any] = []
    for key in (sort or "id").split(","):
        key = key.strip()
        descending = key.startswith("-")
        column = SORT_KEYS.get(key.lstrip("-+"))
        if column is None:
            raise UsageError(f"cannot sort by {key!r}; sort keys: {', '.join(SORT_KEYS)} (prefix - for descending)")
        order.append(column.desc() if descending else column.asc())
    return [*order, Ticket.id.asc()]


def _guard_locks(unit: Unit, rows: Iterable[TicketRow]) -> None:
    """Only the owner changes a locked ticket (others take it over with ``lock --steal``)."""
    foreign = [r for r in rows if r.locked and r.owner_id != unit.actor.id]
    if foreign:
        owner = lookup.logins(unit, [foreign[0].owner_id])[foreign[0].owner_id]
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise ConflictError(
            f"ticket {foreign[0].tn} is locked by {owner}{more}; take it over with `tktctl ticket lock --steal`",
            ref=foreign[0].tn,
        )


def _update(
    unit: Unit, rows: Sequence[TicketRow], values: dict[str, Any], guard: ColumnElement[bool] | None = None
) -> None:
    """One guarded UPDATE per chunk of ids; fewer rows than expected means a concurrent change won."""
    ids = [r.id for r in rows]
    for part in chunks(ids):
        statement = update(Ticket).where(Ticket.id.in_(part))
        if guard is not None:
            statement = statement.where(guard)
        statement = statement.values(**values, changed=unit.now, changed_by=unit.actor.id)
        result = unit.session.execute(statement, execution_options={"synchronize_session": False})
        if result.rowcount != len(part):
            raise ConflictError("a concurrent change to these tickets won; nothing was changed, retry")


def _history(unit: Unit, entries: Sequence[tuple[int, str, int, dict[str, Any]]]) -> None:
    """History rows (ticket id, type, queue id, data) in one multi-row INSERT."""
    if entries:
        unit.session.execute(
            insert(History),
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


def _add_article(
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
) -> None:
    unit.session.execute(
        insert(Article).values(
            ticket_id=ticket_id,
            channel=channel,
            sender=sender,
            a_from=from_,
            a_to=to,
            subject=subject,
            body=body,
            visible_to_customer=visible,
            created=unit.now,
            created_by=unit.actor.id,
        )
    )


def _priority_name(number: int) -> str:
    return f"{number} {PRIORITY_WORDS[number]}"


def _set_priorities(unit: Unit, rows: Sequence[Any], absolute: int | None, steps: int) -> list[Any]:
    """Set the priority (or move it by ``steps``, capped to 1..5); returns the rows that changed."""
    targets: dict[int, list[Any]] = {}
    for r in rows:
        new = absolute if absolute is not None else min(5, max(1, r.priority_id + steps))
        if new != r.priority_id:
            targets.setdefault(new, []).append(r)
    for new, group in targets.items():
        _update(unit, group, {"priority_id": new})
        _history(
            unit,
            [
                (r.id, "PriorityUpdate", r.queue_id, {"from": _priority_name(r.priority_id), "to": _priority_name(new)})
                for r in group
            ],
        )
    return [r for group in targets.values() for r in group]


def _move(unit: Unit, rows: Sequence[Any], target_id: int, **extra: Any) -> list[Any]:
    """Move the rows not already there (``extra`` goes into the history data); returns those moved."""
    names = lookup.queues(unit)
    moving = [r for r in rows if r.queue_id != target_id]
    if moving:
        _update(unit, moving, {"queue_id": target_id})
        to = names[target_id].name
        _history(unit, [(r.id, "Move", target_id, {"from": names[r.queue_id].name, "to": to, **extra}) for r in moving])
        escalation.refresh(unit, [r.id for r in moving])
    return moving


def _unlock_closed(unit: Unit, rows: Sequence[TicketRow]) -> None:
    """OTRS unlocks a ticket when it is closed, and records it."""
    locked = [r for r in rows if r.locked]
    if locked:
        _update(unit, locked, {"locked": False})
        _history(
            unit, [(r.id, "Unlock", r.queue_id, {"from": "lock", "to": "unlock", "reason": "closed"}) for r in locked]
        )


def _set_state(unit: Unit, rows: Sequence[TicketRow], target: lookup.StateInfo, pending_until: datetime | None) -> None:
    states = lookup.states(unit)
    changing = [r for r in rows if r.state_id != target.id or r.pending_until != pending_until]
    if not changing:
        return
    _update(unit, changing, {"state_id": target.id, "pending_until": pending_until})
    entries: list[tuple[int, str, int, dict[str, Any]]] = []
    for r in changing:
        if r.state_id != target.id:
            entries.append((r.id, "StateUpdate", r.queue_id, {"from": states[r.state_id].name, "to": target.name}))
        if pending_until is not None:
            entries.append((r.id, "SetPendingTime", r.queue_id, {"from": r.pending_until, "to": pending_until}))
    _history(unit, entries)
    escalation.refresh(unit, [r.id for r in changing])
    if target.type == "closed":
        _unlock_closed(unit, changing)


def _target_state(unit: Unit, name: str, pending_until: datetime | None) -> lookup.StateInfo:
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


class Tickets:
    """Ticket operations of one desk; each call is one transaction (or one per ticket)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    # Reading -------------------------------------------------------------------------

    def show(self, ref: str) -> Record:
        """The ticket with its articles (and their attachments' metadata)."""
        with self.desk.read() as unit:
            row = lookup.tickets(unit, [ref], lock=False)[0]
            permissions.require(unit, "ro", lookup.group_ids(unit, [row]))
            record = tickets_by_id(unit, [row.id])[0]
            record["articles"] = articles(unit, row.id, row.tn)
            return record

    def list(
        self, selection: TicketFilter | None = None, *, sort: str | None = None, limit: int | None = None
    ) -> Iterator[Record]:
        """Matching tickets, streamed from the database in batches."""
        if limit is not None and limit < 1:
            raise UsageError("--limit must be at least 1")
        with self.desk.read() as unit:
            statement = ticket_select().where(*_where(unit, selection or TicketFilter()))
            statement = statement.order_by(*_order(sort))
            if limit is not None:
                statement = statement.limit(limit)
            for row in unit.session.execute(statement.execution_options(yield_per=1000)):
                yield ticket_record(row, unit)

    def history(self, ref: str) -> list[Record]:
        """The ticket's history, oldest first."""
        with self.desk.read() as unit:
            row = lookup.tickets(unit, [ref], lock=False)[0]
            permissions.require(unit, "ro", lookup.group_ids(unit, [row]))
            statement = history_select().where(History.ticket_id == row.id).order_by(History.id)
            return list(history_records(unit.session.execute(statement)))

    # Creating --------------------------------------------------------------------------

    def create(
        self,
        *,
        title: str,
        queue: str = "Raw",
        customer: str | None = None,
        priority: str | int = 3,
        state: str = "new",
        owner: str | None = None,
        responsible: str | None = None,
        type: str | None = None,
        channel: str = "phone",
        sender: str | None = None,
        body: str | None = None,
        subject: str | None = None,
        from_: str | None = None,
        pending_until: str | datetime | None = None,
        external_id: str | None = None,
    ) -> Record:
        """Open a ticket (and its first article when there is a body); prints nothing twice.

        With ``external_id``, an existing ticket with that key is returned unchanged and
        ``created_now`` is false, also when retries race each other.
        """
        clean_text("title", title, limit=TITLE_MAX, required=True)
        for kind, value, limit in (
            ("customer", customer, 150),
            ("type", type, 100),
            ("external id", external_id, 200),
            ("subject", subject, None),
            ("body", body, None),
            ("from", from_, None),
        ):
            clean_text(kind, value, limit=limit)
        if external_id is not None and not external_id.strip():
            raise UsageError("external id must not be empty")
        choice("channel", channel, CHANNELS)
        sender = choice("sender", sender or ("agent" if channel == "internal" else "customer"), SENDERS)
        priority_id = parse_priority(priority)
        with self.desk.write() as unit:
            if external_id is not None:
                existing = self._by_external_id(unit, external_id)
                if existing is not None:
                    return existing
            target = lookup.queue(unit, queue, for_write=True)
            permissions.require(unit, "create", [target.group_id])
            until = unit.parse_time(pending_until)
            start = _target_state(unit, state, until)
            owner_id = lookup.agent(unit, owner, for_write=True).id if owner else unit.actor.id
            responsible_id = lookup.agent(unit, responsible, for_write=True).id if responsible else None
            numbers = self.desk.numbers
            (tn,) = next_numbers(unit.session, generator=numbers.generator, system_id=numbers.system_id, now=unit.now)
            # The counter's row lock serialises creators: a racing retry of the same key sees ours now.
            if external_id is not None:
                existing = self._by_external_id(unit, external_id)
                if existing is not None:
                    return existing
            ticket_id = unit.session.execute(
                insert(Ticket).values(
                    tn=tn,
                    title=title,
                    queue_id=target.id,
                    state_id=start.id,
                    priority_id=priority_id,
                    locked=False,
                    owner_id=owner_id,
                    responsible_id=responsible_id,
                    customer=customer,
                    type=type,
                    created=unit.now,
                    changed=unit.now,
                    pending_until=until,
                    external_id=external_id,
                    created_by=unit.actor.id,
                    changed_by=unit.actor.id,
                )
            ).inserted_primary_key[0]
            data = {"tn": tn, "queue": target.name, "state": start.name, "priority": _priority_name(priority_id)}
            entries: list[tuple[int, str, int, dict[str, Any]]] = [(ticket_id, "NewTicket", target.id, data)]
            if body is not None:
                _add_article(
                    unit,
                    ticket_id,
                    channel=channel,
                    sender=sender,
                    body=body,
                    subject=subject or title,
                    from_=from_ or customer,
                    visible=channel != "internal",
                )
                entries.append((ticket_id, _article_history(channel, sender), target.id, {"channel": channel}))
            _history(unit, entries)
            escalation.refresh(unit, [ticket_id])
            record = tickets_by_id(unit, [ticket_id])[0]
            return {**record, "created_now": True}

    @staticmethod
    def _by_external_id(unit: Unit, external_id: str) -> Record | None:
        row = unit.session.execute(ticket_select().where(Ticket.external_id == external_id)).first()
        return None if row is None else {**ticket_record(row, unit), "created_now": False}

    # Changing --------------------------------------------------------------------------

    def run(
        self,
        refs: Iterable[str],
        change: Change,
        *,
        dry_run: bool = False,
        continue_on_error: bool = False,
    ) -> list[Record]:
        """Apply ``change`` to the tickets named: atomically, or one transaction per ticket.

        Returns the tickets after the change; with ``continue_on_error`` one outcome per
        ticket (``tn``, ``ok``, ``error``, ``ticket``), raising PartialFailure with them
        when any failed. ``dry_run`` checks and computes everything, then rolls back.
        """
        tns = lookup.unique_refs(refs)
        if not continue_on_error:
            return self._apply(tns, change, dry_run=dry_run)
        outcomes: list[Record] = []
        for tn in tns:
            try:
                (ticket,) = self._apply([tn], change, dry_run=dry_run)
                outcomes.append({"tn": tn, "ok": True, "error": None, "ticket": ticket})
            except TktctlError as exc:
                outcomes.append({"tn": tn, "ok": False, "error": exc.to_dict()["error"], "ticket": None})
        failed = sum(1 for o in outcomes if not o["ok"])
        if failed:
            raise PartialFailure(f"{failed} of {len(outcomes)} tickets failed", outcomes)
        return outcomes

    def _apply(self, tns: Sequence[str], change: Change, *, dry_run: bool) -> list[Record]:
        with self.desk.write(dry_run=dry_run) as unit:
            rows = lookup.tickets(unit, tns, lock=True)
            change(unit, rows)
            return tickets_by_id(unit, [r.id for r in rows])

    def move(self, refs: Iterable[str], to: str, **options: Any) -> list[Record]:
        def change(unit: Unit, rows: list[TicketRow]) -> None:
            target = lookup.queue(unit, to, for_write=True)
            permissions.require(unit, "ro", lookup.group_ids(unit, rows))
            permissions.require(unit, "move_into", [target.group_id])
            _guard_locks(unit, rows)
            _move(unit, rows, target.id)

        return self.run(refs, change, **options)

    def lock(self, refs: Iterable[str], *, steal: bool = False, **options: Any) -> list[Record]:
        def change(unit: Unit, rows: list[TicketRow]) -> None:
            permissions.require(unit, "owner", lookup.group_ids(unit, rows))
            if steal:
                permissions.require(unit, "rw", lookup.group_ids(unit, rows))
            mine = [r for r in rows if r.locked and r.owner_id == unit.actor.id]
            if mine:
                raise ConflictError(f"ticket {mine[0].tn} is already locked by you", ref=mine[0].tn)
            if not steal:
                _guard_locks(unit, rows)
            old = lookup.logins(unit, [r.owner_id for r in rows])
            # Atomic: only a ticket still unlocked (or, stealing, still held by the same owner) is taken.
            by_holder: dict[int | None, list[TicketRow]] = {}
            for r in rows:
                by_holder.setdefault(r.owner_id if r.locked else None, []).append(r)
            for holder, group in by_holder.items():
                guard = Ticket.locked.is_(False) if holder is None else Ticket.owner_id == holder
                _update(unit, group, {"locked": True, "owner_id": unit.actor.id}, guard)
            entries = [(r.id, "Lock", r.queue_id, {"from": "unlock", "to": "lock"}) for r in rows]
            entries += [
                (r.id, "OwnerUpdate", r.queue_id, {"from": old[r.owner_id], "to": unit.actor.login, "stolen": r.locked})
                for r in rows
                if r.owner_id != unit.actor.id
            ]
            _history(unit, entries)

        return self.run(refs, change, **options)

    def unlock(self, refs: Iterable[str], *, steal: bool = False, **options: Any) -> list[Record]:
        def change(unit: Unit, rows: list[TicketRow]) -> None:
            permissions.require(unit, "owner", lookup.group_ids(unit, rows))
            if steal:
                permissions.require(unit, "rw", lookup.group_ids(unit, rows))
            unlocked = [r for r in rows if not r.locked]
            if unlocked:
                raise ConflictError(f"ticket {unlocked[0].tn} is not locked", ref=unlocked[0].tn)
            if not steal:
                _guard_locks(unit, rows)
            _update(unit, rows, {"locked": False}, Ticket.locked.is_(True))
            owners = lookup.logins(unit, [r.owner_id for r in rows])
            _history(
                unit,
                [
                    (r.id, "Unlock", r.queue_id, {"from": "lock", "to": "unlock", "owner": owners[r.owner_id]})
                    for r in rows
                ],
            )

        return self.run(refs, change, **options)

    def prioritize(
        self,
        refs: Iterable[str],
        *,
        to: str | int | None = None,
        raise_by: int = 0,
        lower_by: int = 0,
        **options: Any,
    ) -> list[Record]:
        """Set the priority, or raise/lower it by steps, capped to 1..5."""
        if sum(x is not None and x != 0 for x in (to, raise_by, lower_by)) != 1:
            raise UsageError("give exactly one of --to, --raise or --lower")
        if raise_by < 0 or lower_by < 0:
            raise UsageError("--raise and --lower take a positive number of steps")
        absolute = parse_priority(to) if to is not None else None

        def change(unit: Unit, rows: list[TicketRow]) -> None:
            permissions.require(unit, "priority", lookup.group_ids(unit, rows))
            _guard_locks(unit, rows)
            _set_priorities(unit, rows, absolute, raise_by - lower_by)

        return self.run(refs, change, **options)

    def close(
        self, refs: Iterable[str], *, to: str = "closed successful", note: str | None = None, **options: Any
    ) -> list[Record]:
        clean_text("note", note)

        def change(unit: Unit, rows: list[TicketRow]) -> None:
            target = _target_state(unit, to, None)
            if target.type != "closed":
                raise UsageError(f"state {to!r} is not a closed state; use `ticket state --to` for that")
            permissions.require(unit, "rw", lookup.group_ids(unit, rows))
            _guard_locks(unit, rows)
            if note:
                _notes(unit, rows, note, subject="Close", visible=False)
            _set_state(unit, rows, target, None)

        return self.run(refs, change, **options)

    def reopen(self, refs: Iterable[str], *, to: str = "open", **options: Any) -> list[Record]:
        def change(unit: Unit, rows: list[TicketRow]) -> None:
            target = _target_state(unit, to, None)
            permissions.require(unit, "rw", lookup.group_ids(unit, rows))
            states = lookup.states(unit)
            not_closed = [r for r in rows if states[r.state_id].type != "closed"]
            if not_closed:
                raise ConflictError(f"ticket {not_closed[0].tn} is not closed", ref=not_closed[0].tn)
            _guard_locks(unit, rows)
            _set_state(unit, rows, target, None)

        return self.run(refs, change, **options)

    def set_state(
        self, refs: Iterable[str], *, to: str, pending_until: str | datetime | None = None, **options: Any
    ) -> list[Record]:
        def change(unit: Unit, rows: list[TicketRow]) -> None:
            target = _target_state(unit, to, unit.parse_time(pending_until))
            permissions.require(unit, "rw", lookup.group_ids(unit, rows))
            _guard_locks(unit, rows)
            _set_state(unit, rows, target, unit.parse_time(pending_until))

        return self.run(refs, change, **options)

    def assign(self, refs: Iterable[str], *, to: str, responsible: bool = False, **options: Any) -> list[Record]:
        """Set the owner (or, with ``responsible``, the responsible agent)."""

        def change(unit: Unit, rows: list[TicketRow]) -> None:
            agent = lookup.agent(unit, to, for_write=True)
            permissions.require(unit, "owner", lookup.group_ids(unit, rows))
            _guard_locks(unit, rows)
            current = (lambda r: r.responsible_id) if responsible else (lambda r: r.owner_id)
            changing = [r for r in rows if current(r) != agent.id]
            if not changing:
                return
            column = "responsible_id" if responsible else "owner_id"
            _update(unit, changing, {column: agent.id})
            old = lookup.logins(unit, [current(r) for r in changing])
            kind = "ResponsibleUpdate" if responsible else "OwnerUpdate"
            _history(
                unit,
                [
                    (r.id, kind, r.queue_id, {"from": old.get(current(r)) if current(r) else None, "to": agent.login})
                    for r in changing
                ],
            )

        return self.run(refs, change, **options)

    def note(
        self, ref: str, *, body: str, subject: str | None = None, internal: bool = False, **options: Any
    ) -> Record:
        """Add a note article; ``internal`` hides it from the customer."""
        clean_text("body", body, required=True)
        clean_text("subject", subject)

        def change(unit: Unit, rows: list[TicketRow]) -> None:
            permissions.require(unit, "note", lookup.group_ids(unit, rows))
            _notes(unit, rows, body, subject=subject or "Note", visible=not internal)

        result = self.run([ref], change, **options)
        return result[0]


def _notes(unit: Unit, rows: Sequence[TicketRow], body: str, *, subject: str, visible: bool) -> None:
    for r in rows:
        _add_article(unit, r.id, channel="internal", sender="agent", body=body, subject=subject, visible=visible)
    _update(unit, rows, {})
    _history(unit, [(r.id, "AddNote", r.queue_id, {"subject": subject, "visible_to_customer": visible}) for r in rows])
    escalation.refresh(unit, [r.id for r in rows])


def _article_history(channel: str, sender: str) -> str:
    """OTRS's history type for a ticket's first article."""
    who = "Agent" if sender == "agent" else "Customer"
    return {"email": f"Email{who}", "phone": f"PhoneCall{who}", "web": f"WebRequest{who}"}.get(channel, "AddNote")
