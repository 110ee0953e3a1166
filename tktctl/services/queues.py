"""Queues: create, list, show, update, rename, disable/enable, and delete when empty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, select

from tktctl.db.models import Group, Queue, Ticket
from tktctl.errors import ConflictError, UsageError
from tktctl.services import audit, lookup, permissions
from tktctl.services.groups import apply_changes
from tktctl.services.records import Record
from tktctl.services.vocabulary import FOLLOW_UP, choice, clean_text

if TYPE_CHECKING:
    from tktctl.services.desk import Desk, Unit

MINUTE_FIELDS = ("unlock_timeout", "first_response_time", "update_time", "solution_time")
UNSET = object()


def _record(queue: Queue, group_name: str) -> Record:
    return {
        "id": queue.id,
        "name": queue.name,
        "group": group_name,
        "valid": queue.valid,
        **{f: getattr(queue, f) for f in MINUTE_FIELDS},
        "calendar": queue.calendar,
        "follow_up": queue.follow_up,
        "comment": queue.comment,
    }


def _check_settings(settings: dict[str, Any]) -> None:
    for name in MINUTE_FIELDS:
        value = settings.get(name)
        if value is not None and not (0 <= value <= 10_000_000):
            raise UsageError(f"--{name.replace('_', '-')} must be minutes between 0 and 10000000")
    if settings.get("follow_up") is not None:
        choice("follow-up setting", settings["follow_up"], FOLLOW_UP)
    clean_text("comment", settings.get("comment"), limit=250)
    clean_text("calendar", settings.get("calendar"), limit=100)


def _check_name(name: str) -> str:
    clean_text("queue name", name, limit=200, required=True)
    if name != name.strip():
        raise UsageError("queue name must not start or end with spaces")
    return name


class Queues:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def _get(self, unit: Unit, name: str) -> Record:
        queue = lookup.queue(unit, name)
        group_name = unit.session.scalar(select(Group.name).where(Group.id == queue.group_id)) or ""
        return _record(queue, group_name)

    def list(self) -> list[Record]:
        with self.desk.read() as unit:
            rows = unit.session.execute(select(Queue, Group.name).join(Group).order_by(Queue.name))
            return [_record(q, g) for q, g in rows]

    def show(self, name: str) -> Record:
        with self.desk.read() as unit:
            return self._get(unit, name)

    def create(self, name: str, *, group: str = "users", if_not_exists: bool = False, **settings: Any) -> Record:
        """A new queue; with ``if_not_exists`` an existing one is returned as it is."""
        _check_name(name)
        _check_settings(settings)
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            if unit.session.scalar(select(Queue.id).where(Queue.name == name)) is not None:
                if if_not_exists:
                    return self._get(unit, name)
                raise ConflictError(f"queue {name!r} already exists", ref=name)
            group_row = lookup.group(unit, group)
            settings.setdefault("follow_up", "possible")
            queue = Queue(name=name, group_id=group_row.id, valid=True, created=unit.now, changed=unit.now, **settings)
            unit.session.add(queue)
            unit.session.flush()
            audit.record(unit, "create", "queue", name, group=group_row.name, **settings)
            return _record(queue, group_row.name)

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
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            queue = lookup.queue(unit, name)
            if auto_responses or no_auto_responses:
                from tktctl.services import autoresponses

                autoresponses.unassign(unit, queue, no_auto_responses)
                autoresponses.assign(unit, queue, auto_responses)
            if group is not None:
                queue.group_id = lookup.group(unit, group).id
            for key, value in settings.items():
                if key == "follow_up" and value is None:
                    continue
                setattr(queue, key, value)
            queue.changed = unit.now
            unit.session.flush()
            audit.record(unit, "update", "queue", name, **settings, **({"group": group} if group else {}))
            return self._get(unit, name)

    def rename(self, name: str, new_name: str) -> Record:
        _check_name(new_name)
        with self.desk.write() as unit:
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
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            apply_changes(unit, lookup.queue(unit, name), "queue", name, valid=valid)
            return self._get(unit, name)

    def delete(self, name: str) -> Record:
        """Delete a queue that never held a ticket; others can only be disabled (history refers to them)."""
        with self.desk.write() as unit:
            permissions.require_admin(unit)
            record = self._get(unit, name)
            queue_id = record["id"]
            if unit.session.scalar(select(exists().where(Ticket.queue_id == queue_id))):
                held = unit.session.scalar(select(func.count()).where(Ticket.queue_id == queue_id))
                raise ConflictError(f"queue {name!r} has {held} tickets; disable it instead", ref=name)
            from tktctl.db.models import History

            if unit.session.scalar(select(exists().where(History.queue_id == queue_id))):
                raise ConflictError(f"queue {name!r} appears in ticket history; disable it instead", ref=name)
            unit.session.execute(delete(Queue).where(Queue.id == queue_id))
            audit.record(unit, "delete", "queue", name)
            return record
