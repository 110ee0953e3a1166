"""Records: the plain dicts with the contract's keys that every service returns, and the
time-window clauses (``--since``/``--until``) and counts that every listing shares."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select

from tktctl.errors import UsageError

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

Record = dict[str, Any]


def between(unit: Unit, column: Any, since: str | datetime | None, until: str | datetime | None) -> list[Any]:
    """``--since``/``--until`` as WHERE clauses on a time column (since inclusive, until exclusive)."""
    start, end = unit.parse_time(since), unit.parse_time(until)
    if start is not None and end is not None and end < start:
        raise UsageError("--until is before --since")
    return [*([column >= start] if start else []), *([column < end] if end else [])]


def count(unit: Unit, statement: Select[Any]) -> int:
    return unit.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
