"""Long reads in batches, while the same unit runs other queries between the batches.

A list of a million tickets must not sit in memory, so its rows come from a streamed result
(a server-side cursor on PostgreSQL and MySQL). Its records need other queries between the
batches (custom fields, attachments, history), which every driver allows on the same
connection but PyMySQL: a query on a connection with an unbuffered result open discards the
rest of that result, silently. On MySQL the stream therefore runs on a connection of its own
(READ COMMITTED, as every MySQL unit: a statement sees what was committed when it began),
which keeps any ORDER BY and keeps memory flat.

That connection sees only what was committed, never the unit's own uncommitted writes, so a
stream refuses a write unit (a programming error, raised when it is asked for, on every
backend so that a test on SQLite catches what would read stale rows on MySQL): stream in a
read unit, after the write has committed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, Select

from tktctl.db.engine import WRITE

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

# Rows per round trip and per batch handed to the caller.
BATCH = 2000


def stream(unit: Unit, statement: Select[Any], *, batch: int = BATCH) -> Iterator[Sequence[Row[Any]]]:
    """The rows of ``statement`` in batches of at most ``batch``, read as the caller asks for them.

    ``unit`` must be a read unit: on MySQL the rows come from another connection, which would not
    see this unit's writes (RuntimeError, before anything is read)."""
    connection = unit.session.connection()
    if connection.get_execution_options().get(WRITE):
        raise RuntimeError("stream() needs a read unit: on MySQL it would not see the write unit's own changes")
    return _batches(unit, connection, statement.execution_options(yield_per=batch))


def _batches(unit: Unit, connection: Connection, statement: Select[Any]) -> Iterator[Sequence[Row[Any]]]:
    if connection.dialect.name != "mysql":
        yield from connection.execute(statement).partitions()
        return
    with unit.store.engine.connect() as own:
        yield from own.execute(statement).partitions()
