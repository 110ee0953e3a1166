"""Merge and split, as OTRS's TicketMerge and its "split" of an article into a new ticket.

Merging tickets into a target moves their articles to the target (one UPDATE per clause set,
whatever the number of tickets), leaves a note on each merged ticket, links the target (parent)
to each of them (child), sets them to the state of type ``merged`` and unlocks them, and writes
``Merged`` history on both sides. Mail to a merged ticket goes to the ticket it was merged into
(:func:`merged_into`, as OTRS's TicketCheckNumber: the chain is followed up to ten merges).

Splitting copies one article (and its attachments, byte for byte) into a new ticket, linked to
its origin as its child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, String, and_, delete, insert, literal, or_, select, update

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.core.vocabulary import clean_line, clean_text
from tktctl.db.models import Article, Attachment, History, Ticket, TicketLink
from tktctl.db.sqljson import json_object
from tktctl.db.types import UTCDateTime
from tktctl.errors import ConflictError, NotFoundError, UsageError
from tktctl.sla import deadlines
from tktctl.tickets import changes
from tktctl.tickets.attach import notes_written
from tktctl.tickets.changes import HISTORY_COLUMNS, Entry, Selected
from tktctl.tickets.guards import require
from tktctl.tickets.links import add_link, merged_state
from tktctl.tickets.numbering import new_ticket
from tktctl.tickets.records import tickets_by_id
from tktctl.tickets.selection import Selection, TicketFilter
from tktctl.tickets.verbs import BulkResult, Tickets

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

# OTRS follows a merged ticket's chain this deep at most (TicketCheckNumber).
MERGE_DEPTH = 10
MERGE_SUBJECT = "Ticket Merged"


def merge_change(unit: Unit, sel: Selected, into: str, *, narrow: bool = False) -> int:
    """`ticket merge`: ``rw`` on the merged tickets and on the target, their locks respected.

    ``narrow`` (a filter's selection): the target and tickets merged before are left out of it.
    """
    (target,) = permissions.tickets(unit, [into], lock=True)
    permissions.require(unit, "rw", lookup.group_ids(unit, [target]))
    states = lookup.states(unit)
    if states[target.state_id].type in ("merged", "removed"):
        raise ConflictError(f"ticket {target.tn} is {states[target.state_id].type}: merge into another", ref=target.tn)
    gone = [i for i, s in states.items() if s.type == "merged"]
    if narrow:
        left = {
            i
            for where in sel.parts
            for i in unit.session.scalars(select(Ticket.id).where(*where, Ticket.state_id.in_(gone)))
        }
        keep = [i for i in sel.ids if i != target.id and i not in left]
        sel = Selected(keep, [[*where, Ticket.id != target.id, Ticket.state_id.not_in(gone)] for where in sel.parts])
        if not keep:
            return 0
    if target.id in sel.ids:
        raise UsageError(f"ticket {target.tn} cannot be merged into itself")
    merged = merged_state(unit)
    require(unit, "rw", sel)
    changes.refuse(unit, sel, "ticket {tn} is already merged", Ticket.state_id.in_(gone))
    changes.guard_locks(unit, sel)
    data = json_object(("merged", Ticket.tn), ("into", target.tn))
    for where in sel.parts:
        chosen = select(Ticket.id).where(*where)
        # The articles move (the raw messages and attachments follow their article).
        statement = update(Article).where(Article.ticket_id.in_(chosen)).values(ticket_id=target.id)
        unit.session.execute(statement.execution_options(synchronize_session=False))
        # One link per pair: a link the two had before gives way to the merge's parent-child link.
        unit.session.execute(
            delete(TicketLink).where(
                or_(
                    and_(TicketLink.source_id == target.id, TicketLink.target_id.in_(chosen)),
                    and_(TicketLink.target_id == target.id, TicketLink.source_id.in_(chosen)),
                )
            )
        )
        columns = (
            select(
                literal(target.id, Integer()),
                Ticket.id,
                literal("parent-child", String()),
                literal(unit.now, UTCDateTime()),
                literal(unit.actor.id, Integer()),
            )
            .where(*where)
            .order_by(Ticket.id)
        )
        unit.session.execute(
            insert(TicketLink).from_select(["source_id", "target_id", "type", "created", "created_by"], columns)
        )
        # The target's Merged rows, one per merged ticket (as OTRS writes one per merge).
        rows = (
            select(
                literal(target.id, Integer()),
                literal("Merged", String()),
                literal(unit.actor.id, Integer()),
                literal(target.queue_id, Integer()),
                literal(unit.now, UTCDateTime()),
                data,
            )
            .where(*where)
            .order_by(Ticket.id)
        )
        unit.session.execute(insert(History).from_select(HISTORY_COLUMNS, rows))
    note = f"This ticket was merged into ticket {target.tn}."
    changes.add_notes(unit, sel, note, subject=MERGE_SUBJECT, visible=True)
    notes_written(unit, sel, ())
    changed = changes.apply(unit, sel, {}, [Entry("Merged", data)])
    changes.set_state(unit, sel, merged, None)
    unlock = Entry("Unlock", json_object(("from", "lock"), ("to", "unlock"), ("reason", "merged")))
    changes.apply(unit, sel, {"locked": False}, [unlock], [Ticket.locked.is_(True)])
    changes.apply(unit, Selected.of([target.id]), {}, [])  # the target changed too
    deadlines.refresh(unit, [target.id])
    return changed


def merged_into(unit: Unit, ticket_id: int) -> int | None:
    """The ticket a merged ticket ended up in (following merges of merges), None past MERGE_DEPTH."""
    states = lookup.states(unit)
    current = ticket_id
    for _ in range(MERGE_DEPTH):
        row = unit.session.execute(select(Ticket.tn, Ticket.state_id).where(Ticket.id == current)).one()
        if states[row.state_id].type != "merged":
            return current
        into = _merged_into_tn(unit, current, row.tn)
        found = None if into is None else unit.session.scalar(select(Ticket.id).where(Ticket.tn == into))
        if found is None:
            return current  # a merged ticket without its record of where: it stays the answer
        current = found
    return None


def _merged_into_tn(unit: Unit, ticket_id: int, tn: str) -> str | None:
    """Where the ticket's last merge took it, from its Merged history (the one naming it as merged)."""
    statement = (
        select(History.data).where(History.ticket_id == ticket_id, History.type == "Merged").order_by(History.id.desc())
    )
    for data in unit.session.scalars(statement):
        if isinstance(data, dict) and data.get("merged") == tn and isinstance(data.get("into"), str):
            return data["into"]
    return None


class Merges:
    """`ticket merge` (a bulk verb: atomic, or one transaction per ticket) and `ticket split`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def merge(self, selection: Selection, *, into: str, **options: Any) -> BulkResult:
        """Merge the tickets named or filtered into ``into``; prints the merged tickets after the change.

        A filter leaves out the target itself; naming it among the merged tickets is a usage error.
        """
        if not isinstance(selection, TicketFilter) and into.strip() in {str(r).strip() for r in selection}:
            raise UsageError(f"ticket {into.strip()} cannot be merged into itself")
        narrow = isinstance(selection, TicketFilter)

        def change(unit: Unit, sel: Selected) -> int:
            return merge_change(unit, sel, into.strip(), narrow=narrow)

        return Tickets(self.store).run(selection, change, **options)

    def split(
        self,
        ref: str,
        *,
        article: int,
        queue: str | None = None,
        title: str | None = None,
        dry_run: bool = False,
    ) -> Record:
        """A new ticket from one article of ``ref`` (copied with its attachments), its origin's child.

        Needs ``ro`` on the origin (it is read and linked) and ``create`` on the new ticket's queue.
        """
        clean_text("title", title, limit=255)
        clean_line("queue", queue)
        with self.store.write(dry_run=dry_run) as unit:
            (origin,) = permissions.tickets(unit, [ref], lock=True)
            source = unit.session.execute(
                select(Article.id, Article.subject, Article.channel, Article.sender).where(
                    Article.id == article, Article.ticket_id == origin.id
                )
            ).first()
            if source is None:
                raise NotFoundError(f"article {article} not found in ticket {origin.tn}", ref=str(article))
            target = lookup.queue(unit, queue, for_write=True) if queue else None
            if target is None:
                target = lookup.queue(unit, lookup.queues(unit)[origin.queue_id].name, for_write=True)
            permissions.require(unit, "create", [target.group_id])
            old = unit.session.execute(select(Ticket.title, Ticket.customer, Ticket.type).where(Ticket.id == origin.id))
            old_title, customer, kind = old.one()
            new_title = title or (source.subject or old_title)[:255]
            changes.clean_ticket_text({"title": new_title})
            start = lookup.state(unit, "new")
            ticket_id, tn = new_ticket(
                unit,
                title=new_title,
                queue_id=target.id,
                state_id=start.id,
                priority_id=origin.priority_id,
                owner_id=unit.actor.id,
                responsible_id=None,
                customer=customer,
                type=kind,
                pending_until=None,
                external_id=None,
            )
            article_id = _copy_article(unit, source.id, ticket_id)
            data = changes.new_ticket_data(tn, target.name, start.name, origin.priority_id)
            history = changes.article_history(source.channel, source.sender)
            changes.add_history(
                unit,
                [
                    (ticket_id, "NewTicket", target.id, {**data, "split_from_id": origin.id, "article": article}),
                    (ticket_id, history, target.id, {"channel": source.channel, "article": article_id}),
                ],
            )
            new = lookup.tickets(unit, [tn], lock=True)[0]
            add_link(unit, "parent-child", origin, new, reason="split")
            unit.publish("TicketCreate", [ticket_id], articles={ticket_id: article_id}, sender=source.sender)
            deadlines.refresh(unit, [ticket_id])
            return tickets_by_id(unit, [ticket_id])[0]


ARTICLE_COPY = (
    "channel",
    "sender",
    "a_from",
    "a_to",
    "a_cc",
    "subject",
    "body",
    "visible_to_customer",
    "content_language",  # the split ticket is in the language of the mail it came from
)
# Not the Message-ID and its references: replies to the message still find the ticket it came in on.


def _copy_article(unit: Unit, article_id: int, ticket_id: int) -> int:
    """The article and its attachments (contents included) copied into ``ticket_id``; the copy's id."""
    columns = [getattr(Article, name) for name in ARTICLE_COPY]
    row = unit.session.execute(select(*columns).where(Article.id == article_id)).one()
    values = dict(zip(ARTICLE_COPY, row, strict=True))
    new_id: int = unit.session.execute(
        insert(Article).values(ticket_id=ticket_id, created=unit.now, created_by=unit.actor.id, **values)
    ).inserted_primary_key[0]
    files = select(
        literal(new_id, Integer()), Attachment.filename, Attachment.content_type, Attachment.size, Attachment.content
    ).where(Attachment.article_id == article_id)
    unit.session.execute(
        insert(Attachment).from_select(["article_id", "filename", "content_type", "size", "content"], files)
    )
    return new_id
