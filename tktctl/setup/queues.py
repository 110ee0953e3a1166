"""Queues: create, list, show, update, rename, disable/enable, and delete when empty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, select

from tktctl.access import audit, permissions
from tktctl.access.groups import apply_changes
from tktctl.core import lookup
from tktctl.core.language import language_tag
from tktctl.core.record import Record
from tktctl.core.vocabulary import FOLLOW_UP, choice, clean_line, clean_text
from tktctl.db.models import Calendar, Group, History, Queue, SystemAddress, Ticket
from tktctl.errors import ConflictError, NotFoundError, UsageError
from tktctl.mail import autoresponses
from tktctl.setup import texts
from tktctl.sla import deadlines
from tktctl.text import plural

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

MINUTE_FIELDS = ("unlock_timeout", "first_response_time", "update_time", "solution_time")
# Escalation settings (automation/escalation.py): warning percentages, actions, repeat interval.
PERCENT_FIELDS = ("first_response_notify", "update_notify", "solution_notify")
ESCALATION_FIELDS = (*PERCENT_FIELDS, "escalate_raise", "escalate_to", "escalate_notify", "escalation_decay")
# A change to one of these moves the deadlines of the queue's tickets.
DEADLINE_FIELDS = (*MINUTE_FIELDS[1:], *PERCENT_FIELDS, "calendar", "escalation_decay")
UNSET = object()
# The queue's outgoing texts (setup/texts.py): its system address (by email), salutation and signature (by name).
TEXT_FIELDS = ("address", "salutation", "signature")
YAML_KEYS = (
    "name",
    "group",
    "valid",
    *MINUTE_FIELDS,
    "calendar",
    "follow_up",
    "comment",
    *ESCALATION_FIELDS,
    "language",
    *TEXT_FIELDS,
)
INTEGER_FIELDS = (*MINUTE_FIELDS, *PERCENT_FIELDS, "escalate_raise", "escalation_decay")


def _record(queue: Queue, group_name: str, escalate_to: str | None, address: str | None) -> Record:
    return {
        "id": queue.id,
        "name": queue.name,
        "group": group_name,
        "valid": queue.valid,
        **{f: getattr(queue, f) for f in MINUTE_FIELDS},
        "calendar": queue.calendar,
        "follow_up": queue.follow_up,
        "comment": queue.comment,
        **{f: getattr(queue, f) for f in PERCENT_FIELDS},
        "escalate_raise": queue.escalate_raise,
        "escalate_to": escalate_to,
        "escalate_notify": queue.escalate_notify,
        "escalation_decay": queue.escalation_decay,
        "language": queue.language,
        "address": address,
        "salutation": queue.salutation,
        "signature": queue.signature,
    }


def _check_settings(settings: dict[str, Any]) -> None:
    """Check the settings given, normalising the language tag in place."""
    for name in MINUTE_FIELDS:
        value = settings.get(name)
        if value is not None and not (0 <= value <= 10_000_000):
            raise UsageError(f"--{name.replace('_', '-')} must be minutes between 0 and 10000000")
    if settings.get("follow_up") is not None:
        choice("follow-up setting", settings["follow_up"], FOLLOW_UP)
    clean_text("comment", settings.get("comment"), limit=250)
    clean_text("calendar", settings.get("calendar"), limit=100)
    clean_text("group", settings.get("group"))
    if settings.get("language") is not None:
        settings["language"] = language_tag(settings["language"])
    for name in TEXT_FIELDS:
        clean_line(name, settings.get(name), limit=250)
    for name in PERCENT_FIELDS:
        value = settings.get(name)
        if value is not None and not (0 < value < 100):
            raise UsageError(f"--{name.replace('_', '-')} must be a percentage between 1 and 99")
    if settings.get("escalate_raise") is not None and not (0 <= settings["escalate_raise"] <= 4):
        raise UsageError("--escalate-raise must be between 0 and 4 priority steps")
    if settings.get("escalation_decay") is not None and not (1 <= settings["escalation_decay"] <= 10_000_000):
        raise UsageError("--escalation-decay must be minutes between 1 and 10000000")


def _resolve(unit: Unit, settings: dict[str, Any]) -> dict[str, Any]:
    """Names to ids: the escalation queue, the calendar, the address and the texts must exist."""

    resolved = texts.queue_settings(unit, settings)
    if "escalate_to" in resolved:
        target = resolved.pop("escalate_to")
        resolved["escalate_to_id"] = None if target is None else lookup.queue(unit, target).id
    calendar = resolved.get("calendar")
    if calendar is not None and unit.session.scalar(select(Calendar.id).where(Calendar.name == calendar)) is None:
        raise NotFoundError(f"calendar {calendar!r} not found", ref=calendar)
    return resolved


def _check_name(name: str) -> str:
    clean_line("queue name", name, limit=200, required=True)
    if name != name.strip():
        raise UsageError("queue name must not start or end with spaces")
    return name


def records(unit: Unit) -> list[Record]:
    """Every queue's record, by name: what ``queue list`` prints and ``desk dump`` writes."""
    rows = unit.session.execute(select(Queue, Group.name).join(Group).order_by(Queue.name))
    addresses = dict(unit.session.execute(select(SystemAddress.id, SystemAddress.email)).all())
    return [_record(q, g, _queue_name(unit, q.escalate_to_id), addresses.get(q.system_address_id)) for q, g in rows]


