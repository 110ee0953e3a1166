"""Long reads in batches, while the same unit runs other queries between the batches.

A list of a million tickets must not sit in memory, so its rows come from a streamed result
(a server-side cursor on PostgreSQL and MySQL). Its records need other queries between the
batches (custom fields, attachments, history), which every driver allows on the same
connection but PyMySQL: a query on a connection with an unbuffered result open discards the
rest of that result, silently. On MySQL the stream therefore runs on a connection of its own
(READ COMMITTED, as every MySQL unit: a statement sees what was committed when it began),
which keeps any ORDER BY and keeps memory flat.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Select

if TYPE_CHECKING:
    from tktctl.core.unit import Unit

# Rows per round trip and per batch handed to the caller.
BATCH = 2000


def stream(unit: Unit, statement: Select[Any], *, batch: int = BATCH) -> Iterator[Sequence[Row[Any]]]:
    """The rows of ``statement`` in batches of at most ``batch``, read as the caller asks for them."""
    statement = statement.execution_options(yield_per=batch)
    connection = unit.session.connection()
    if connection.dialect.name != "mysql":
        yield from connection.execute(statement).partitions()
        return
    with unit.store.engine.connect() as own:
        yield from own.execute(statement).partitions()
