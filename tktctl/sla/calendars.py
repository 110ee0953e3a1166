"""Business calendars: create, list, show, update, and apply from YAML.

Stored form: ``hours`` maps weekday names to lists of ``HH:MM-HH:MM`` ranges (local time
in the calendar's ``timezone``), ``holidays`` is a list of ``MM-DD`` (every year) and
``YYYY-MM-DD`` (once). Changing a calendar recomputes the deadlines of the running
tickets in the queues that use it, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tktctl.access import permissions
from tktctl.access.groups import existing
from tktctl.core.record import Record
from tktctl.core.vocabulary import clean_line, clean_text
from tktctl.db.models import Calendar, Queue
from tktctl.errors import ConflictError, NotFoundError, UsageError
from tktctl.sla import deadlines
from tktctl.sla.businesstime import DAYS, check_zone, parse_days, parse_holiday, parse_ranges

if TYPE_CHECKING:
    from tktctl.core.unit import Store, Unit

DEFAULT_HOURS = ("mon-fri 09:00-17:00",)
YAML_KEYS = ("name", "timezone", "hours", "holidays", "comment")


def _record(calendar: Calendar) -> Record:
    return {
        "id": calendar.id,
        "name": calendar.name,
        "timezone": calendar.timezone,
        "hours": calendar.hours,
        "holidays": calendar.holidays,
        "comment": calendar.comment,
    }


def parse_hours(specs: Sequence[str] | Mapping[str, Any]) -> dict[str, list[str]]:
    """``["mon-fri 09:00-12:00,13:00-17:00", "sat 10:00-14:00"]`` or a YAML mapping of day -> ranges.

    A later spec for a day replaces an earlier one; days not named are days off.
    """
    items: list[tuple[str, str]] = []
    if isinstance(specs, Mapping):
        for days, ranges in specs.items():
            text = ",".join(map(str, ranges)) if isinstance(ranges, list) else str(ranges or "")
            items.append((str(days), text))
    else:
        specs = [specs] if isinstance(specs, str) else specs
        if not isinstance(specs, Sequence) or not all(isinstance(spec, str) for spec in specs):
            raise UsageError(f"invalid working hours {specs!r:.60}; use e.g. ['mon-fri 09:00-17:00']")
        for spec in specs:
            days, _, ranges = str(spec).strip().partition(" ")
            if not ranges.strip():
                raise UsageError(f"invalid working hours {spec!r}; use e.g. 'mon-fri 09:00-17:00'")
            items.append((days, ranges))
    hours: dict[int, list[str]] = {}
    for days, text in items:
        ranges = parse_ranges(text)
        for day in parse_days(days):
            hours[day] = [f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in ranges]
    result = {DAYS[d]: hours[d] for d in sorted(hours) if hours[d]}
    if not result:
        raise UsageError("a calendar needs working hours on at least one weekday")
    return result


def _check(name: str, timezone: str | None, holidays: Sequence[str] | None, comment: str | None) -> list[str] | None:
    clean_line("calendar name", name, limit=100, required=True)
    clean_text("comment", comment, limit=250)
    if timezone is not None:
        check_zone(timezone)
    return None if holidays is None else sorted({parse_holiday(h) for h in holidays})


class Calendars:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self) -> list[Record]:
        with self.store.read() as unit:
            return records(unit)

    def show(self, name: str) -> Record:
        with self.store.read() as unit:
            return _record(_get(unit, name))

    def create(
        self,
        name: str,
        *,
        timezone: str = "UTC",
        hours: Sequence[str] | Mapping[str, Any] | None = None,
        holidays: Sequence[str] = (),
        comment: str | None = None,
        if_not_exists: bool = False,
    ) -> Record:
        """A new calendar (default hours: mon-fri 09:00-17:00)."""
        days = _check(name, timezone, holidays, comment) or []
        parsed = parse_hours(hours or DEFAULT_HOURS)
        with self.store.write() as unit:
            permissions.require_admin(unit)
            found = existing(unit, Calendar.name, name, "calendar", if_not_exists=if_not_exists)
            if found is not None:
                return _record(found)
            return _record(_store(unit, name, timezone=timezone, hours=parsed, holidays=days, comment=comment))

    def update(
        self,
        name: str,
        *,
        timezone: str | None = None,
        hours: Sequence[str] | Mapping[str, Any] | None = None,
        holidays: Sequence[str] | None = None,
        add_holidays: Sequence[str] = (),
        remove_holidays: Sequence[str] = (),
        comment: str | None = None,
    ) -> Record:
        """Change the given settings; ``hours`` and ``holidays`` replace the whole set."""
        replaced = _check(name, timezone, holidays, comment)
        added = {parse_holiday(h) for h in add_holidays}
        removed = {parse_holiday(h) for h in remove_holidays}
        parsed = parse_hours(hours) if hours else None
        with self.store.write() as unit:
            permissions.require_admin(unit)
            calendar = _get(unit, name)
            if timezone is not None:
                calendar.timezone = timezone
            if parsed is not None:
                calendar.hours = parsed
            base = set(replaced if replaced is not None else calendar.holidays)
            calendar.holidays = sorted((base | added) - removed)
            if comment is not None:
                calendar.comment = comment
            calendar.changed = unit.now
            unit.session.flush()
            queue_ids = unit.session.scalars(select(Queue.id).where(Queue.calendar == name)).all()
            deadlines.refresh_queues(unit, queue_ids)
            return _record(calendar)


def records(unit: Unit) -> list[Record]:
    """Every calendar's record, by name: what ``calendar list`` prints and ``desk dump`` writes."""
    return [_record(c) for c in unit.session.scalars(select(Calendar).order_by(Calendar.name))]


