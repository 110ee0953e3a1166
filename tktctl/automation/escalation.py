"""The escalation run, as Znuny's Maint::Ticket::Escalation and its GenericAgent events.

Finding due tickets is an index range scan on ``escalation_check_at`` (kept by
:func:`tktctl.sla.deadlines.refresh`), and a ticket that has fired waits for its next instant
instead of being looked at again on every run. What fires writes history, runs the queue's
actions (raise the priority, move on) and notifies the subscribed agents through the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from tktctl.access import permissions
from tktctl.core import joblock, lookup
from tktctl.core.lookup import chunks
from tktctl.core.record import Record
from tktctl.db.models import Notification, Ticket
from tktctl.errors import TktctlError
from tktctl.isotime import iso
from tktctl.sla.deadlines import EVENT_NAMES, KINDS, refresh, slas
from tktctl.text import plural
from tktctl.tickets import changes

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit


DUE_COLUMNS: tuple[Any, ...] = (
    Ticket.id,
    Ticket.tn,
    Ticket.queue_id,
    Ticket.priority_id,
    Ticket.escalation_response_at,
    Ticket.escalation_update_at,
    Ticket.escalation_solution_at,
    Ticket.escalation_response_warn_at,
    Ticket.escalation_update_warn_at,
    Ticket.escalation_solution_warn_at,
    Ticket.escalation_fired_at,
)


def due_select(now: datetime) -> Any:
    """Tickets with something to fire: a range scan on the escalation_check_at index."""
    return select(*DUE_COLUMNS).where(Ticket.escalation_check_at <= now)


def _due(unit: Unit, queue: str | None) -> Any:
    statement = due_select(unit.now)
    return statement if queue is None else statement.where(Ticket.queue_id == lookup.queue(unit, queue).id)


def events_of(row: Any, now: datetime, decay: timedelta) -> list[tuple[str, str, datetime]]:
    """What fires for one due ticket: (kind, stage, deadline), stage 'Start' or 'NotifyBefore'."""
    fired = row.escalation_fired_at
    found = []
    for kind in KINDS:
        deadline = getattr(row, f"escalation_{kind}_at")
        warn = getattr(row, f"escalation_{kind}_warn_at")
        if deadline is None:
            continue
        if deadline <= now:
            if fired is None or deadline > fired or fired + decay <= now:
                found.append((kind, "Start", deadline))
        elif warn is not None and warn <= now and (fired is None or warn > fired):
            found.append((kind, "NotifyBefore", deadline))
    return found


class Escalations:
    """The escalation run and the monitoring check of one desk."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def run(self, *, queue: str | None = None, dry_run: bool = False) -> list[Record]:
        """Fire every due escalation once: history, queue actions, notifications; one transaction.

        Concurrent runs are serialised on the ``escalate`` job lock, so each event fires once.
        Desk-wide maintenance run by cron as an administrator: admin only, whatever is due.
        """
        with self.store.read() as unit:
            permissions.require_admin(unit)
            # Nothing due now is an answer as good as the locked run's, without a write transaction.
            if unit.session.execute(_due(unit, queue).limit(1)).first() is None:
                return []
        with self.store.write(dry_run=dry_run) as unit:
            permissions.require_admin(unit)
            joblock.hold(unit, "escalate")
            statement = _due(unit, queue)
            # No ORDER BY: it would tempt SQLite into walking the table in id order instead of the index.
            rows = sorted(unit.session.execute(statement.with_for_update()).all(), key=lambda r: r.id)
            return _fire(unit, rows)

    def check(self, *, warn: int, crit: int) -> tuple[int, str]:
        """Nagios plugin result: (exit status 0-3, output line) for the number of escalated tickets
        the acting agent may see (a count must not tell of other groups' tickets)."""
        try:
            with self.store.read() as unit:
                statement = select(func.count()).select_from(Ticket).where(Ticket.escalation_at <= unit.now)
                visible = permissions.visible_tickets(unit)
                if visible is not None:
                    statement = statement.where(visible)
                count = unit.session.scalar(statement)
        except TktctlError as exc:
            return 3, f"ESCALATIONS UNKNOWN - {exc.message}"
        status, word = (2, "CRITICAL") if count > crit else (1, "WARNING") if count > warn else (0, "OK")
        return status, f"ESCALATIONS {word} - {plural(count, 'escalated ticket')} | escalated={count};{warn};{crit};0"


