"""Escalation deadlines after OTRS, kept on the ticket, and the run that fires what is due.

Deadlines (each in the queue's business calendar; a queue without one counts 24/7):

- first response: creation + the queue's first response time, until the first agent
  article visible to the customer;
- update: the last customer contact + the update time. As OTRS: the clock starts at the
  first customer article after the last agent answer, or at that answer when the agent
  spoke last, or at creation when no one did; pending states stop it;
- solution: creation + the solution time, until the ticket is first closed (a reopened
  ticket does not escalate on solution again).

Closed, removed and merged tickets have none. :func:`refresh` recomputes them in the
transaction of every change that can move them, together with ``escalation_check_at``:
the next instant at which :meth:`Escalations.run` has something to do for the ticket
(a warning, a deadline, or a repeat after the decay time). Finding due tickets is then an
index range scan on that column, and a ticket that has fired waits for its next instant
instead of being looked at again on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import func, insert, select, update

from tktctl.access import permissions
from tktctl.core import joblock, lookup
from tktctl.core.lookup import chunks
from tktctl.db.models import Article, Calendar, Notification, Queue, Ticket
from tktctl.errors import TktctlError
from tktctl.sla.businesstime import Calendar as BusinessCalendar
from tktctl.sla.businesstime import add_working, build, working_between
from tktctl.text import plural

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

KINDS = ("response", "update", "solution")
EVENT_NAMES = {"response": "ResponseTime", "update": "UpdateTime", "solution": "SolutionTime"}
DEFAULT_DECAY_MINUTES = 24 * 60
ENDED_TYPES = ("closed", "removed", "merged")
Record = dict[str, Any]


@dataclass(frozen=True)
class Sla:
    """A queue's escalation settings."""

    id: int
    name: str
    minutes: dict[str, int | None]
    notify: dict[str, int | None]
    calendar: str | None
    raise_by: int
    escalate_to: int | None
    notify_mail: bool
    decay: timedelta

    @property
    def any(self) -> bool:
        return any(self.minutes.values())


def slas(unit: Unit) -> dict[int, Sla]:
    """Every queue's settings, read once per transaction."""
    if "slas" not in unit.cache:
        rows = unit.session.scalars(select(Queue))
        unit.cache["slas"] = {
            q.id: Sla(
                q.id,
                q.name,
                {"response": q.first_response_time, "update": q.update_time, "solution": q.solution_time},
                {"response": q.first_response_notify, "update": q.update_notify, "solution": q.solution_notify},
                q.calendar,
                q.escalate_raise or 0,
                q.escalate_to_id,
                q.escalate_notify,
                timedelta(minutes=q.escalation_decay if q.escalation_decay is not None else DEFAULT_DECAY_MINUTES),
            )
            for q in rows
        }
    return unit.cache["slas"]


def calendars(unit: Unit) -> dict[str, BusinessCalendar]:
    """Every business calendar by name, read once per transaction."""
    if "calendars" not in unit.cache:
        unit.cache["calendars"] = {
            c.name: build(c.timezone, c.hours, c.holidays) for c in unit.session.scalars(select(Calendar))
        }
    return unit.cache["calendars"]


def calendar_of(unit: Unit, sla: Sla) -> BusinessCalendar | None:
    """The queue's calendar; a queue without one (or naming none that exists) counts 24/7."""
    return calendars(unit).get(sla.calendar) if sla.calendar else None


class Plan(NamedTuple):
    """One ticket's deadlines and warning instants by kind."""

    deadlines: dict[str, datetime | None]
    warnings: dict[str, datetime | None]


