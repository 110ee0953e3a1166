"""`tktctl db copy` of a 100,000-ticket desk from SQLite into PostgreSQL: time and rows/s.

Each ticket has one article and two history rows. The copy includes the verification
(row counts and a SHA-256 per table on both sides). Floor for the ratio: ``pg_dump``-free
plain psycopg executemany of the same rows. Usage: ``python bench/bench_db_copy.py [N]``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench._common import POSTGRES, argument, fresh_desk, timed, write_section
from bench.bench_import import floor_postgres
from tktctl.api import Desk
from tktctl.setup.dbcopy import copy_desk

N = 100_000


def main() -> None:
    import bench.bench_import as load

    assert POSTGRES, "set TKTCTL_BENCH_POSTGRES_URL (or TKTCTL_TEST_POSTGRES_URL)"
    load.N = N
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with fresh_desk("sqlite", workdir) as source_url:
            load.floor_sqlite(source_url)  # the same 100k tickets, articles, history rows
            source = Desk(source_url)
            with fresh_desk("postgresql", workdir) as floor_url:
                floor_s = floor_postgres(floor_url)
            with fresh_desk("postgresql", workdir, init=False) as target_url:
                report: list[dict] = []
                seconds = timed(lambda: report.extend(copy_desk(source, target_url)))
            source.close()
    rows = sum(r["rows"] for r in report)
    body = (
        f"## `db copy` of a {N:,}-ticket desk, SQLite -> PostgreSQL\n\n"
        f"{rows:,} rows in {len(report)} tables, verified (row counts and SHA-256 per table on both sides).\n\n"
        "| floor (psycopg executemany of the ticket, article, history rows) s | tktctl db copy s | rows/s |"
        " ratio (floor / tktctl) |\n|---|---|---|---|\n"
        f"| {floor_s:.2f} | {seconds:.2f} | {rows / seconds:,.0f} | {floor_s / seconds:.2f} |"
    )
    write_section("db-copy", body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    N = argument(1, N)
    main()
