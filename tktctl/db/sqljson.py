"""JSON built inside the database, so that history rows of a bulk change are one INSERT … SELECT.

``json_object(("from", expr), ("to", "Tier 2"))`` compiles to SQLite's ``json_object``,
PostgreSQL's ``json_build_object`` or MySQL's ``JSON_OBJECT``; keys are fixed identifiers
rendered as SQL literals, values are column expressions or Python values (bound as text).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ColumnElement, String, cast, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

_NAMES = {"sqlite": "json_object", "postgresql": "json_build_object", "mysql": "JSON_OBJECT"}


class JsonBool(FunctionElement[Any]):
    """A boolean as a JSON ``true``/``false`` value (SQLite and MySQL have no boolean type)."""

    type = JSON()
    inherit_cache = True


@compiles(JsonBool)
def _json_bool(element: JsonBool, compiler: Any, **kw: Any) -> str:
    (expr,) = element.clauses
    inner = compiler.process(expr, **kw)
    dialect = compiler.dialect.name
    if dialect == "postgresql":
        return f"to_json({inner})"
    if dialect == "mysql":
        return f"JSON_EXTRACT(IF({inner}, 'true', 'false'), '$')"
    return f"json(CASE WHEN {inner} THEN 'true' ELSE 'false' END)"


class JsonObject(FunctionElement[Any]):
    type = JSON()
    inherit_cache = True


@compiles(JsonObject)
def _json_object(element: JsonObject, compiler: Any, **kw: Any) -> str:
    args = [compiler.process(c, **kw) for c in element.clauses]
    return f"{_NAMES.get(compiler.dialect.name, 'json_object')}({', '.join(args)})"


def json_object(*pairs: tuple[str, Any]) -> ColumnElement[Any]:
    """A JSON object of (key, value) pairs; Python strings become text literals."""
    args: list[Any] = []
    for key, value in pairs:
        if not key.isidentifier():
            raise ValueError(f"JSON key {key!r} must be an identifier")
        args.append(cast(literal(key), String()))
        if hasattr(value, "__clause_element__"):  # a mapped attribute such as Ticket.locked
            value = value.__clause_element__()
        if isinstance(value, ColumnElement):
            args.append(JsonBool(value) if isinstance(value.type, Boolean) else value)
        elif value is None or isinstance(value, str):
            args.append(cast(literal(value), String()))
        else:
            raise TypeError(f"JSON value for {key!r}: a column expression, a string or None")
    return JsonObject(*args)


class OrderedJoin(FunctionElement[Any]):
    """Text values joined by commas in the order of another column (a multiselect's values as given).

    PostgreSQL and MySQL order inside the aggregate; SQLite before 3.44 cannot, so its form is
    built by :func:`ordered_join` over an ordered subquery instead.
    """

    inherit_cache = True
    type = String()


@compiles(OrderedJoin, "postgresql")
def _ordered_join_pg(element: OrderedJoin, compiler: Any, **kw: Any) -> str:
    value, order = (compiler.process(c, **kw) for c in element.clauses)
    return f"string_agg({value}, ',' ORDER BY {order})"


@compiles(OrderedJoin, "mysql")
def _ordered_join_mysql(element: OrderedJoin, compiler: Any, **kw: Any) -> str:
    value, order = (compiler.process(c, **kw) for c in element.clauses)
    return f"GROUP_CONCAT({value} ORDER BY {order} SEPARATOR ',')"


def ordered_join(dialect: str, value: Any, order: Any, *where: Any, correlate: Any) -> ColumnElement[Any]:
    """A scalar subquery: the ``value`` of the rows ``where`` holds, joined by commas in ``order``."""
    from sqlalchemy import func, select

    if dialect == "sqlite":  # group_concat joins in the order its rows arrive
        rows = select(value.label("v")).where(*where).order_by(order).correlate(correlate).subquery()
        return select(func.group_concat(rows.c.v, ",")).scalar_subquery()
    return select(OrderedJoin(value, order)).where(*where).scalar_subquery()
