"""Watching tickets (OTRS's TicketWatcher): an agent asks to hear of a ticket's events.

Watchers are recipients of the notification rules naming ``watchers``. Watching is a change of
the ticket like any other: the tickets are locked and checked by the verbs' primitives, and each
change writes OTRS's ``Subscribe`` / ``Unsubscribe`` history row, set-based.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, delete, exists, insert, literal, not_, or_, select

from tktctl.access import permissions
from tktctl.core import lookup
from tktctl.core.record import Record
from tktctl.db.models import Agent, Queue, Ticket, TicketWatcher
from tktctl.db.sqljson import json_object
from tktctl.db.types import UTCDateTime
from tktctl.errors import PermissionDeniedError
from tktctl.tickets import changes
from tktctl.tickets.changes import Entry, Selected
from tktctl.tickets.guards import require
from tktctl.tickets.selection import Selection

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit


def _watcher(unit: Unit, login: str | None, sel: Selected) -> Agent:
    """The agent who watches: the actor (who sees the tickets), or another one, which needs ``rw``
    on the tickets and an agent who may read them all (it would be told of nothing else)."""
    if login is None or login == unit.actor.login:
        return unit.actor
    agent = lookup.agent(unit, login)
    require(unit, "rw", sel)
    may_read = or_(Ticket.owner_id == agent.id, permissions.holders("ro", literal(agent.id), Queue.group_id))
    for where in sel.parts:
        statement = select(Ticket.tn).join(Queue, Queue.id == Ticket.queue_id).where(*where, not_(may_read)).limit(1)
        tn = unit.session.scalar(statement)
        if tn is not None or not agent.valid:
            what = f"may not read ticket {tn}" if tn is not None else "is disabled"
            raise PermissionDeniedError(f"permission denied: agent {agent.login!r} {what}", ref=agent.login)
    return agent


def watching(agent_id: int) -> Any:
    return exists().where(TicketWatcher.ticket_id == Ticket.id, TicketWatcher.agent_id == agent_id)


def watch_change(unit: Unit, sel: Selected, login: str | None) -> int:
    agent = _watcher(unit, login, sel)
    entry = Entry("Subscribe", json_object(("agent", agent.login)))
    changed = changes.apply(unit, sel, {}, [entry], [not_(watching(agent.id))])
    for where in sel.parts:
        rows = select(Ticket.id, literal(agent.id, Integer()), literal(unit.now, UTCDateTime())).where(
            *where, not_(watching(agent.id))
        )
        unit.session.execute(insert(TicketWatcher).from_select(["ticket_id", "agent_id", "created"], rows))
    return changed


def unwatch_change(unit: Unit, sel: Selected, login: str | None) -> int:
    agent = unit.actor if login is None or login == unit.actor.login else lookup.agent(unit, login)
    if agent.id != unit.actor.id:
        require(unit, "rw", sel)  # stopping another agent's watch is taking something from it
    entry = Entry("Unsubscribe", json_object(("agent", agent.login)))
    changed = changes.apply(unit, sel, {}, [entry], [watching(agent.id)])
    for where in sel.parts:
        ids = select(Ticket.id).where(*where).scalar_subquery()
        unit.session.execute(
            delete(TicketWatcher)
            .where(TicketWatcher.agent_id == agent.id, TicketWatcher.ticket_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return changed


def watchers_of(unit: Unit, ticket_id: int) -> list[str]:
    """The logins watching a ticket, sorted."""
    statement = (
        select(Agent.login)
        .join(TicketWatcher, TicketWatcher.agent_id == Agent.id)
        .where(TicketWatcher.ticket_id == ticket_id)
        .order_by(Agent.login)
    )
    return list(unit.session.scalars(statement))


class Watchers:
    """``desk.watchers``: watch and unwatch tickets (bulk verbs, as `ticket move`)."""

    def __init__(self, store: Store, tickets: Any) -> None:
        self.store = store
        self._run = tickets.run  # the verbs' bulk runner (tickets/verbs.py shows watchers: no import back)

    def watch(self, selection: Selection, *, agent: str | None = None, **options: Any) -> Any:
        """Add the agent (default: the acting one) to the tickets' watchers."""
        return self._run(selection, lambda unit, sel: watch_change(unit, sel, agent), **options)

    def unwatch(self, selection: Selection, *, agent: str | None = None, **options: Any) -> Any:
        return self._run(selection, lambda unit, sel: unwatch_change(unit, sel, agent), **options)

    def list(self, ref: str) -> Record:
        with self.store.read() as unit:
            row = permissions.tickets(unit, [ref], lock=False)[0]
            return {"tn": row.tn, "watchers": watchers_of(unit, row.id)}
