"""Custom field values on tickets: set (set-based, with TicketDynamicFieldUpdate history), read, filter.

Values are checked against their fields' definitions (:mod:`tktctl.core.fieldtypes`) before
anything is written. Setting a field on many tickets is, per field, one INSERT … SELECT of
history rows (old value read in SQL), one UPDATE of the tickets whose value differs, one
DELETE of the old value rows and one INSERT … SELECT per new value, in the caller's
transaction, on tickets the caller has locked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Integer, Select, String, delete, exists, insert, literal, or_, select

from tktctl.core import fieldtypes
from tktctl.core.configcache import configuration
from tktctl.core.fieldtypes import FieldInfo, Stored
from tktctl.core.lookup import chunks
from tktctl.core.prepared import ids_in
from tktctl.db.models import DynamicField, DynamicFieldValue, Ticket
from tktctl.db.sqljson import json_object, ordered_join
from tktctl.db.types import UTCDateTime
from tktctl.errors import ConflictError, NotFoundError, UsageError
from tktctl.tickets import changes
from tktctl.tickets.changes import Entry, Selected, count_of

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

Value = DynamicFieldValue
# A field's parsed new value: the field and the rows it is stored as (none: cleared).
Parsed = list[tuple[FieldInfo, list[Stored]]]


def definitions(unit: Unit) -> dict[str, FieldInfo]:
    """Every field by name (disabled ones too: their values still show)."""
    rows = unit.session.execute(_definitions())
    return {
        name: FieldInfo(id_, name, kind, tuple((config or {}).get("values") or ()), bool(valid))
        for id_, name, kind, config, valid in rows
    }


@cache
def _definitions() -> Select[Any]:
    return select(DynamicField.id, DynamicField.name, DynamicField.field_type, DynamicField.config, DynamicField.valid)


def field(unit: Unit, name: str, known: Mapping[str, FieldInfo] | None = None) -> FieldInfo:
    found = (known if known is not None else definitions(unit)).get(name)
    if found is None:
        raise NotFoundError(f"field {name!r} not found (see `tktctl field list`)", ref=name)
    return found


def parse(unit: Unit, values: Mapping[str, Any], known: Mapping[str, FieldInfo] | None = None) -> Parsed:
    """Check every ``name: value`` against its field (all before any write): unknown field exit 3,
    disabled field exit 5, a value the field does not accept exit 2 naming what it accepts."""
    if not isinstance(values, Mapping):
        raise UsageError(f"fields must be a mapping of field names to values, not {type(values).__name__}")
    if not values:
        return []  # no query: most tickets are created without fields
    known = definitions(unit) if known is None else known
    parsed: Parsed = []
    for name, value in values.items():
        info = field(unit, fieldtypes.check_name(name), known)
        if not info.valid:
            raise ConflictError(f"field {name!r} is disabled", ref=name)
        parsed.append((info, fieldtypes.parse_value(info, value, unit.parse_time)))
    return parsed


def lenient(unit: Unit, values: Mapping[str, str]) -> Parsed:
    """Mail's trusted headers: names matched in any case, unknown fields, disabled fields and values
    a field does not accept ignored (as OTRS ignores an unknown value in an X-OTRS header)."""
    if not values:
        return []  # no query: most mail sets no field
    known = {info.name.lower(): info for info in definitions(unit).values() if info.valid}
    parsed: Parsed = []
    for name, value in values.items():
        info = known.get(name.lower())
        if info is None:
            continue
        try:
            parsed.append((info, fieldtypes.parse_value(info, value, unit.parse_time)))
        except UsageError:
            continue
    return parsed


def rows(ticket_id: int, parsed: Parsed) -> list[dict[str, Any]]:
    """The value rows of one new ticket, for a bulk insert (``ticket import``)."""
    return [
        {"ticket_id": ticket_id, "field_id": info.id, "value_text": r.text, "value_int": r.int, "value_date": r.date}
        for info, stored in parsed
        for r in stored
    ]


def history_data(parsed: Parsed) -> list[dict[str, Any]]:
    """The TicketDynamicFieldUpdate data of a new ticket's values."""
    return [
        {"field": info.name, "from": None, "to": ",".join(r.text for r in stored)} for info, stored in parsed if stored
    ]


def assignments(items: Iterable[str]) -> dict[str, str]:
    """``["env=prod", "cost=12"]`` as a mapping (a later one for a field wins)."""
    return dict(fieldtypes.parse_assignment(item) for item in items)


def _old_text(unit: Unit, field_id: int) -> ColumnElement[Any]:
    """The ticket's current value as text (a multiselect's joined by commas in the order given),
    correlated to ``ticket``."""
    dialect = unit.session.get_bind().dialect.name
    where = (Value.ticket_id == Ticket.id, Value.field_id == field_id)
    return ordered_join(dialect, Value.value_text, Value.id, *where, correlate=Ticket)