def _fire(unit: Unit, rows: Sequence[Any]) -> list[Record]:
    queues = slas(unit)
    fired: list[Record] = []
    history: list[tuple[int, str, int, dict[str, Any]]] = []
    notes: list[dict[str, Any]] = []
    starting: list[Any] = []
    for row in rows:
        sla = queues[row.queue_id]
        events = events_of(row, unit.now, sla.decay)
        mine: list[Record] = []
        for kind, stage, deadline in events:
            event = f"Escalation{EVENT_NAMES[kind]}{stage}"
            data = {"deadline": deadline, "queue": sla.name}
            history.append((row.id, event, row.queue_id, data))
            if sla.notify_mail:
                notes.append(_notification(unit, row, event, data))
            mine.append({"tn": row.tn, "event": event, "queue": sla.name, "deadline": deadline, "actions": []})
        fired += mine
        if any(stage == "Start" for _, stage, _ in events):
            starting.append((row, mine))
    changes.add_history(unit, history)
    if notes:
        unit.session.execute(insert(Notification), notes)
        _mail_agents(unit, notes)
    _actions(unit, starting)
    ids = [r.id for r in rows]
    for part in chunks(ids):
        unit.session.execute(
            update(Ticket).where(Ticket.id.in_(part)).values(escalation_fired_at=unit.now),
            execution_options={"synchronize_session": False},
        )
    refresh(unit, ids)
    return fired


def _mail_agents(unit: Unit, notes: Sequence[dict[str, Any]]) -> None:
    """Announce EscalationWarning / EscalationBreach (with the escalation's own name as ``detail``): the
    notification rules tell their recipients (by default the queue's subscribers) through the outbox."""
    by_event: dict[str, list[int]] = {}
    for note in notes:
        by_event.setdefault(note["event"], []).append(note["ticket_id"])
    for detail, ticket_ids in by_event.items():
        event = "EscalationWarning" if detail.endswith("NotifyBefore") else "EscalationBreach"
        unit.publish(event, ticket_ids, detail=detail)


def _notification(unit: Unit, row: Any, event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "ticket_id": row.id,
        "event": event,
        "queue_id": row.queue_id,
        "data": {k: iso(v) if isinstance(v, datetime) else v for k, v in data.items()},
        "created": unit.now,
        "sent_at": unit.now,  # handed to the mail outbox in this transaction (see _mail_agents)
    }


def _actions(unit: Unit, starting: Sequence[tuple[Any, list[Record]]]) -> None:
    """The queues' actions for tickets whose escalation started: raise the priority, move on."""
    queues = slas(unit)
    by_raise: dict[int, list[Any]] = {}
    by_target: dict[int, list[Any]] = {}
    for row, records in starting:
        sla = queues[row.queue_id]
        if sla.raise_by and row.priority_id < 5:
            by_raise.setdefault(sla.raise_by, []).append(row)
            for r in records:
                r["actions"].append(f"priority {row.priority_id}->{min(5, row.priority_id + sla.raise_by)}")
        if sla.escalate_to is not None and sla.escalate_to != row.queue_id:
            by_target.setdefault(sla.escalate_to, []).append(row)
            for r in records:
                r["actions"].append(f"move to {queues[sla.escalate_to].name}")
        if sla.notify_mail:
            for r in records:
                r["actions"].append("notify")
    for steps, group in by_raise.items():
        changes.set_priorities(unit, changes.Selected.of([r.id for r in group]), None, steps)
    for target, group in by_target.items():
        changes.move(unit, changes.Selected.of([r.id for r in group]), target, reason="escalation")
