"""Links between tickets, as OTRS's LinkObject for tickets: ``normal`` and ``parent-child``.

A normal link is symmetric: one row, seen from both ends. A parent-child link is directed: from
the parent to the child. Two tickets have at most one link. Linking and unlinking write
``TicketLinkAdd`` / ``TicketLinkDelete`` history on both tickets, in the same transaction.

Permissions (as OTRS, where the agent links from the ticket it works on): ``rw`` on the first
ticket named, ``ro`` on the other (an invisible ticket is "not found" on either side).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select, union_all

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.lookup import TicketRow, chunks
from tktctl.core.prepared import ids_in
from tktctl.core.record import Record
from tktctl.core.vocabulary import choice
from tktctl.db.models import History, Ticket, TicketLink
from tktctl.errors import ConflictError, UsageError
from tktctl.tickets import changes
from tktctl.tickets.changes import Selected
from tktctl.tickets.records import tickets_by_id

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

LINK_TYPES = ("normal", "parent-child")


def _ordered(kind: str, first: int, second: int) -> tuple[int, int]:
    """The row's (source, target): a normal link's lower id first, a parent-child link's parent first."""
    return (min(first, second), max(first, second)) if kind == "normal" else (first, second)


def between(a: Any, b: Any) -> ColumnElement[bool]:
    """The link (if any) between two tickets, in either direction."""
    return or_(
        and_(TicketLink.source_id == a, TicketLink.target_id == b),
        and_(TicketLink.source_id == b, TicketLink.target_id == a),
    )


def linked_ids(ticket_ids: Sequence[int]) -> Any:
    """SELECT of the ids of the tickets linked to any of ``ticket_ids`` (either end, any type)."""
    return union_all(
        select(TicketLink.target_id).where(TicketLink.source_id.in_(ticket_ids)),
        select(TicketLink.source_id).where(TicketLink.target_id.in_(ticket_ids)),
    )


def linked_to_clause(unit: Unit, refs: Sequence[str]) -> ColumnElement[bool]:
    """``--linked-to TN``: tickets linked to any of these (each must be visible to the agent)."""
    rows = permissions.tickets(unit, lookup.unique_refs(refs), lock=False)
    return Ticket.id.in_(linked_ids([r.id for r in rows]))


def import_links(unit: Unit, items: Sequence[tuple[int, str, str, str]]) -> int:
    """Links from imported records: (ticket id, other tn, type, relation of the other); returns links made.

    A link whose other ticket is not (yet) on this desk, or not visible to the agent, is left out:
    an export carries each link on both tickets, so the second of the two to arrive makes it.
    Links the desk already has between the two are kept as they are.
    """
    visible = permissions.visible_tickets(unit)
    others: dict[str, int] = {}
    for part in chunks(sorted({tn for _, tn, _, _ in items})):
        statement = select(Ticket.tn, Ticket.id).where(Ticket.tn.in_(part))
        if visible is not None:
            statement = statement.where(visible)
        others.update({tn: i for tn, i in unit.session.execute(statement)})
    wanted: dict[frozenset[int], dict[str, Any]] = {}
    for ticket_id, tn, kind, rel in items:
        other = others.get(tn)
        if other is None or other == ticket_id:
            continue
        parent_first = kind == "normal" or rel == "child"
        source, target = _ordered(kind, *((ticket_id, other) if parent_first else (other, ticket_id)))
        wanted.setdefault(frozenset((source, target)), {"source_id": source, "target_id": target, "type": kind})
    ids = sorted({i for pair in wanted for i in pair})
    for part in chunks(ids):
        for a, b in unit.session.execute(
            select(TicketLink.source_id, TicketLink.target_id).where(
                or_(TicketLink.source_id.in_(part), TicketLink.target_id.in_(part))
            )
        ):
            wanted.pop(frozenset((a, b)), None)
    rows = [{**row, "created": unit.now, "created_by": unit.actor.id} for row in wanted.values()]
    if rows:
        unit.session.execute(insert(TicketLink), rows)
    return len(rows)


def insert_link(unit: Unit, kind: str, source_id: int, target_id: int) -> None:
    """The link row alone (the caller writes its history): ``source_id`` is the parent of a parent-child link."""
    source, target = _ordered(kind, source_id, target_id)
    unit.session.execute(
        insert(TicketLink).values(
            source_id=source, target_id=target, type=kind, created=unit.now, created_by=unit.actor.id
        )
    )