def write(unit: Unit, sel: Selected, parsed: Parsed) -> int:
    """Set the values on the selected (locked) tickets; returns how many ticket changes were made.

    History and the ticket's ``changed`` only where the value differs; the value rows are
    rewritten for every selected ticket by id (MySQL may not read the table it deletes from,
    which a ``--field`` filter in ``sel`` would do).
    """
    if not parsed:
        return 0
    by_id = Selected.of(sel.ids)
    plans = []
    for info, rows in parsed:
        new = ",".join(row.text for row in rows) or None
        old = _old_text(unit, info.id)
        has_value = exists().where(Value.ticket_id == Ticket.id, Value.field_id == info.id)
        plans.append((info, rows, new, old, has_value if new is None else (old.is_(None) | (old != new))))
    # Tickets changed, counted once however many of their fields change.
    any_differs = or_(*(plan[-1] for plan in plans))
    changed = sum(unit.session.scalar(count_of(Ticket).where(*part, any_differs)) or 0 for part in by_id.parts)
    for info, rows, new, old, differs in plans:
        entry = Entry("TicketDynamicFieldUpdate", json_object(("field", info.name), ("from", old), ("to", new)))
        changes.apply(unit, by_id, {}, [entry], [differs])
        for part in by_id.parts:
            ids = select(Ticket.id).where(*part)
            unit.session.execute(delete(Value).where(Value.field_id == info.id, Value.ticket_id.in_(ids)))
            for row in rows:
                columns = select(
                    Ticket.id,
                    literal(info.id, Integer()),
                    literal(row.text, String()),
                    literal(row.int, Integer()),
                    literal(row.date, UTCDateTime()),
                ).where(*part)
                names = ["ticket_id", "field_id", "value_text", "value_int", "value_date"]
                unit.session.execute(insert(Value).from_select(names, columns))
    return changed


def values_of(unit: Unit, ticket_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The tickets' field values by ticket id: ``{"env": "prod", "cost": 12, "tags": ["a", "b"]}``."""
    found: dict[int, dict[str, list[Stored]]] = {}
    kinds: dict[str, str] = {}
    for part in chunks(list(ticket_ids)):
        rows = unit.session.execute(_values(), {"ids": list(part)})
        for ticket_id, name, kind, text, number, moment in rows:
            kinds[name] = kind
            found.setdefault(ticket_id, {}).setdefault(name, []).append(Stored(text, number, moment))
    return {
        ticket_id: {name: fieldtypes.record_value(kinds[name], rows) for name, rows in named.items()}
        for ticket_id, named in found.items()
    }


@cache
def _values() -> Select[Any]:
    """The values of the tickets ``:ids`` (built once: every ticket record shown needs it)."""
    return (
        select(Value.ticket_id, DynamicField.name, DynamicField.field_type, Value.value_text, Value.value_int)
        .add_columns(Value.value_date)
        .join(DynamicField, Value.field_id == DynamicField.id)
        .where(ids_in(Value.ticket_id))
        .order_by(Value.ticket_id, DynamicField.name, Value.id)
    )


@configuration("any_fields")
def _any_fields(unit: Unit) -> bool:
    return unit.session.scalar(select(DynamicField.id).limit(1)) is not None


def add_to(unit: Unit, records: Sequence[MutableMapping[str, Any]]) -> None:
    """Give each ticket record (with its ``id``) its ``fields``: every value the ticket has, by name.

    A desk without fields (most) skips the values' query: a list of a million tickets made it
    for every batch, a fifth of the list's time."""
    if not _any_fields(unit):
        for record in records:
            record["fields"] = {}
        return
    values = values_of(unit, [r["id"] for r in records])
    for record in records:
        record["fields"] = values.get(record["id"], {})


def condition(unit: Unit, text: str) -> ColumnElement[bool]:
    """A ``--field`` condition as a WHERE clause on ``ticket``: an index range on (field, value)."""
    name, operator, raw = fieldtypes.parse_condition(text)
    info = field(unit, name)
    if raw == "" and operator in ("=", "!="):
        having = Ticket.id.in_(select(Value.ticket_id).where(Value.field_id == info.id))
        return ~having if operator == "=" else having
    if operator in ("=", "!="):
        if info.type == "multiselect":
            stored = [fieldtypes.parse_value(info, [raw], unit.parse_time)[0]]
        else:
            stored = fieldtypes.parse_value(info, raw, unit.parse_time)
        match = Ticket.id.in_(
            select(Value.ticket_id).where(Value.field_id == info.id, Value.value_text == stored[0].text)
        )
        return match if operator == "=" else ~match
    if info.type not in fieldtypes.RANGED:
        raise UsageError(f"--field {name}{operator}...: field {name} ({info.type}) compares only with = and !=")
    (bound,) = fieldtypes.parse_value(info, raw, unit.parse_time)
    column, value = (Value.value_int, bound.int) if info.type == "int" else (Value.value_date, bound.date)
    compare = {">": column > value, "<": column < value, ">=": column >= value, "<=": column <= value}[operator]
    return Ticket.id.in_(select(Value.ticket_id).where(Value.field_id == info.id, compare))
