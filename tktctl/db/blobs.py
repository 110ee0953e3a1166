"""Large values into MySQL/MariaDB, in pieces: a value over one statement's share of
``max_allowed_packet`` is inserted short and completed by ``UPDATE … SET c = CONCAT(c, piece)``.

PyMySQL sends a value escaped in the statement's text and the server needs about twice a
value's size within the packet (see :func:`tktctl.db.engine.max_value_bytes`), so one statement
takes about 8 MB with MariaDB's default 16 MiB packet: a 10 MB attachment (a 14 MB message)
would not go in. In pieces, the limit is the packet itself (CONCAT's result is capped by it).
Other databases take any value in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, update
from sqlalchemy.orm import Session

from tktctl.db.engine import STATEMENT_MARGIN, max_value_bytes

PACKET = "tktctl_max_allowed_packet"


def packet(connection: Connection) -> int | None:
    """MySQL/MariaDB's ``max_allowed_packet``; None on the other databases.

    Read once per driver connection (kept in its ``info``, which lives as long as it): the session's
    value is read-only, taken from the global one when the connection opens, so it never changes
    under a connection, and a message (a row, an attachment) would otherwise ask for it every time.
    """
    if connection.dialect.name != "mysql":
        return None
    info = connection.connection.info
    if PACKET not in info:
        info[PACKET] = int(connection.exec_driver_sql("SELECT @@max_allowed_packet").scalar_one())
    return int(info[PACKET])


def max_stored_bytes(connection: Connection) -> int | None:
    """The largest value :func:`insert_rows` stores (None: no limit)."""
    size = packet(connection)
    return None if size is None else size - STATEMENT_MARGIN


def fits_one_statement(session: Session, value: bytes) -> bool:
    """Whether ``value`` goes into the database in one statement (always, but on MySQL/MariaDB)."""
    size = packet(session.connection())
    return size is None or len(value) <= max_value_bytes(size, value)


def insert_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]], column: str) -> None:
    """Insert ``rows`` of ``model``: in one executemany, except (on MySQL/MariaDB) those whose
    ``column`` is too large for one statement, which go in piece by piece."""
    connection = session.connection()
    if packet(connection) is None:
        session.execute(insert(model), list(rows))
        return
    fits = [fits_one_statement(session, r[column]) for r in rows]
    if any(fits):
        session.execute(insert(model), [r for r, ok in zip(rows, fits, strict=True) if ok])
    piece = max((int(packet(connection) or 0) // 2 - STATEMENT_MARGIN) // 2, 1)  # were every byte escaped
    target = getattr(model, column)
    for row in (r for r, ok in zip(rows, fits, strict=True) if not ok):
        content: bytes = row[column]
        key = session.execute(insert(model).values({**row, column: content[:piece]})).inserted_primary_key
        where = [c == v for c, v in zip(model.__table__.primary_key.columns, key, strict=True)]
        for start in range(piece, len(content), piece):
            chunk = content[start : start + piece]
            session.execute(update(model).where(*where).values({column: func.concat(target, chunk)}))