def _plan(cal: BusinessCalendar | None, sla: Sla, starts: dict[str, datetime | None]) -> Plan:
    deadlines: dict[str, datetime | None] = {}
    warnings: dict[str, datetime | None] = {}
    for kind in KINDS:
        minutes, start, percent = sla.minutes[kind], starts[kind], sla.notify[kind]
        if not minutes or start is None:
            deadlines[kind] = warnings[kind] = None
            continue
        deadlines[kind] = add_working(cal, start, minutes)
        warnings[kind] = add_working(cal, start, minutes * percent // 100) if percent else None
    return Plan(deadlines, warnings)


def next_check(plan: Plan, fired: datetime | None, decay: timedelta) -> datetime | None:
    """The next instant the escalation run has work for this ticket, or None."""
    instants = [t for t in (*plan.deadlines.values(), *plan.warnings.values()) if t is not None]
    pending = [t for t in instants if fired is None or t > fired]
    if fired is not None and any(d is not None and d <= fired for d in plan.deadlines.values()):
        pending.append(fired + decay)
    return min(pending, default=None)


def _update_starts(unit: Unit, ids: Sequence[int]) -> tuple[set[int], dict[int, datetime]]:
    """Which tickets had a first response, and when each one's update clock started (if by an article)."""
    visible = Article.visible_to_customer.is_(True)
    last_agent = dict(
        unit.session.execute(
            select(Article.ticket_id, func.max(Article.created))
            .where(Article.ticket_id.in_(ids), Article.sender == "agent", visible)
            .group_by(Article.ticket_id)
        ).all()
    )
    starts: dict[int, datetime] = dict(last_agent)
    customer = unit.session.execute(
        select(Article.ticket_id, Article.created)
        .where(Article.ticket_id.in_(ids), Article.sender == "customer", visible)
        .order_by(Article.ticket_id, Article.created)
    )
    unanswered: set[int] = set()
    for ticket_id, created in customer:
        answered = last_agent.get(ticket_id)
        if (answered is None or created > answered) and ticket_id not in unanswered:
            starts[ticket_id] = created
            unanswered.add(ticket_id)
    return set(last_agent), starts


def refresh(unit: Unit, ticket_ids: Iterable[int]) -> None:
    """Recompute the tickets' deadlines and next check; call it after any change that may move them."""
    ids = sorted(set(ticket_ids))
    queues = slas(unit)
    if not ids or not any(s.any for s in queues.values()):
        _without_slas(unit, ids)
        return
    states = lookup.states(unit)
    columns = (Ticket.id, Ticket.queue_id, Ticket.state_id, Ticket.created, Ticket.first_closed_at)
    for part in chunks(ids):
        rows = unit.session.execute(select(*columns, Ticket.escalation_fired_at).where(Ticket.id.in_(part))).all()
        responded, update_starts = _update_starts(unit, part)
        values: list[dict[str, Any]] = []
        for ticket_id, queue_id, state_id, created, first_closed, fired in rows:
            sla = queues[queue_id]
            kind = states[state_id].type
            if kind == "closed" and first_closed is None:
                first_closed = unit.now
            ended = kind in ENDED_TYPES
            starts: dict[str, datetime | None] = {
                "response": None if ended or ticket_id in responded else created,
                "update": None if ended or kind.startswith("pending") else update_starts.get(ticket_id, created),
                "solution": None if ended or first_closed is not None else created,
            }
            plan = _plan(calendar_of(unit, sla), sla, starts)
            values.append(_columns(ticket_id, plan, first_closed, next_check(plan, fired, sla.decay)))
        unit.session.execute(update(Ticket), values, execution_options={"synchronize_session": False})


def _columns(ticket_id: int, plan: Plan, first_closed: datetime | None, check: datetime | None) -> dict[str, Any]:
    deadlines = [d for d in plan.deadlines.values() if d is not None]
    return {
        "id": ticket_id,
        "escalation_response_at": plan.deadlines["response"],
        "escalation_update_at": plan.deadlines["update"],
        "escalation_solution_at": plan.deadlines["solution"],
        "escalation_at": min(deadlines, default=None),
        "escalation_response_warn_at": plan.warnings["response"],
        "escalation_update_warn_at": plan.warnings["update"],
        "escalation_solution_warn_at": plan.warnings["solution"],
        "escalation_check_at": check,
        "first_closed_at": first_closed,
    }


def _without_slas(unit: Unit, ids: Sequence[int]) -> None:
    """No queue has an SLA: clear any deadlines, and remember when tickets were first closed."""
    closed = [s.id for s in lookup.states(unit).values() if s.type == "closed"]
    cleared = {f"escalation_{k}_{w}": None for k in KINDS for w in ("at", "warn_at")}
    cleared.update(escalation_at=None, escalation_check_at=None)
    for part in chunks(ids):
        for statement in (
            update(Ticket).where(Ticket.id.in_(part), Ticket.escalation_check_at.is_not(None)).values(cleared),
            update(Ticket)
            .where(Ticket.id.in_(part), Ticket.first_closed_at.is_(None), Ticket.state_id.in_(closed))
            .values(first_closed_at=unit.now),
        ):
            unit.session.execute(statement, execution_options={"synchronize_session": False})


def refresh_queues(unit: Unit, queue_ids: Iterable[int]) -> None:
    """After a queue's SLA or calendar changed: recompute its tickets that are still running."""
    unit.cache.pop("slas", None)
    unit.cache.pop("calendars", None)
    ended = [s.id for s in lookup.states(unit).values() if s.type in ENDED_TYPES]
    statement = select(Ticket.id).where(Ticket.queue_id.in_(list(queue_ids)), Ticket.state_id.not_in(ended))
    refresh(unit, unit.session.scalars(statement).all())


# Showing ------------------------------------------------------------------------------


def record(unit: Unit | None, row: Any) -> Record | None:
    """The ticket record's ``escalation`` object, or None when it has no deadlines."""
    deadlines = {k: getattr(row, f"escalation_{k}_at") for k in KINDS}
    if all(d is None for d in deadlines.values()):
        return None
    cal = None
    now = None
    if unit is not None:
        sla = slas(unit)[row.queue_id]
        cal = calendar_of(unit, sla)
        now = unit.now
    result: Record = {"at": min(d for d in deadlines.values() if d is not None)}
    for kind, deadline in deadlines.items():
        if deadline is None:
            result[kind] = None
            continue
        left = None if now is None else int(working_between(cal, now, deadline).total_seconds() // 60)
        result[kind] = {
            "deadline": deadline,
            "breached": None if now is None else deadline <= now,
            "working_minutes_left": left,
        }
    return result


# Running ------------------------------------------------------------------------------

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
    from tktctl.tickets import changes

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
    """Tell the agents subscribed to the queue (who may read the ticket), through the durable outbox."""
    from tktctl.mail import outbound

    by_event: dict[str, list[int]] = {}
    for note in notes:
        by_event.setdefault(note["event"], []).append(note["ticket_id"])
    for event, ticket_ids in by_event.items():
        outbound.notify_agents(unit, ticket_ids, event)


def _notification(unit: Unit, row: Any, event: str, data: dict[str, Any]) -> dict[str, Any]:
    from tktctl.isotime import iso

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
    from tktctl.tickets import changes

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
