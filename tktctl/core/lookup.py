"""Names to rows: queues, states, agents, tickets, with one clear not-found error each."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, Select, select

from tktctl.core.configcache import configuration
from tktctl.core.prepared import named
from tktctl.db.models import Agent, Group, NotificationRule, Priority, Queue, State, StateType, Ticket, TicketType
from tktctl.errors import ConflictError, NotFoundError, UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

T = TypeVar("T")
Q = TypeVar("Q", "Queue", "QueueInfo")
# Bound parameters per IN list: far below every backend's limit, large enough to be few round trips.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StateInfo(NamedTuple):
    id: int
    name: str
    type: str
    valid: bool


class TicketRow(NamedTuple):
    """The fields a change needs, read under the ticket's row lock."""

    id: int
    tn: str
    queue_id: int
    state_id: int
    priority_id: int
    locked: bool
    owner_id: int
    responsible_id: int | None
    pending_until: datetime | None


def queue(unit: Unit, name: str, *, for_write: bool = False) -> Queue:
    found = named(unit.session, Queue, name=name)
    if found is None:
        raise NotFoundError(f"queue {name!r} not found", ref=name)
    if for_write:
        writable(found)
    return found


def writable(found: Q) -> Q:
    """The queue, if tickets may go into it (it is enabled)."""
    if not found.valid:
        raise ConflictError(f"queue {found.name!r} is disabled", ref=found.name)
    return found


def ticket_type(unit: Unit, name: str | None, *, disabled_ok: bool = False) -> str | None:
    """A type a ticket may be given: one that exists and is valid (else exit 2 naming those accepted).

    ``disabled_ok``: any existing type (an import keeps what its records say).
    """
    if name is None:
        return None
    types = _ticket_types(unit)
    if name not in types or not (types[name] or disabled_ok):
        accepted = ", ".join(n for n, valid in types.items() if valid) or "(none: see `tktctl type create`)"
        raise UsageError(f"unknown ticket type {name!r}; valid types: {accepted}", ref=name)
    return name


@configuration("ticket_types")
def _ticket_types(unit: Unit) -> dict[str, bool]:
    rows = unit.session.execute(select(TicketType.name, TicketType.valid).order_by(TicketType.name))
    return {n: bool(v) for n, v in rows}


def group(unit: Unit, name: str) -> Group:
    found = named(unit.session, Group, name=name)
    if found is None:
        raise NotFoundError(f"group {name!r} not found", ref=name)
    return found


def agent(unit: Unit, login: str, *, for_write: bool = False) -> Agent:
    found = named(unit.session, Agent, login=login)
    if found is None:
        raise NotFoundError(f"agent {login!r} not found", ref=login)
    if for_write and not found.valid:
        raise ConflictError(f"agent {login!r} is disabled", ref=login)
    return found


@configuration("priorities")
def priority_names(unit: Unit) -> dict[int, str]:
    """Priority names by id, as the desk's table has them (read once per configuration generation)."""
    return dict(unit.connection.execute(select(Priority.id, Priority.name)).all())


@configuration("states")
def states(unit: Unit) -> dict[int, StateInfo]:
    """All states by id, read once per configuration generation (a handful of rows)."""
    return {r[0]: StateInfo(*r) for r in unit.session.execute(_states())}


@cache
def _states() -> Select[Any]:
    return select(State.id, State.name, StateType.name, State.valid).join(StateType, State.type_id == StateType.id)


def state(unit: Unit, name: str) -> StateInfo:
    for info in states(unit).values():
        if info.name == name:
            return info
    known = ", ".join(s.name for s in states(unit).values() if s.valid)
    raise NotFoundError(f"state {name!r} not found; states: {known}", ref=name)


def state_ids_of_types(unit: Unit, type_names: Iterable[str]) -> list[int]:
    wanted = list(type_names)
    known = {s.type for s in states(unit).values()}
    for name in wanted:
        if name not in known:
            raise NotFoundError(f"state type {name!r} not found; types: {', '.join(sorted(known))}", ref=name)
    return [s.id for s in states(unit).values() if s.type in wanted]


class QueueInfo(NamedTuple):
    id: int
    name: str
    group_id: int
    valid: bool


@configuration("queues")
def queues(unit: Unit) -> dict[int, QueueInfo]:
    """All queues by id, read once per configuration generation: names and groups for history and permissions."""
    rows = unit.session.execute(select(Queue.id, Queue.name, Queue.group_id, Queue.valid))
    return {r[0]: QueueInfo(*r) for r in rows}


def queue_info(unit: Unit, name: str) -> QueueInfo:
    """The queue by its exact name from :func:`queues` (no query of its own where the configuration is
    cached; a configuration write in this transaction drops that, so a new queue is there too)."""
    for info in queues(unit).values():
        if info.name == name:
            return info
    raise NotFoundError(f"queue {name!r} not found", ref=name)


def group_ids(unit: Unit, rows: Iterable[TicketRow]) -> set[int]:
    """The groups of the tickets' queues: what a permission is checked on."""
    known = queues(unit)
    return {known[r.queue_id].group_id for r in rows}


def logins(unit: Unit, ids: Iterable[int | None]) -> dict[int, str]:
    """Agent logins for ids, cached per transaction."""
    cache: dict[int, str] = unit.cache.setdefault("logins", {})
    wanted = sorted({i for i in ids if i is not None and i not in cache})
    for part in chunks(wanted):
        cache.update(unit.session.execute(select(Agent.id, Agent.login).where(Agent.id.in_(part))).all())
    return cache


def unique_refs(refs: Iterable[str]) -> list[str]:
    """Ticket numbers in first-seen order, each once; none at all is a usage error."""
    seen: dict[str, None] = {}
    for ref in refs:
        tn = str(ref).strip()
        if tn:
            seen.setdefault(tn, None)
    if not seen:
        raise UsageError("no tickets given")
    return list(seen)


TICKET_ROW_COLUMNS: tuple[Any, ...] = (
    Ticket.id,
    Ticket.tn,
    Ticket.queue_id,
    Ticket.state_id,
    Ticket.priority_id,
    Ticket.locked,
    Ticket.owner_id,
    Ticket.responsible_id,
    Ticket.pending_until,
)


def tickets(
    unit: Unit, refs: Sequence[str], *, lock: bool, visible: ColumnElement[bool] | None = None
) -> list[TicketRow]:
    """The tickets named, in the order given; ``lock`` takes their row locks (in id order).

    A ticket outside ``visible`` (see ``permissions.tickets``) is reported exactly as a missing one.
    """
    found: dict[str, TicketRow] = {}
    for part in chunks(refs):
        statement = select(*TICKET_ROW_COLUMNS).where(Ticket.tn.in_(part)).order_by(Ticket.id)
        if visible is not None:
            statement = statement.where(visible)
        if lock:
            statement = statement.with_for_update()
        for row in unit.session.execute(statement):
            found[row.tn] = TicketRow(*row)
    missing = [ref for ref in refs if ref not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NotFoundError(f"ticket {shown} not found", ref=missing[0])
    return [found[ref] for ref in refs]


@cache
def _all_rules() -> Select[Any]:
    return select(NotificationRule.definition).order_by(NotificationRule.name)


def notification_rules(unit: Unit, event: str) -> list[dict[str, Any]]:
    """The valid notification rules naming ``event``, by name (all read once per configuration generation)."""
    return [r for r in _valid_rules(unit) if event in r.get("events", ())]


@configuration("notification_rules")
def _valid_rules(unit: Unit) -> list[dict[str, Any]]:
    return [r for r in unit.session.scalars(_all_rules()) if r.get("valid", True)]