def add_link(unit: Unit, kind: str, source: TicketRow, target: TicketRow, **reason: Any) -> bool:
    """Insert one link and its TicketLinkAdd history on both tickets; False when it exists already.

    The caller holds both tickets' row locks and has checked permissions. ``source`` is the parent of
    a parent-child link. A link of another type or direction between the two is a conflict.
    """
    if source.id == target.id:
        raise UsageError(f"cannot link ticket {source.tn} to itself")
    wanted = _ordered(kind, source.id, target.id)
    existing = unit.session.execute(
        select(TicketLink.source_id, TicketLink.target_id, TicketLink.type).where(between(source.id, target.id))
    ).first()
    if existing is not None:
        if (existing.source_id, existing.target_id, existing.type) == (*wanted, kind):
            return False
        raise ConflictError(
            f"tickets {source.tn} and {target.tn} are already linked ({_describe(existing, source.id)}); unlink first",
            ref=target.tn,
        )
    insert_link(unit, kind, source.id, target.id)
    entries = [
        (
            source.id,
            "TicketLinkAdd",
            source.queue_id,
            {"ticket_id": target.id, "type": kind, **_role(kind, True), **reason},
        ),
        (
            target.id,
            "TicketLinkAdd",
            target.queue_id,
            {"ticket_id": source.id, "type": kind, **_role(kind, False), **reason},
        ),
    ]
    changes.add_history(unit, entries)
    changes.apply(unit, Selected.of([source.id, target.id]), {}, [])  # both tickets changed
    return True


def _role(kind: str, is_source: bool) -> dict[str, str]:
    """What the other ticket is to this one, for the history data."""
    if kind == "normal":
        return {}
    return {"relation": "child" if is_source else "parent"}


def _describe(existing: Any, from_id: int) -> str:
    if existing.type == "normal":
        return "normal"
    return "parent-child, " + ("parent of the other" if existing.source_id == from_id else "child of the other")


def relation(kind: str, source_id: int, ticket_id: int) -> str:
    """What the linked ticket is to ``ticket_id``: ``normal``, ``parent`` or ``child``."""
    if kind == "normal":
        return "normal"
    return "child" if source_id == ticket_id else "parent"


def links_of(unit: Unit, ticket_ids: Sequence[int]) -> dict[int, list[Record]]:
    """Each ticket's links, as ``{tn, type, relation}`` of the other end, oldest link first.

    Only linked tickets the agent may see are listed (as OTRS drops those it cannot get).
    """
    found: dict[int, list[Record]] = {}
    if not ticket_ids:
        return found
    ids = list(ticket_ids)
    visible = permissions.visible_tickets(unit)
    for mine, other in ((TicketLink.source_id, TicketLink.target_id), (TicketLink.target_id, TicketLink.source_id)):
        statement = (
            select(mine.label("mine"), Ticket.tn, TicketLink.type, TicketLink.source_id, TicketLink.id)
            .join(Ticket, Ticket.id == other)
            .where(ids_in(mine))
        )
        if visible is not None:
            statement = statement.where(visible)
        for row in unit.session.execute(statement, {"ids": ids}):
            found.setdefault(row.mine, []).append(
                {"tn": row.tn, "type": row.type, "relation": relation(row.type, row.source_id, row.mine), "_id": row.id}
            )
    for records in found.values():
        records.sort(key=lambda r: r.pop("_id"))
    return found


