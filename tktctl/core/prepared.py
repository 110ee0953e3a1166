"""Statements built once per process and reused with bound parameters.

SQLAlchemy derives a statement's cache key (to find its compiled form) from the statement
object, and keeps it on that object. A statement built anew for every call costs its
construction and its key each time: for a small write such as ``ticket create`` that was most
of the CPU. The hot paths build their statements here, once, with :func:`~sqlalchemy.bindparam`
placeholders, and pass the values at execution.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import ARRAY, Boolean, ColumnElement, Select, any_, bindparam, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@cache
def by_key(entity: Any, columns: tuple[str, ...]) -> Select[Any]:
    """``SELECT entity WHERE column = :column AND …`` for each of ``columns``."""
    return select(entity).where(*(getattr(entity, column) == bindparam(column) for column in columns))


def named(session: Session, entity: Any, /, **key: Any) -> Any:
    """The object whose columns are exactly ``key`` (column names to values), or None. MariaDB's binary
    collation (PAD SPACE) finds ``"root@localhost "`` for ``root@localhost``; SQLite and PostgreSQL do
    not: the same key must find the same object on every backend."""
    if not key:
        raise TypeError("named() needs at least one key column")
    found = session.scalar(by_key(entity, tuple(key)), key)
    return found if found is not None and all(getattr(found, c) == v for c, v in key.items()) else None


@cache
def ids_in(column: Any) -> Any:
    """``column IN (:ids)``, a list bound per execution; on PostgreSQL ``column = ANY(:ids)``, one array.

    An expanding IN is rendered anew at every execution, one placeholder per id, and psycopg parses
    that text again each time: for the 500 ids of an export chunk's six statements this took more CPU
    than reading and writing the chunk (profiled: ~40% of `ticket export` on PostgreSQL)."""
    return _IdsIn(column)


class _IdsIn(ColumnElement[bool]):
    """``column`` is one of the ``ids`` bound at execution (ids_in)."""

    __visit_name__ = "ids_in"
    _traverse_internals: ClassVar = [("column", InternalTraversal.dp_clauseelement)]
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: no "= 1" after it where booleans are integers

    def __init__(self, column: Any) -> None:
        self.column = column


@compiles(_IdsIn)
def _expanding_in(element: _IdsIn, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam("ids", expanding=True)), **kw)  # type: ignore[no-any-return]


@compiles(_IdsIn, "postgresql")
def _any_of_array(element: _IdsIn, compiler: Any, **kw: Any) -> str:
    ids = bindparam("ids", type_=ARRAY(element.column.type))
    return compiler.process(element.column == any_(ids), **kw)  # type: ignore[no-any-return]
