"""The verbs' changes with the checks of their verb (visibility, permission, lock): what the verbs
and an import's update both run, so every door to a ticket checks the same things."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import case, or_, select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.db.models import Agent, Ticket
from tktctl.db.sqljson import json_object
from tktctl.tickets import changes, fields
from tktctl.tickets.changes import Entry, Selected, name_of
from tktctl.tickets.selection import Selection, TicketFilter, filter_clauses

if TYPE_CHECKING:
    from tktctl.core.unit import Unit


def select_visible(unit: Unit, selection: Selection, *, moving: bool = False) -> Selected:
    """Lock the selected tickets (in id order) and describe them for set-based statements, with
    their numbers from the same read (what ``-q`` prints after the change: no second read).

    The read also notes the tickets locked by another agent (``changes.guard_locks`` reads no more).
    Only tickets the agent may see are selected: a filter leaves the others out, a number of one
    is "not found" (``permissions.tickets``), so no verb tells an invisible ticket from a missing one.
    ``moving``: a filter's read also notes the tickets a move out of any SLA refreshes
    (``changes.unsettled``), sparing the move a read of its own.
    """
    if isinstance(selection, TicketFilter):
        where = filter_clauses(unit, selection)
        refreshed = [case((changes.unsettled(unit), Ticket.id))] if moving else []  # its id, else NULL
        columns = [Ticket.id, Ticket.tn, changes.foreign_owner(unit), *refreshed]  # no result processing
        statement = select(*columns).where(*where).order_by(Ticket.id).with_for_update()
        with unit.connection.execute(statement) as result:
            rows = result.cursor.fetchall()  # the driver's tuples: no Row per ticket (a filter may hold 1M)
        if not rows:
            return Selected([], [], [], [], [] if moving else None)
        ids, numbers, owners, *flags = (list(column) for column in zip(*rows, strict=True))
        locked = [(tn, owner) for tn, owner in zip(numbers, owners, strict=True) if owner is not None]
        unsettled = [i for i in flags[0] if i is not None] if moving else None
        return Selected(ids, [where], numbers, locked, unsettled)
    rows = permissions.tickets(unit, lookup.unique_refs(selection), lock=True)
    return Selected.of([r.id for r in rows], [r.tn for r in rows])


def _groups(unit: Unit, sel: Selected) -> set[int]:
    """The groups of the selected tickets' queues: what a permission is checked on."""
    known = lookup.queues(unit)
    queue_ids: set[int] = set()
    for where in sel.parts:
        queue_ids.update(unit.session.scalars(select(Ticket.queue_id).where(*where).distinct()))
    return {known[q].group_id for q in queue_ids}


def require(unit: Unit, permission: str, sel: Selected) -> None:
    """``permission`` on the selected tickets' groups (all visible to the agent, see :func:`select_visible`)."""
    permissions.require(unit, permission, _groups(unit, sel))


# The verbs' changes, each with the checks of its verb: also what an import's update runs.


def move_change(unit: Unit, sel: Selected, to: str) -> int:
    """`ticket move`: ``move_into`` on the target, the lock respected; the selection holds only
    tickets the agent may see (``ro`` on the source, or its owner: see :func:`select_visible`)."""
    target = lookup.queue(unit, to, for_write=True)
    permissions.require(unit, "move_into", [target.group_id])
    changes.guard_locks(unit, sel)
    return changes.move(unit, sel, target.id)


def prioritize_change(unit: Unit, sel: Selected, absolute: int | None, steps: int) -> int:
    """`ticket prioritize`: ``priority``, the lock respected."""
    require(unit, "priority", sel)
    changes.guard_locks(unit, sel)
    return changes.set_priorities(unit, sel, absolute, steps)


def state_change(unit: Unit, sel: Selected, to: str, pending_until: datetime | None) -> int:
    """`ticket state` (and close, reopen): ``rw``, the lock respected."""
    target = changes.target_state(unit, to, pending_until)
    require(unit, "rw", sel)
    changes.guard_locks(unit, sel)
    return changes.set_state(unit, sel, target, pending_until)


def assign_change(unit: Unit, sel: Selected, to: str, *, responsible: bool = False) -> int:
    """`ticket assign`: ``owner``, the lock respected; the owner or, with ``responsible``, the responsible agent."""
    agent = lookup.agent(unit, to, for_write=True)
    require(unit, "owner", sel)
    changes.guard_locks(unit, sel)
    column = Ticket.responsible_id if responsible else Ticket.owner_id
    data = json_object(("from", name_of(column, Agent)), ("to", agent.login))
    entry = Entry("ResponsibleUpdate" if responsible else "OwnerUpdate", data)
    differs = or_(column.is_(None), column != agent.id)
    return changes.apply(unit, sel, {column.key: agent.id}, [entry], [differs])


def fields_change(unit: Unit, sel: Selected, values: dict[str, str | None]) -> int:
    """Title, customer, type: ``rw``, the lock respected (TitleUpdate, CustomerUpdate, TypeUpdate)."""
    require(unit, "rw", sel)
    changes.guard_locks(unit, sel)
    lookup.ticket_type(unit, values.get("type"))
    return changes.set_fields(unit, sel, values)


def custom_fields_change(unit: Unit, sel: Selected, values: dict[str, object]) -> int:
    """Custom fields (`ticket set`, `--set`): values checked first, then ``rw``, the lock respected."""
    parsed = fields.parse(unit, values)
    require(unit, "rw", sel)
    changes.guard_locks(unit, sel)
    return fields.write(unit, sel, parsed)