def _store(unit: Unit, name: str, **values: Any) -> Calendar:
    """Create the calendar or set its values, in the caller's transaction; its queues' deadlines follow."""
    calendar = unit.session.scalar(select(Calendar).where(Calendar.name == name))
    if calendar is None:
        calendar = Calendar(name=name, created=unit.now, **values)
        unit.session.add(calendar)
    elif all(getattr(calendar, k) == v for k, v in values.items()):
        return calendar
    else:
        for key, value in values.items():
            setattr(calendar, key, value)
    calendar.changed = unit.now
    unit.session.flush()
    queue_ids = unit.session.scalars(select(Queue.id).where(Queue.calendar == name)).all()
    deadlines.refresh_queues(unit, queue_ids)
    return calendar


def apply(unit: Unit, documents: list[dict[str, Any]]) -> None:
    """Create or replace each calendar a record describes (keys not given take the defaults)."""
    for document in documents:
        unknown = sorted(set(document) - set(YAML_KEYS))
        if unknown:
            raise UsageError(f"unknown calendar key {', '.join(unknown)}; known: {', '.join(YAML_KEYS)}")
        name, zone, comment = document["name"], str(document.get("timezone") or "UTC"), document.get("comment")
        if not isinstance(document.get("holidays") or [], list):
            raise UsageError(f"calendar {name!r}: holidays must be a list of dates")
        if not isinstance(document.get("hours") or [], list | Mapping):
            raise UsageError(f"calendar {name!r}: hours must be a mapping of weekdays to time ranges")
        holidays = _check(name, zone, [str(h) for h in document.get("holidays") or []], comment)
        _store(
            unit,
            name,
            timezone=zone,
            hours=parse_hours(document.get("hours") or list(DEFAULT_HOURS)),
            holidays=holidays or [],
            comment=comment,
        )


def prune(unit: Unit, keep: set[str]) -> None:
    """Delete the calendars not kept; one that a queue still uses is a conflict."""
    for calendar in unit.session.scalars(select(Calendar).where(Calendar.name.not_in(keep))).all():
        user = unit.session.scalar(select(Queue.name).where(Queue.calendar == calendar.name).limit(1))
        if user is not None:
            raise ConflictError(f"calendar {calendar.name!r} is used by queue {user!r}; keep it", ref=calendar.name)
        unit.session.delete(calendar)
    unit.session.flush()


def _get(unit: Unit, name: str) -> Calendar:
    found = unit.session.scalar(select(Calendar).where(Calendar.name == name))
    if found is None:
        raise NotFoundError(f"calendar {name!r} not found", ref=name)
    return found
