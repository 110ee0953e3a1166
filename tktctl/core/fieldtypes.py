"""Custom field types and their values: what each type accepts, as text in and typed values out.

Pure functions (no database): a value is checked and turned into the rows it is stored as
(``Stored``: canonical text, and the number or time for ranges) before anything is written,
so a bad value is a usage error naming the field and what it accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

from tktctl.core.vocabulary import CONTROL
from tktctl.errors import UsageError
from tktctl.isotime import iso

TYPES = ("text", "textarea", "int", "date", "datetime", "dropdown", "multiselect", "checkbox")
# Types compared as numbers or times (NAME>VALUE, NAME<VALUE), and the types that need a list of values.
RANGED = ("int", "date", "datetime")
CHOOSING = ("dropdown", "multiselect")
# As OTRS: a field name is letters and digits (it becomes part of a mail header, X-OTRS-DynamicField-NAME).
NAME = re.compile(r"[A-Za-z0-9]{1,200}")
TEXT_MAX = 600  # db.models_fields.VALUE_TEXT_LENGTH: each value is indexed
# A whole number as every database's BIGINT holds it.
INT_RANGE = (-(2**63), 2**63 - 1)
TRUE = ("1", "true", "yes", "on", "checked")
FALSE = ("0", "false", "no", "off", "unchecked")
OPERATORS = (">=", "<=", "!=", "=", ">", "<")
_CONDITION = re.compile(r"([A-Za-z0-9]+)(>=|<=|!=|=|>|<)(.*)", re.DOTALL)


class FieldInfo(NamedTuple):
    """A field's definition as values are checked against it."""

    id: int
    name: str
    type: str
    values: tuple[str, ...] = ()
    valid: bool = True


class Stored(NamedTuple):
    """One stored value row: canonical text, and the number or UTC time of ranged types and checkboxes."""

    text: str
    int: int | None = None
    date: datetime | None = None


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise UsageError(f"invalid field name {name!r:.60}: use letters and digits only (at most 200), as OTRS")
    return name


def check_type(kind: Any) -> str:
    if kind not in TYPES:
        raise UsageError(f"unknown field type {kind!r:.40}; choose one of {', '.join(TYPES)}")
    return str(kind)


def check_values(kind: str, values: Sequence[Any] | None) -> tuple[str, ...]:
    """The possible values of a dropdown or multiselect: one-line, distinct, none empty; none for other types."""
    values = tuple(values or ())
    if kind not in CHOOSING:
        if values:
            raise UsageError(f"--values goes with a dropdown or multiselect field, not {kind}")
        return ()
    if not values:
        raise UsageError(f"a {kind} field needs --values a,b,c")
    for value in values:
        if not isinstance(value, str) or not value.strip() or CONTROL.search(value) or len(value) > TEXT_MAX:
            raise UsageError(f"invalid {kind} value {value!r:.60}: one line of text, not empty")
        if "," in value and kind == "multiselect":
            raise UsageError(f"a multiselect value may not hold a comma (values are given as a,b): {value!r:.60}")
    if len(set(values)) != len(values):
        raise UsageError(f"the values of a {kind} field must be distinct")
    return values


