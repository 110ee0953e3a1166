"""Statements built once per process and reused with bound parameters.

SQLAlchemy derives a statement's cache key (to find its compiled form) from the statement
object, and keeps it on that object. A statement built anew for every call costs its
construction and its key each time: for a small write such as ``ticket create`` that was most
of the CPU. The hot paths build their statements here, once, with :func:`~sqlalchemy.bindparam`
placeholders, and pass the values at execution.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select


@cache
def by_name(entity: Any, column: str) -> Select[Any]:
    """``SELECT entity WHERE column = :key``."""
    return select(entity).where(getattr(entity, column) == bindparam("key"))


@cache
def ids_in(column: Any) -> Any:
    """``column IN (:ids)``, a list bound per execution (``expanding``)."""
    return column.in_(bindparam("ids", expanding=True))
