"""`ticket search` of a two-word query, top 50, on a desk of 1,000,000 tickets and 3,000,000 articles.

    python bench/bench_search.py [TICKETS] [ARTICLES_PER_TICKET]     # SQLite, and PostgreSQL if set

The desks are built once, by bulk SQL (articles through the full-text triggers / generated column),
and kept: SQLite under /tmp/tktctl-bench-search/, PostgreSQL as database tktctl_bench_search. Bodies
are 12 words drawn from a 5,000-word vocabulary with Zipf frequencies; "printer" and "toner" are the
words of rank 50 and 80 (each in a few per cent of articles, both in about 0.1 %). The floor is the
same search's matching alone (the engine's MATCH / @@ with a count, no ranking, no join).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from bench._common import POSTGRES, argument, write_section
from tktctl.api import Desk

CACHE = Path("/tmp/tktctl-bench-search")
PG_NAME = "tktctl_bench_search"
QUERY = "printer toner"
VOCABULARY = 5000
WORDS = 12
BATCH = 20_000
RUNS = 7


def vocabulary() -> list[str]:
    rng = random.Random(7)
    words = sorted({"".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 9))) for _ in range(6000)})
    words = words[:VOCABULARY]
    words[49], words[79] = "printer", "toner"
    return words


def rows(tickets: int, per_ticket: int) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    """Batches of (ticket rows, article rows)."""
    words = vocabulary()
    weights = [1 / (rank + 1) for rank in range(len(words))]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    rng = random.Random(11)
    stamp = "2026-01-01 00:00:00"
    article_id = 0
    for start in range(0, tickets, BATCH):
        ticket_rows, article_rows = [], []
        for tid in range(start + 1, min(start + BATCH, tickets) + 1):
            title = " ".join(rng.choices(words, cum_weights=cumulative, k=4))
            ticket_rows.append((tid, f"B{tid:015d}", title, 4, 1, 3, False, 1, stamp, stamp, 1, 1))
            for _ in range(per_ticket):
                article_id += 1
                body = " ".join(rng.choices(words, cum_weights=cumulative, k=WORDS))
                subject = " ".join(rng.choices(words, cum_weights=cumulative, k=3))
                article_rows.append(
                    (article_id, tid, "email", "customer", "c@example.com", subject, body, True, stamp, 1)
                )
        yield ticket_rows, article_rows


TICKET_COLUMNS = (
    "id, tn, title, queue_id, state_id, priority_id, locked, owner_id, created, changed, created_by, changed_by"
)
ARTICLE_COLUMNS = "id, ticket_id, channel, sender, a_from, subject, body, visible_to_customer, created, created_by"


def build_sqlite(tickets: int, per_ticket: int) -> str:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"search-{tickets}-{per_ticket}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    desk = Desk(f"sqlite:///{partial}")
    desk.init()
    desk.close()
    import sqlite3

    conn = sqlite3.connect(partial)
    conn.execute("PRAGMA synchronous=OFF")
    started = time.perf_counter()
    for ticket_rows, article_rows in rows(tickets, per_ticket):
        conn.executemany(f"INSERT INTO ticket ({TICKET_COLUMNS}) VALUES ({','.join('?' * 12)})", ticket_rows)
        conn.executemany(f"INSERT INTO article ({ARTICLE_COLUMNS}) VALUES ({','.join('?' * 10)})", article_rows)
        conn.commit()
    conn.execute("INSERT INTO article_fts(article_fts) VALUES ('optimize')")
    conn.commit()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"sqlite desk built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    partial.rename(path)
    return url


def build_postgres(tickets: int, per_ticket: int) -> str | None:
    if not POSTGRES:
        return None
    name = f"{PG_NAME}_{tickets}_{per_ticket}"
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(make_url(POSTGRES).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        done = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if done and conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name + "_ok"}).first():
            return url
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    desk = Desk(url)
    desk.init()
    desk.close()
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as pg:
        pg.execute("DROP INDEX ix_article_search_vector")  # built once at the end, not row by row
        for ticket_rows, article_rows in rows(tickets, per_ticket):
            with pg.cursor().copy(f"COPY ticket ({TICKET_COLUMNS}) FROM STDIN") as copy:
                for row in ticket_rows:
                    copy.write_row(row)
            with pg.cursor().copy(f"COPY article ({ARTICLE_COLUMNS}) FROM STDIN") as copy:
                for row in article_rows:
                    copy.write_row(row)
            pg.commit()
        pg.execute("SET maintenance_work_mem = '512MB'")
        pg.execute("CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)")
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}_ok"))  # the marker: the build finished
    print(f"postgresql desk built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url


def measure(url: str) -> tuple[float, float, int, str]:
    """Median query time of the search (ms), of the bare match count (ms), the hits, and the plan."""
    desk = Desk(url)
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(desk.engine, "before_cursor_execute", capture)
    desk.search.tickets(QUERY, limit=50)  # warm the caches
    search_sql, search_params = next((s, p) for s, p in reversed(statements) if "score" in s)
    event.remove(desk.engine, "before_cursor_execute", capture)
    raw = desk.engine.raw_connection()
    try:
        cursor = raw.cursor()
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            cursor.execute(search_sql, search_params)
            hits = len(cursor.fetchall())
            times.append((time.perf_counter() - started) * 1000)
        if desk.engine.dialect.name == "sqlite":
            floor_sql = 'SELECT count(*) FROM article_fts WHERE article_fts MATCH \'"printer" AND "toner"\''
            cursor.execute("EXPLAIN QUERY PLAN " + search_sql, search_params)
            plan = "\n".join(str(r[-1]) for r in cursor.fetchall())
        else:
            floor_sql = "SELECT count(*) FROM article WHERE search_vector @@ to_tsquery('simple', 'printer & toner')"
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + search_sql, search_params)
            plan = "\n".join(r[0] for r in cursor.fetchall())
        floor = []
        for _ in range(RUNS):
            started = time.perf_counter()
            cursor.execute(floor_sql)
            cursor.fetchall()
            floor.append((time.perf_counter() - started) * 1000)
    finally:
        raw.close()
        desk.close()
    return statistics.median(times), statistics.median(floor), hits, plan


def main() -> None:
    tickets, per_ticket = argument(1, 1_000_000), argument(2, 3)
    results = [("SQLite (FTS5)", build_sqlite(tickets, per_ticket))]
    pg = build_postgres(tickets, per_ticket) if os.environ.get("BENCH_SEARCH_PG", "1") == "1" else None
    if pg:
        results.append(("PostgreSQL (tsvector, GIN)", pg))
    lines = [
        f"## `ticket search` of a two-word query, top 50 ({tickets:,} tickets, {tickets * per_ticket:,} articles)",
        "",
        f"`python bench/bench_search.py {tickets} {per_ticket}`: query `{QUERY}` (ranked, grouped by ticket,",
        "joined to the ticket record). Query time is the statement's median of "
        f"{RUNS} warm runs; the floor is the engine's bare match count of the same words.",
        "",
        "| database | hits | query time | floor (match count) | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    plans = []
    load = os.getloadavg()[0]
    for label, url in results:
        query_ms, floor_ms, hits, plan = measure(url)
        lines.append(f"| {label} | {hits} | {query_ms:.1f} ms | {floor_ms:.1f} ms | {query_ms / floor_ms:.1f}x |")
        plans += ["", f"{label} plan:", "", "```", plan, "```"]
    notes = [
        "",
        f"Load average during the run: {load:.1f} on {os.cpu_count()} CPUs (the machine is shared), so the",
        "absolute times are inflated; the ratio to the floor is the figure to compare. The search ranks every",
        "matching document (about 1,900 here: BM25 on SQLite, ts_rank on PostgreSQL), keeps the best 50",
        "tickets after the filters, and only then joins their records.",
    ]
    write_section("search", "\n".join(lines + notes + plans))


if __name__ == "__main__":
    main()
