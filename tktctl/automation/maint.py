"""OTRS's maintenance jobs: pending states whose time has come, the unlock timeout, the
rebuild of the escalation deadlines, and the database's statistics update.

Each cron run is one transaction holding its job lock (see :mod:`joblock`), selects the due
tickets with one indexed query, changes them with set-based statements and writes their
history rows; ``dry_run`` computes everything and rolls back. The rebuild walks every
running ticket in batches of one transaction each, so it never holds a million row locks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, insert, or_, select
from sqlalchemy.orm import aliased

from tktctl.access import permissions
from tktctl.core import joblock, lookup
from tktctl.core.lookup import TICKET_ROW_COLUMNS, TicketRow
from tktctl.core.record import Record
from tktctl.db.models import Notification, Queue, Ticket
from tktctl.isotime import iso
from tktctl.sla import deadlines
from tktctl.sla.businesstime import working_between
from tktctl.tickets import changes

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

# OTRS's StateAfterPending: where a pending auto state leads when its time has passed.
AFTER_PENDING = {"pending auto close+": "closed successful", "pending auto close-": "closed unsuccessful"}
REMINDER = "PendingReminder"
# Tickets per transaction of the escalation rebuild: bounded locks and memory, few commits.
REBUILD_BATCH = 5000
# What deadlines.refresh writes: a rebuild counts a ticket as changed when any of these moved.
ESCALATION_COLUMNS = (
    Ticket.escalation_response_at,
    Ticket.escalation_update_at,
    Ticket.escalation_solution_at,
    Ticket.escalation_at,
    Ticket.escalation_response_warn_at,
    Ticket.escalation_update_warn_at,
    Ticket.escalation_solution_warn_at,
    Ticket.escalation_check_at,
    Ticket.first_closed_at,
)


def _result(job: str, row: Any, action: str, old: Any, new: Any) -> Record:
    return {"tn": row.tn, "job": job, "action": action, "from": old, "to": new}


class Maintenance:
    def __init__(self, store: Store) -> None:
        self.store = store

    def pending(self, *, dry_run: bool = False) -> list[Record]:
        """Close pending-auto tickets past their time; remind owners of pending-reminder ones (once per time).

        Desk-wide maintenance, run by cron as an administrator: admin only, as every job here.
        """
        with self.store.write(dry_run=dry_run) as unit:
            permissions.require_admin(unit)
            joblock.hold(unit, "maint-pending")
            states = lookup.states(unit)
            results: list[Record] = []
            for name, after in AFTER_PENDING.items():
                source = lookup.state(unit, name)
                rows = _locked(unit, Ticket.state_id == source.id, Ticket.pending_until <= unit.now)
                if rows:
                    changes.set_state(unit, changes.Selected.of([r.id for r in rows]), lookup.state(unit, after), None)
                results += [_result("pending", r, "state", name, after) for r in rows]
            reminder_ids = [s.id for s in states.values() if s.type == "pending reminder"]
            reminded = aliased(Notification)
            already = exists().where(
                reminded.ticket_id == Ticket.id, reminded.event == REMINDER, reminded.created >= Ticket.pending_until
            )
            rows = _locked(unit, Ticket.state_id.in_(reminder_ids), Ticket.pending_until <= unit.now, ~already)
            if rows:
                unit.session.execute(
                    insert(Notification),
                    [
                        {
                            "ticket_id": r.id,
                            "event": REMINDER,
                            "queue_id": r.queue_id,
                            "data": {"pending_until": iso(r.pending_until), "owner_id": r.owner_id},
                            "created": unit.now,
                            "sent_at": unit.now,  # handed to the notification rules (the outbox) right here
                        }
                        for r in rows
                    ],
                )
                changes.add_history(
                    unit, [(r.id, REMINDER, r.queue_id, {"pending_until": r.pending_until}) for r in rows]
                )
                unit.publish(REMINDER, [r.id for r in rows])
            results += [_result("pending", r, "reminder", None, iso(r.pending_until)) for r in rows]
            return results

    def unlock_timeout(self, *, dry_run: bool = False) -> list[Record]:
        """Unlock tickets locked longer (in the queue's working time since the last change) than its
        timeout; admin only."""
        with self.store.write(dry_run=dry_run) as unit:
            permissions.require_admin(unit)
            joblock.hold(unit, "maint-unlock-timeout")
            slas = deadlines.slas(unit)
            timeouts = {q.id: q.unlock_timeout for q in unit.session.scalars(select(Queue)) if q.unlock_timeout}
            if not timeouts:
                return []
            working = [s.id for s in lookup.states(unit).values() if s.type in ("new", "open")]
            # Working time never exceeds wall time: the wall-clock bound narrows the scan, the calendar decides.
            bounds = or_(
                *(
                    and_(Ticket.queue_id == q, Ticket.changed <= unit.now - timedelta(minutes=t))
                    for q, t in sorted(timeouts.items())
                )
            )
            statement = (
                select(*TICKET_ROW_COLUMNS, Ticket.changed)
                .where(Ticket.locked.is_(True), Ticket.state_id.in_(working), bounds)
                .order_by(Ticket.id)
                .with_for_update()
            )
            due = []
            for *fields, changed in unit.session.execute(statement):
                row = TicketRow(*fields)
                calendar = deadlines.calendar_of(unit, slas[row.queue_id])
                if working_between(calendar, changed, unit.now) >= timedelta(minutes=timeouts[row.queue_id]):
                    due.append(row)
            if due:
                owners = lookup.logins(unit, [r.owner_id for r in due])
                changes.apply(
                    unit, changes.Selected.of([r.id for r in due]), {"locked": False}, [], [Ticket.locked.is_(True)]
                )
                changes.add_history(
                    unit,
                    [
                        (r.id, "Unlock", r.queue_id, {"from": "lock", "to": "unlock", "reason": "unlock timeout"})
                        for r in due
                    ],
                )
                unit.publish("LockTimeout", [r.id for r in due])
            return [_result("unlock-timeout", r, "unlock", owners[r.owner_id], None) for r in due] if due else []

    def escalation_rebuild(
        self,
        *,
        dry_run: bool = False,
        batch_size: int = REBUILD_BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> Record:
        """Recompute the deadlines of every ticket still running; admin only (see :func:`rebuild_escalations`)."""
        return rebuild_escalations(self.store, dry_run=dry_run, batch_size=batch_size, progress=progress, admin=True)

    def analyze(self) -> list[Record]:
        """Update the database's statistics of every table (the planner's row counts and value
        spread), as a cron step after the desk has grown or changed shape; admin only."""
        from tktctl.db.models import Base

        with self.store.read() as unit:
            permissions.require_admin(unit)
        tables = [t.name for t in Base.metadata.sorted_tables]
        self.store.analyze(tables)
        return [{"table": name} for name in tables]

    def running_tickets(self) -> int:
        """How many tickets an escalation rebuild walks (for a progress bar's length); admin only."""
        with self.store.read() as unit:
            permissions.require_admin(unit)
            return unit.session.scalar(select(func.count()).where(_running(unit))) or 0


def _running(unit: Unit) -> Any:
    """Tickets that are not closed, removed or merged: the ones that can have deadlines."""
    ended = [s.id for s in lookup.states(unit).values() if s.type in deadlines.ENDED_TYPES]
    return Ticket.state_id.not_in(ended)


def rebuild_escalations(
    store: Store,
    *,
    dry_run: bool = False,
    batch_size: int = REBUILD_BATCH,
    progress: Callable[[int], None] | None = None,
    admin: bool = False,
) -> Record:
    """Recompute every running ticket's deadlines with :func:`deadlines.refresh`, as Znuny's
    Maint::Ticket::EscalationIndexRebuild, for desks after a migration or a calendar fixed in SQL.

    Batches in id order (keyset), one transaction each: lock the batch's tickets, read their
    escalation columns, refresh them set-based, read again and count those that moved. Closed
    tickets are left alone, and no history is written (a deadline is not a change of the
    ticket, as on the normal path). ``admin`` checks the acting agent in every batch;
    ``db upgrade`` runs it without (whoever may migrate the schema may do this).
    """
    tickets = changed = 0
    last = 0
    while True:
        with store.write(dry_run=dry_run) as unit:
            if admin:
                permissions.require_admin(unit)
            window = (_running(unit), Ticket.id > last)
            statement = select(Ticket.id, *ESCALATION_COLUMNS).where(*window).order_by(Ticket.id).limit(batch_size)
            before = unit.session.execute(statement.with_for_update()).all()
            if not before:
                break
            last = before[-1].id
            deadlines.refresh(unit, [r.id for r in before])
            after = set(unit.session.execute(statement.where(Ticket.id <= last)).all())
            changed += sum(1 for row in before if row not in after)
            tickets += len(before)
        if progress is not None:
            progress(len(before))
    return {"tickets": tickets, "changed": changed, "dry_run": dry_run}


def _locked(unit: Unit, *where: Any) -> list[TicketRow]:
    statement = select(*TICKET_ROW_COLUMNS).where(*where).order_by(Ticket.id).with_for_update()
    return [TicketRow(*r) for r in unit.session.execute(statement)]