def split_values(text: str) -> list[str]:
    """``--values a,b,c`` as a list (blank items dropped)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def accepts(field: FieldInfo) -> str:
    """What the field accepts, for the error messages."""
    return {
        "text": f"one line of text (at most {TEXT_MAX} characters)",
        "textarea": f"text (at most {TEXT_MAX} characters)",
        "int": "a whole number",
        "date": "a date YYYY-MM-DD",
        "datetime": "a time: 2026-11-27 14:00, +2h, now, ... (or ISO 8601)",
        "dropdown": f"one of: {', '.join(field.values)}",
        "multiselect": f"values of: {', '.join(field.values)} (comma-separated)",
        "checkbox": "1 or 0 (true/false, yes/no)",
    }[field.type]


def _bad(field: FieldInfo, value: Any) -> UsageError:
    return UsageError(f"field {field.name}: {value!r:.80} is not valid; {field.name} accepts {accepts(field)}")


def parse_value(field: FieldInfo, value: Any, parse_time: Callable[[str], datetime | None]) -> list[Stored]:
    """The rows ``value`` is stored as; none (the value cleared) for None or empty text.

    ``value`` is text (from the command line or a mail header) or, from a record, the typed
    value a record holds (an int, a bool, a list for a multiselect). ``parse_time`` reads a
    datetime field's value (the desk's clock and time zone).
    """
    if value is None or value == "" or value == []:
        return []
    kind = field.type
    if kind == "multiselect":
        items = split_values(value) if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i in field.values for i in items):
            raise _bad(field, value)
        return [Stored(item) for item in sorted(set(items))]  # one order on every backend (history's from/to)
    if kind == "checkbox":
        text = str(value).strip().lower() if isinstance(value, (str, bool, int)) else None
        if text in TRUE:
            return [Stored("1", 1)]
        if text in FALSE:
            return [Stored("0", 0)]
        raise _bad(field, value)
    if kind == "int":
        return [_int(field, value)]
    if kind == "date":
        return [_date(field, value)]
    if kind == "datetime":
        return [_datetime(field, value, parse_time)]
    if not isinstance(value, str):
        raise _bad(field, value)
    if len(value) > TEXT_MAX or "\x00" in value or (kind != "textarea" and CONTROL.search(value)):
        raise _bad(field, value)
    if kind == "dropdown" and value not in field.values:
        raise _bad(field, value)
    return [Stored(value)]


def _int(field: FieldInfo, value: Any) -> Stored:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _bad(field, value)
    text = value.strip() if isinstance(value, str) else str(value)
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
        raise _bad(field, value)
    number = int(text)
    if not INT_RANGE[0] <= number <= INT_RANGE[1]:
        raise _bad(field, value)
    return Stored(str(number), number)


def _date(field: FieldInfo, value: Any) -> Stored:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
    else:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
            raise _bad(field, value)
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise _bad(field, value) from None
    return Stored(day.isoformat(), None, datetime(day.year, day.month, day.day, tzinfo=timezone.utc))


def _datetime(field: FieldInfo, value: Any, parse_time: Callable[[str], datetime | None]) -> Stored:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, str):
        try:
            moment = parse_time(value.strip())  # type: ignore[assignment]
        except UsageError:
            raise _bad(field, value) from None
        if moment is None:
            raise _bad(field, value)
    else:
        raise _bad(field, value)
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    return Stored(iso(moment), None, moment)


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` (``NAME=`` clears the field)."""
    name, equals, value = text.partition("=")
    if not equals:
        raise UsageError(f"expected FIELD=VALUE, not {text!r:.80}")
    return check_name(name.strip()), value


def parse_condition(text: str) -> tuple[str, str, str]:
    """``NAME=VALUE``, ``NAME!=VALUE``, and for numbers and times ``NAME>VALUE``, ``<``, ``>=``, ``<=``.

    ``NAME=`` selects tickets without a value of the field, ``NAME!=`` those with one.
    """
    match = _CONDITION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise UsageError(
            f"--field: expected NAME=VALUE (or NAME>VALUE, NAME<VALUE for numbers and times), not {text!r:.80}"
        )
    name, operator, value = match.groups()
    return check_name(name), operator, value.strip()


def record_value(kind: str, rows: Sequence[Stored]) -> Any:
    """A field's value in a ticket record: text, a number, a bool, a time, or a list (multiselect)."""
    if kind == "multiselect":
        return [row.text for row in rows]
    if not rows:
        return None
    row = rows[0]
    if kind == "int":
        return row.int
    if kind == "checkbox":
        return bool(row.int)
    if kind == "datetime":
        return row.date
    return row.text