def _create(unit: Unit, name: str, group: str, settings: dict[str, Any]) -> Queue:
    """Add the queue (valid, audited) in the caller's transaction."""
    group_row = lookup.group(unit, group)
    settings.setdefault("follow_up", "possible")
    settings.setdefault("escalate_notify", False)
    queue = Queue(name=name, group_id=group_row.id, valid=True, created=unit.now, changed=unit.now)
    for key, value in _resolve(unit, settings).items():
        setattr(queue, key, value)
    unit.session.add(queue)
    unit.session.flush()
    audit.record(unit, "create", "queue", name, group=group_row.name, **settings)
    return queue


def _update(unit: Unit, queue: Queue, group: str | None, settings: dict[str, Any]) -> None:
    """Set the given settings (None clears one) in the caller's transaction; deadlines follow."""
    if group is not None:
        queue.group_id = lookup.group(unit, group).id
    for key, value in _resolve(unit, settings).items():
        if key in ("follow_up", "escalate_notify") and value is None:
            continue
        setattr(queue, key, value)
    queue.changed = unit.now
    unit.session.flush()
    audit.record(unit, "update", "queue", queue.name, **settings, **({"group": group} if group else {}))
    if any(key in DEADLINE_FIELDS for key in settings):
        deadlines.refresh_queues(unit, [queue.id])


