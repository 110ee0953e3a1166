"""`db copy`: a whole desk into an empty database, ids and ticket numbers kept, then verified table by table."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Numeric, select

from tktctl.access import permissions
from tktctl.core.record import Record
from tktctl.core.unit import Store, python_warning
from tktctl.db.bulk import insert_rows
from tktctl.db.engine import normalise_url
from tktctl.db.models import Base
from tktctl.errors import ConflictError, DatabaseError, UsageError
from tktctl.isotime import iso
from tktctl.text import plural


def copy_desk(
    source: Store,
    target_url: str,
    progress: Callable[[int], None] | None = None,
    warn: Callable[[str], None] = python_warning,
) -> list[Record]:
    """Copy every table, ids and ticket numbers included, into an empty database; then verify it.

    The target is migrated first and written in one transaction (all or nothing); on
    PostgreSQL the id sequences are moved past the copied ids (InnoDB and SQLite follow
    the largest id by themselves). Each table's row count and checksum must then agree.
    The target's statistics are updated after the commit (a failure goes to ``warn``).
    """
    from sqlalchemy import text

    if normalise_url(target_url) == normalise_url(source.url):
        raise UsageError("the target is the source database")
    source.status()  # reachable
    with source.read() as unit:  # the source must be a desk of this version
        permissions.require_admin(unit)  # every table, password hashes included: as `desk dump`
    target = Store(target_url)
    try:
        target.upgrade()
        with target.engine.connect() as conn:
            filled = [t.name for t in Base.metadata.sorted_tables if conn.execute(select(t).limit(1)).first()]
        if filled:
            raise ConflictError(f"target database is not empty (table {filled[0]} has rows); copy needs an empty one")
        with source.engine.connect() as reader, target.engine.begin() as writer:
            for table in Base.metadata.sorted_tables:
                order = list(table.primary_key.columns)
                rows = reader.execution_options(yield_per=5000).execute(select(table).order_by(*order))
                for part in rows.partitions():
                    insert_rows(writer, table, [r._asdict() for r in part])
                    if progress is not None:
                        progress(len(part))
            if writer.dialect.name == "postgresql":
                for table in Base.metadata.sorted_tables:
                    if "id" in table.c and table.c.id.autoincrement in (True, "auto") and table.c.id.primary_key:
                        writer.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"
                            )
                        )
        target.analyze_loaded([t.name for t in Base.metadata.sorted_tables], warn)
        return verify_copy(source, target)
    finally:
        target.close()


def verify_copy(source: Store, target: Store) -> list[Record]:
    """Row count and SHA-256 of every table on both sides; a difference is a database error."""

    report: list[Record] = []
    with source.engine.connect() as left, target.engine.connect() as right:
        for table in Base.metadata.sorted_tables:
            (rows, mine), (their_rows, theirs) = _checksum(left, table), _checksum(right, table)
            report.append(
                {"table": table.name, "rows": rows, "checksum": mine, "verified": (rows, mine) == (their_rows, theirs)}
            )
            if not report[-1]["verified"]:
                raise DatabaseError(
                    f"copy of table {table.name} differs: {plural(rows, 'row')} ({mine[:12]}) here, "
                    f"{plural(their_rows, 'row')} ({theirs[:12]}) there"
                )
    return report


def _checksum(conn: Any, table: Any) -> tuple[int, str]:
    """Rows in primary-key order as canonical JSON, hashed: the same on every backend."""
    import hashlib

    digest = hashlib.sha256()
    count = 0
    result = conn.execution_options(yield_per=5000).execute(select(table).order_by(*table.primary_key.columns))
    # NUMERIC: SQLite gives back 30 where PostgreSQL gives 30.0 and MariaDB Decimal('30.00').
    numeric = [isinstance(c.type, Numeric) and not isinstance(c.type, Integer) for c in table.columns]
    for row in result:
        values = [_number(v) if n and v is not None else _canonical(v) for v, n in zip(row, numeric, strict=True)]
        digest.update(json.dumps(values, sort_keys=True, ensure_ascii=False).encode())
        count += 1
    return count, digest.hexdigest()


def _number(value: Any) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value
