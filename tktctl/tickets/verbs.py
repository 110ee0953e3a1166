"""Tickets: create, show, list, and every change of the lifecycle, each with its history.

Every verb locks its tickets with one SELECT (by number or by filter), checks permissions
and locks, then changes them with the set-based primitives of :mod:`changes` in the same
transaction; with ``continue_on_error``, one transaction per ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.core.stream import BATCH, stream
from tktctl.core.vocabulary import (
    CHANNELS,
    SENDERS,
    check_body,
    check_limit,
    choice,
    clean_line,
    clean_text,
    parse_priority,
)
from tktctl.db.models import Agent, History, Ticket
from tktctl.db.sqljson import json_object
from tktctl.errors import PartialFailure, TktctlError, UsageError
from tktctl.sla import deadlines
from tktctl.text import plural
from tktctl.tickets import changes, counts, links, timeacct
from tktctl.tickets import fields as custom_fields
from tktctl.tickets.attach import File, check_files, notes_written, store_files
from tktctl.tickets.changes import Entry, Selected, name_of
from tktctl.tickets.guards import (
    assign_change,
    custom_fields_change,
    move_change,
    prioritize_change,
    require,
    select_visible,
    state_change,
)
from tktctl.tickets.numbering import insert_new_ticket, next_number, skips_held_numbers
from tktctl.tickets.records import (
    articles,
    by_external_id,
    history_records,
    inserted_ticket,
    raw_ticket_select,
    stream_tickets,
    ticket_record,
    tickets_by_id,
    time_reader,
)
from tktctl.tickets.selection import BulkResult, Selection, TicketFilter, filter_clauses, order_by_keys
from tktctl.tickets.watch import watchers_of

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

Change = Callable[["Unit", Selected], int]


class Tickets:
    """Ticket operations of one desk; each call is one transaction (or one per ticket)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # Reading -------------------------------------------------------------------------

    def show(self, ref: str) -> Record:
        """The ticket with its articles (and their attachments' metadata)."""
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            record = tickets_by_id(unit, [row.id])[0]
            record["watchers"] = watchers_of(unit, row.id)
            record["articles"] = articles(unit, row.id)
            record.update(links.relations(unit, row.id, row.tn))
            return record

    def list(
        self,
        selection: TicketFilter | None = None,
        *,
        sort: str | None = None,
        limit: int | None = None,
        batch: int = BATCH,
    ) -> Iterator[Record]:
        """Matching tickets, streamed from the database in batches."""
        if limit is not None:
            check_limit(limit)
        with self.store.read() as unit:
            statement = raw_ticket_select().where(*filter_clauses(unit, selection or TicketFilter()))
            statement = statement.order_by(*order_by_keys(sort))
            if limit is not None:
                statement = statement.limit(limit)
            time = time_reader(unit.session.connection().dialect)
            for part in stream(unit, statement, batch=batch):
                records = [ticket_record(row, unit, time) for row in part]
                custom_fields.add_to(unit, records)
                yield from records

    def history(self, ref: str) -> list[Record]:
        return list(self.history_stream(ref))  # the whole history, oldest first

    def history_stream(self, ref: str, *, batch: int = BATCH) -> Iterator[Record]:
        """The ticket's history, oldest first, streamed (a ticket may have 100,000 entries)."""
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            yield from history_records(unit, History.ticket_id == row.id, batch=batch)

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
        fields: Mapping[str, Any] | None = None,
        attachments: Sequence[File] = (),
    ) -> Record:
        """Open a ticket (and its first article when there is a body, with ``attachments``).

        ``fields`` sets custom fields (``{"env": "prod"}``), checked before anything is written.

        With ``external_id``, an existing ticket with that key is returned unchanged and
        ``created_now`` is false, also when retries race each other.
        """
        changes.clean_ticket_text({"title": title, "customer": customer, "type": type, "external_id": external_id})
        for kind, value in (("subject", subject), ("body", body)):
            clean_text(kind, value)
        clean_line("from", from_)
        check_body("body", body, self.store.max_body_bytes)
        choice("channel", channel, CHANNELS)
        sender = choice("sender", sender or ("agent" if channel == "internal" else "customer"), SENDERS)
        priority_id = parse_priority(priority)
        files = check_files(self.store, attachments)
        if files and body is None:
            raise UsageError("attachments go on the first article: give --body too")
        with self.store.write() as unit:
            target = lookup.queue_info(unit, queue)
            permissions.require(unit, "create", [target.group_id])
            if external_id is not None:
                existing = by_external_id(unit, external_id)
                if existing is not None:
                    return existing
            lookup.writable(target)
            lookup.ticket_type(unit, type)
            parsed = custom_fields.parse(unit, fields or {})
            until = unit.parse_time(pending_until)
            start = changes.target_state(unit, state, until)
            owning = lookup.agent(unit, owner, for_write=True) if owner else unit.actor
            answering = lookup.agent(unit, responsible, for_write=True) if responsible else None
            # Unchecked where the INSERT skips a number held and takes the next (insert_new_ticket).
            tn = next_number(unit, checked=not skips_held_numbers(unit))
            # The counter's row lock serialises creators: a racing retry of the same key sees ours now.
            if external_id is not None:
                existing = by_external_id(unit, external_id)
                if existing is not None:
                    return existing
            values = {"title": title, "priority_id": priority_id, "customer": customer, "type": type}
            values.update(pending_until=until, external_id=external_id, owner_id=owning.id)
            values.update(responsible_id=answering and answering.id, queue_id=target.id, state_id=start.id)
            ticket_id, tn = insert_new_ticket(unit, tn, **values)
            data = changes.new_ticket_data(tn, target.name, start.name, priority_id)
            entries: list[tuple[int, str, int, dict[str, Any]]] = [(ticket_id, "NewTicket", target.id, data)]
            article_id = None
            if body is not None:
                article_id = changes.add_article(
                    unit,
                    ticket_id,
                    channel=channel,
                    sender=sender,
                    body=body,
                    subject=subject or title,
                    from_=from_ or customer,
                    visible=channel != "internal",
                    refresh=False,  # done below, once
                )
                entries.append((ticket_id, changes.article_history(channel, sender), target.id, {"channel": channel}))
                store_files(unit, [article_id], files)
            changes.add_history(unit, entries)
            if parsed:  # a selection's clauses cost ~0.25M instructions to build: none without fields
                custom_fields.write(unit, changes.Selected.of([ticket_id]), parsed)
            articles = {ticket_id: article_id} if article_id is not None else {}
            unit.publish("TicketCreate", [ticket_id], articles=articles, sender=sender)
            if deadlines.refresh_created(unit, ticket_id, target.id, start.type) or parsed:
                record = tickets_by_id(unit, [ticket_id])[0]  # its deadlines and fields as written
            else:  # nothing written but what the create knows: its record without reading it back
                names = (target.name, start, owning.login, answering and answering.login)
                record = inserted_ticket(unit, ticket_id, tn, values, names)
            return {**record, "created_now": True}

    # Changing --------------------------------------------------------------------------

    def run(
        self,
        selection: Selection,
        change: Change,
        *,
        dry_run: bool = False,
        continue_on_error: bool = False,
        progress: Callable[[int], None] | None = None,
        moving: bool = False,
    ) -> BulkResult:
        """Apply ``change`` to the tickets named or filtered: atomically, or one transaction per ticket.

        Atomic runs yield the tickets after the change (read after the commit; inside the
        transaction for ``dry_run``, which checks and computes everything, then rolls back).
        With ``continue_on_error`` one outcome per ticket (``tn``, ``ok``, ``changed``,
        ``error``, ``ticket``), raising PartialFailure with them when any failed.
        ``progress`` is called with the number of tickets done after each step. ``moving``: the
        change moves tickets (the selecting read notes what the move refreshes, see ``select_visible``).
        """
        if not continue_on_error:
            result = self._apply(selection, change, dry_run=dry_run, moving=moving)
            if progress is not None:
                progress(result.matched)
            return result
        outcomes: list[Record] = []
        changed = 0
        for tn in self._numbers(selection):
            try:
                done = self._apply([tn], change, dry_run=dry_run, moving=moving)
                (ticket,) = done
                outcomes.append({"tn": tn, "ok": True, "changed": bool(done.changed), "error": None, "ticket": ticket})
                changed += done.changed
            except TktctlError as exc:
                outcomes.append(
                    {"tn": tn, "ok": False, "changed": False, "error": exc.to_dict()["error"], "ticket": None}
                )
            if progress is not None:
                progress(1)
        failed = sum(1 for o in outcomes if not o["ok"])
        if failed:
            raise PartialFailure(f"{failed} of {plural(len(outcomes), 'ticket')} failed", outcomes)
        return BulkResult(outcomes, len(outcomes), changed)

    def _numbers(self, selection: Selection) -> list[str]:
        """The ticket numbers of a selection, for one transaction per ticket."""
        if not isinstance(selection, TicketFilter):
            return lookup.unique_refs(selection)
        with self.store.read() as unit:
            statement = select(Ticket.tn).where(*filter_clauses(unit, selection)).order_by(Ticket.id)
            return list(unit.session.scalars(statement))

    def _apply(self, selection: Selection, change: Change, *, dry_run: bool, moving: bool) -> BulkResult:
        with self.store.write(dry_run=dry_run) as unit:
            sel = select_visible(unit, selection, moving=moving)
            changed = change(unit, sel)
            if dry_run:
                return BulkResult(tickets_by_id(unit, sel.ids), len(sel.ids), changed)
        numbers = None if sel.numbers is None else partial(iter, sel.numbers)  # as read with the lock
        return BulkResult(stream_tickets(self.store, sel.ids), len(sel.ids), changed, numbers)

    def count(self, selection: TicketFilter | None = None) -> int:
        """How many tickets match."""
        return counts.count(self.store, selection)

    def stats(self, by: Sequence[str] = ("queue",), selection: TicketFilter | None = None) -> list[Record]:
        """Ticket counts and time units grouped by ``by`` (queue, state, state_type, priority, owner, lock)."""
        return counts.stats(self.store, by, selection)

    def move(self, selection: Selection, to: str, **options: Any) -> BulkResult:
        return self.run(selection, lambda unit, sel: move_change(unit, sel, to), moving=True, **options)

    def lock(self, selection: Selection, *, steal: bool = False, **options: Any) -> BulkResult:
        def change(unit: Unit, sel: Selected) -> int:
            require(unit, "owner", sel)
            if steal:
                require(unit, "rw", sel)
            changes.refuse(
                unit,
                sel,
                "ticket {tn} is already locked by you",
                Ticket.locked.is_(True),
                Ticket.owner_id == unit.actor.id,
            )
            if not steal:
                changes.guard_locks(unit, sel)
            entries = [
                Entry("Lock", json_object(("from", "unlock"), ("to", "lock")), when=(Ticket.locked.is_(False),)),
                # A steal: the ticket was locked already, by the agent the history names.
                Entry(
                    "Lock",
                    json_object(("from", "lock"), ("to", "lock"), ("stolen_from", name_of(Ticket.owner_id, Agent))),
                    when=(Ticket.locked.is_(True),),
                ),
                Entry(
                    "OwnerUpdate",
                    json_object(
                        ("from", name_of(Ticket.owner_id, Agent)),
                        ("to", unit.actor.login),
                        ("stolen", Ticket.locked),
                    ),
                    when=(Ticket.owner_id != unit.actor.id,),
                ),
            ]
            return changes.apply(unit, sel, {"locked": True, "owner_id": unit.actor.id}, entries)

        return self.run(selection, change, **options)

    def unlock(self, selection: Selection, *, steal: bool = False, **options: Any) -> BulkResult:
        def change(unit: Unit, sel: Selected) -> int:
            require(unit, "owner", sel)
            if steal:
                require(unit, "rw", sel)
            changes.refuse(unit, sel, "ticket {tn} is not locked", Ticket.locked.is_(False))
            if not steal:
                changes.guard_locks(unit, sel)
            data = json_object(("from", "lock"), ("to", "unlock"), ("owner", name_of(Ticket.owner_id, Agent)))
            return changes.apply(unit, sel, {"locked": False}, [Entry("Unlock", data)])

        return self.run(selection, change, **options)

    def prioritize(
        self,
        selection: Selection,
        *,
        to: str | int | None = None,
        raise_by: int = 0,
        lower_by: int = 0,
        **options: Any,
    ) -> BulkResult:
        """Set the priority, or raise/lower it by steps, capped to 1..5."""
        if sum(x is not None and x != 0 for x in (to, raise_by, lower_by)) != 1:
            raise UsageError("give exactly one of --to, --raise or --lower")
        if raise_by < 0 or lower_by < 0:
            raise UsageError("--raise and --lower take a positive number of steps")
        absolute = parse_priority(to) if to is not None else None

        steps = max(-4, min(4, raise_by - lower_by))  # four steps reach either end of 1..5; fits any database
        return self.run(selection, lambda unit, sel: prioritize_change(unit, sel, absolute, steps), **options)

    def close(
        self, selection: Selection, *, to: str = "closed successful", note: str | None = None, **options: Any
    ) -> BulkResult:
        clean_text("note", note)
        check_body("note", note, self.store.max_body_bytes)

        def change(unit: Unit, sel: Selected) -> int:
            target = changes.target_state(unit, to, None)
            if target.type != "closed":
                raise UsageError(f"state {to!r} is not a closed state; use `ticket state --to` for that")
            require(unit, "rw", sel)
            changes.guard_locks(unit, sel)
            if note:
                changes.add_notes(unit, sel, note, subject="Close", visible=False)
                notes_written(unit, sel, ())
            return changes.set_state(unit, sel, target, None)

        return self.run(selection, change, **options)

    def reopen(self, selection: Selection, *, to: str = "open", **options: Any) -> BulkResult:
        def change(unit: Unit, sel: Selected) -> int:
            target = changes.target_state(unit, to, None)
            require(unit, "rw", sel)
            closed = lookup.state_ids_of_types(unit, ["closed"])
            changes.refuse(unit, sel, "ticket {tn} is not closed", Ticket.state_id.not_in(closed))
            changes.guard_locks(unit, sel)
            return changes.set_state(unit, sel, target, None)

        return self.run(selection, change, **options)

    def set_state(
        self, selection: Selection, *, to: str, pending_until: str | datetime | None = None, **options: Any
    ) -> BulkResult:
        def change(unit: Unit, sel: Selected) -> int:
            return state_change(unit, sel, to, unit.parse_time(pending_until))

        return self.run(selection, change, **options)

    def assign(self, selection: Selection, *, to: str, responsible: bool = False, **options: Any) -> BulkResult:
        """Set the owner (or, with ``responsible``, the responsible agent)."""

        return self.run(selection, lambda unit, sel: assign_change(unit, sel, to, responsible=responsible), **options)

    def set_fields(self, selection: Selection, values: Mapping[str, Any], **options: Any) -> BulkResult:
        """Set custom fields (``{"env": "prod", "cost": None}``: None or "" clears), as `ticket set`."""
        if not values:
            raise UsageError("give at least one FIELD=VALUE")
        return self.run(selection, lambda unit, sel: custom_fields_change(unit, sel, dict(values)), **options)

    def note(
        self,
        selection: str | Selection,
        *,
        body: str,
        subject: str | None = None,
        internal: bool = False,
        time_units: float | str | None = None,
        attachments: Sequence[File] = (),
        **options: Any,
    ) -> Any:
        """Add a note article (with ``attachments``) to each ticket; ``internal`` hides it from the
        customer; ``time_units`` are accounted on each note (TimeAccounting).

        Given one ticket number as a string, returns that ticket's record.
        """
        clean_text("body", body, required=True)
        check_body("body", body, self.store.max_body_bytes)
        clean_text("subject", subject)
        units = timeacct.check_units(time_units)
        files = check_files(self.store, attachments)

        def change(unit: Unit, sel: Selected) -> int:
            require(unit, "note", sel)
            done = changes.add_notes(unit, sel, body, subject=subject or "Note", visible=not internal)
            notes_written(unit, sel, files)
            return done if units is None else max(done, timeacct.account(unit, sel, units))

        if isinstance(selection, str):
            return next(iter(self.run([selection], change, **options)))
        return self.run(selection, change, **options)