def _parse(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A queue's name and settings from an ``apply`` record (``-`` in keys read as ``_``)."""
    settings = {str(k).replace("-", "_"): v for k, v in document.items()}
    unknown = sorted(set(settings) - set(YAML_KEYS))
    if unknown:
        raise UsageError(f"unknown queue key {', '.join(unknown)}; known: {', '.join(YAML_KEYS)}")
    name = settings.pop("name", None)
    if not isinstance(name, str):
        raise UsageError("a queue file needs a name")
    _check_name(name)
    for key in INTEGER_FIELDS:
        if settings.get(key) is not None and (type(settings[key]) is not int):
            raise UsageError(f"queue {name!r}: {key} must be a whole number")
    for key in ("escalate_notify", "valid"):
        if not isinstance(settings.get(key, False), bool):
            raise UsageError(f"queue {name!r}: {key} must be true or false")
    _check_settings(settings)
    return name, settings


def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
    """Create missing queues, then set what each record gives (escalate_to may name a queue created here)."""
    parsed = [_parse(d) for d in documents]
    existing = {r["name"]: r for r in records(unit)}
    for name, settings in parsed:
        if name not in existing:
            _create(unit, name, settings.get("group") or "users", {})
    have = {r["name"]: r for r in records(unit)}
    for name, settings in parsed:
        valid = settings.pop("valid", None)
        differing = {k: v for k, v in settings.items() if have[name][k] != v}
        group = differing.pop("group", None)
        if group is not None or differing:
            _update(unit, lookup.queue(unit, name), group, differing)
        if valid is not None:
            apply_changes(unit, lookup.queue(unit, name), "queue", name, valid=valid)


def prune(unit: Unit, keep: set[str]) -> None:
    """Disable the queues not kept: a queue is never deleted by a document (its tickets refer to it)."""
    for record in records(unit):
        if record["name"] not in keep:
            apply_changes(unit, lookup.queue(unit, record["name"]), "queue", record["name"], valid=False)


class Queues:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _get(self, unit: Unit, name: str) -> Record:
        queue = lookup.queue(unit, name)
        group_name = unit.session.scalar(select(Group.name).where(Group.id == queue.group_id)) or ""
        address = unit.session.scalar(select(SystemAddress.email).where(SystemAddress.id == queue.system_address_id))
        return _record(queue, group_name, _queue_name(unit, queue.escalate_to_id), address)

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            return records(unit)

    def show(self, name: str) -> Record:
        with self.store.read() as unit:
            return self._get(unit, name)

    def create(self, name: str, *, group: str = "users", if_not_exists: bool = False, **settings: Any) -> Record:
        """A new queue; with ``if_not_exists`` an existing one is returned as it is."""
        _check_name(name)
        _check_settings(settings)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            if unit.session.scalar(select(Queue.id).where(Queue.name == name)) is not None:
                if if_not_exists:
                    return self._get(unit, name)
                raise ConflictError(f"queue {name!r} already exists", ref=name)
            _create(unit, name, group, settings)
            return self._get(unit, name)

    def update(
        self,
        name: str,
        *,
        group: str | None = None,
        auto_responses: Sequence[str] = (),
        no_auto_responses: Sequence[str] = (),
        **settings: Any,
    ) -> Record:
        """Change the given settings; a setting passed as None is cleared (minutes, calendar, comment).

        ``auto_responses`` names templates the queue sends (one per type); ``no_auto_responses``
        names types it stops sending.
        """
        _check_settings(settings)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            queue = lookup.queue(unit, name)
            if auto_responses or no_auto_responses:
                autoresponses.unassign(unit, queue, no_auto_responses)
                autoresponses.assign(unit, queue, auto_responses)
            _update(unit, queue, group, settings)
            return self._get(unit, name)

    def rename(self, name: str, new_name: str) -> Record:
        _check_name(new_name)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            queue = lookup.queue(unit, name)
            if new_name != name and unit.session.scalar(select(Queue.id).where(Queue.name == new_name)) is not None:
                raise ConflictError(f"queue {new_name!r} already exists", ref=new_name)
            queue.name = new_name
            queue.changed = unit.now
            unit.session.flush()
            audit.record(unit, "update", "queue", name, name={"from": name, "to": new_name})
            return self._get(unit, new_name)

    def set_valid(self, name: str, valid: bool) -> Record:
        """Disable (or enable) a queue: it keeps its tickets but takes no new or moved ones."""
        with self.store.write() as unit:
            permissions.require_admin(unit)
            apply_changes(unit, lookup.queue(unit, name), "queue", name, valid=valid)
            return self._get(unit, name)

    def delete(self, name: str) -> Record:
        """Delete a queue that never held a ticket; others can only be disabled (history refers to them)."""
        with self.store.write() as unit:
            permissions.require_admin(unit)
            record = self._get(unit, name)
            queue_id = record["id"]
            if unit.session.scalar(select(exists().where(Ticket.queue_id == queue_id))):
                held = unit.session.scalar(select(func.count()).where(Ticket.queue_id == queue_id))
                raise ConflictError(f"queue {name!r} has {plural(held, 'ticket')}; disable it instead", ref=name)

            if unit.session.scalar(select(exists().where(History.queue_id == queue_id))):
                raise ConflictError(f"queue {name!r} appears in ticket history; disable it instead", ref=name)
            unit.session.execute(delete(Queue).where(Queue.id == queue_id))
            audit.record(unit, "delete", "queue", name)
            return record


def _queue_name(unit: Unit, queue_id: int | None) -> str | None:
    return None if queue_id is None else lookup.queues(unit)[queue_id].name