class Links:
    """`ticket link`, `unlink`, `links`: each call one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def link(self, first: str, second: str, *, kind: str = "normal", dry_run: bool = False) -> list[Record]:
        """Link two tickets (``parent-child``: the first is the parent); returns both tickets' link records."""
        choice("link type", kind, LINK_TYPES)
        with self.store.write(dry_run=dry_run) as unit:
            source, target = self._pair(unit, first, second)
            add_link(unit, kind, source, target)
            return self._records(unit, source, target)

    def unlink(self, first: str, second: str, *, dry_run: bool = False) -> list[Record]:
        """Remove the link between two tickets (any type); TicketLinkDelete history on both."""
        with self.store.write(dry_run=dry_run) as unit:
            source, target = self._pair(unit, first, second)
            row = unit.session.execute(
                select(TicketLink.id, TicketLink.type, TicketLink.source_id).where(between(source.id, target.id))
            ).first()
            if row is None:
                raise ConflictError(f"tickets {source.tn} and {target.tn} are not linked", ref=target.tn)
            records = self._records(unit, source, target)  # the link as it was
            unit.session.execute(delete(TicketLink).where(TicketLink.id == row.id))
            entries = [
                (mine.id, "TicketLinkDelete", mine.queue_id, {"ticket_id": other.id, "type": row.type})
                for mine, other in ((source, target), (target, source))
            ]
            changes.add_history(unit, entries)
            changes.apply(unit, Selected.of([source.id, target.id]), {}, [])
            return records

    def list(self, ref: str) -> list[Record]:
        """The tickets linked to one (that the agent may see): the linked ticket's record, ``type`` and ``relation``."""
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            return _linked_records(unit, row.id, row.tn)

    @staticmethod
    def _pair(unit: Unit, first: str, second: str) -> tuple[TicketRow, TicketRow]:
        """Both tickets, locked: ``rw`` on the first, ``ro`` (visible) on the second."""
        if first.strip() == second.strip():
            raise UsageError(f"cannot link ticket {first} to itself")
        # One at a time: each not-found names only its own ticket (as every verb's does).
        (source,) = permissions.tickets(unit, [first.strip()], lock=True)
        (target,) = permissions.tickets(unit, [second.strip()], lock=True)
        permissions.require(unit, "rw", lookup.group_ids(unit, [source]))
        return source, target

    @staticmethod
    def _records(unit: Unit, source: TicketRow, target: TicketRow) -> list[Record]:
        return _linked_records(unit, source.id, source.tn, only=target.id)


def _linked_records(unit: Unit, ticket_id: int, tn: str, only: int | None = None) -> list[Record]:
    """Link records of one ticket: ``ticket`` (its tn), then the linked ticket's key fields."""
    out: list[Record] = []
    links = links_of(unit, [ticket_id]).get(ticket_id, [])
    by_tn = {t["tn"]: t for t in _tickets(unit, [link["tn"] for link in links])}
    for link in links:
        other = by_tn[link["tn"]]
        if only is not None and other["id"] != only:
            continue
        out.append(
            {
                "ticket": tn,
                "tn": link["tn"],
                "type": link["type"],
                "relation": link["relation"],
                "title": other["title"],
                "queue": other["queue"],
                "state": other["state"],
            }
        )
    return out


def _tickets(unit: Unit, tns: Sequence[str]) -> list[Record]:
    if not tns:
        return []
    ids = list(unit.session.scalars(select(Ticket.id).where(Ticket.tn.in_(list(tns)))))
    return tickets_by_id(unit, ids)


def merged_state(unit: Unit) -> lookup.StateInfo:
    """The first valid state of type merged (OTRS takes the first of StateGetStatesByType merged)."""
    for info in sorted(lookup.states(unit).values(), key=lambda s: s.id):
        if info.type == "merged" and info.valid:
            return info
    raise ConflictError("no valid state of type 'merged': add one to merge tickets")


def merge_info(unit: Unit, ticket_id: int, tn: str) -> dict[str, Any]:
    """``merged_into`` (a tn or None) and ``merged_from`` (the tns merged into it), for `ticket show`."""
    statement = (
        select(History.data).where(History.ticket_id == ticket_id, History.type == "Merged").order_by(History.id)
    )
    into: str | None = None
    merged_from: list[str] = []
    for data in unit.session.scalars(statement):
        if not isinstance(data, dict):
            continue
        if data.get("merged") == tn:
            into = data.get("into")
        elif data.get("into") == tn and data.get("merged") not in merged_from:
            merged_from.append(data["merged"])
    state = unit.session.scalar(select(Ticket.state_id).where(Ticket.id == ticket_id))
    if state is None or lookup.states(unit)[state].type != "merged":
        into = None
    return {"merged_into": into, "merged_from": merged_from}


def relations(unit: Unit, ticket_id: int, tn: str) -> Record:
    """What `ticket show` adds: ``links`` (visible linked tickets), ``merged_into``, ``merged_from``."""
    return {"links": links_of(unit, [ticket_id]).get(ticket_id, []), **merge_info(unit, ticket_id, tn)}
