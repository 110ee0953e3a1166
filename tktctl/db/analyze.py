"""The planner's statistics, updated after a bulk load and by `maint analyze`.

A planner that still believes the ticket table empty (its statistics from before an import of
a million tickets) picks a scan where an index would do. SQLite's ``ANALYZE`` (bounded by
``analysis_limit``, so that it costs milliseconds whatever the size), PostgreSQL's ``ANALYZE``
and MariaDB's ``ANALYZE TABLE`` on the tables named, one statement for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from tktctl.errors import DatabaseError

# Rows SQLite samples per index (its documented suggestion for a quick, good-enough ANALYZE).
SQLITE_ANALYSIS_LIMIT = 1000
# A load of fewer rows leaves the statistics to the servers' own auto-analyze (and to `maint
# analyze`): on a large desk an ANALYZE costs more than a small import.
LOAD_ROWS = 1000


def analyze(engine: Engine, tables: Sequence[str]) -> None:
    """Update the statistics of ``tables`` (names of this schema's tables), in its own transaction.

    Raises :class:`DBAPIError` as the driver does, and :class:`DatabaseError` for a table that
    MariaDB reports it could not analyze (it answers with a result row, not an error).
    """
    dialect = engine.dialect.name
    quote = engine.dialect.identifier_preparer.quote
    names = [quote(t) for t in tables]
    with engine.begin() as conn:
        if dialect == "sqlite":
            conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
            for name in names:  # SQLite's ANALYZE takes one table at a time
                conn.exec_driver_sql(f"ANALYZE {name}")
        elif dialect == "mysql":
            rows = conn.exec_driver_sql(f"ANALYZE TABLE {', '.join(names)}").all()
            failed = [f"{table}: {text}" for table, _op, kind, text in rows if str(kind).lower() == "error"]
            if failed:
                raise DatabaseError(f"ANALYZE TABLE failed: {'; '.join(failed)}")
        else:
            conn.exec_driver_sql(f"ANALYZE {', '.join(names)}")
