"""Escalation deadlines after OTRS, kept on the ticket in the transaction of every change.

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
the next instant at which the escalation run (:mod:`tktctl.automation.escalation`) has
something to do for the ticket (a warning, a deadline, or a repeat after the decay time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import bindparam, func, select, update

from tktctl.core import lookup
from tktctl.core.configcache import configuration
from tktctl.core.lookup import chunks
from tktctl.core.prepared import ids_in
from tktctl.core.record import Record
from tktctl.db.models import Article, Calendar, Queue, Ticket
from tktctl.sla.businesstime import Calendar as BusinessCalendar
from tktctl.sla.businesstime import add_working, build, working_between

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

KINDS = ("response", "update", "solution")
EVENT_NAMES = {"response": "ResponseTime", "update": "UpdateTime", "solution": "SolutionTime"}
DEFAULT_DECAY_MINUTES = 24 * 60
ENDED_TYPES = ("closed", "removed", "merged")
# The state type whose first reach a ticket remembers (first_closed_at), whether its queue has an SLA or not.
FIRST_CLOSED = "closed"


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


@configuration("slas")
def slas(unit: Unit) -> dict[int, Sla]:
    """Every queue's settings, read once per configuration generation."""
    return {
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
        for q in unit.session.scalars(_all_queues())
    }


@cache
def _all_queues() -> Any:
    return select(Queue)


@configuration("calendars")
def calendars(unit: Unit) -> dict[str, BusinessCalendar]:
    """Every business calendar by name, read once per configuration generation."""
    return {c.name: build(c.timezone, c.hours, c.holidays) for c in unit.session.scalars(select(Calendar))}


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
    if not ids or not _timed(queues, queues):
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
            if kind == FIRST_CLOSED and first_closed is None:
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


def refresh_created(unit: Unit, ticket_id: int, queue_id: int, state_type: str) -> bool:
    """:func:`refresh` for a ticket just inserted, only where it has something to write: its queue has
    an SLA, or it starts closed (first closed now). Otherwise its columns are NULL already, and the
    statements of a refresh (two UPDATEs) are saved on every create. Whether it wrote anything."""
    if state_type == FIRST_CLOSED or _timed(slas(unit), [queue_id]):
        refresh(unit, [ticket_id])
        return True
    return False


def _timed(queues: Mapping[int, Sla], queue_ids: Iterable[int]) -> bool:
    """Whether one of these queues has an SLA: a refresh then computes deadlines; otherwise it only
    clears them and notes a first close (:func:`_without_slas`)."""
    return any(queues[q].any for q in queue_ids)


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
    closed = [s.id for s in lookup.states(unit).values() if s.type == FIRST_CLOSED]
    clear, first_closed = _clearing()
    for part in chunks(ids):
        unit.session.execute(clear, {"ids": list(part)})
        unit.session.execute(first_closed, {"ids": list(part), "closed": closed, "now": unit.now})


@cache
def _clearing() -> tuple[Any, Any]:
    """The two UPDATEs of :func:`_without_slas` (``:ids``; ``:closed`` state ids, ``:now``), built once,
    on the table (Core): no ORM session to synchronise."""
    t = Ticket.__table__.c
    cleared = {f"escalation_{k}_{w}": None for k in KINDS for w in ("at", "warn_at")}
    cleared.update(escalation_at=None, escalation_check_at=None)
    clear = update(Ticket.__table__).where(ids_in(t.id), t.escalation_check_at.is_not(None)).values(cleared)
    first_closed = (
        update(Ticket.__table__)
        .where(ids_in(t.id), t.first_closed_at.is_(None), t.state_id.in_(bindparam("closed", expanding=True)))
        .values(first_closed_at=bindparam("now"))
    )
    return clear, first_closed


def refresh_queues(unit: Unit, queue_ids: Iterable[int]) -> None:
    """After a queue's SLA or calendar changed: recompute its tickets that are still running."""
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
