"""Import 100,000 tickets (one article, two history rows each) from JSONL, against a plain executemany floor.

Floor on SQLite: the stdlib ``sqlite3`` ``executemany`` of the same rows (tickets, articles,
history) in one transaction; on PostgreSQL: psycopg ``executemany`` the same way. Target:
tktctl's import at least half the floor's rate. Usage: ``python bench/bench_import.py [N] [RUNS]``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from bench._common import POSTGRES, argument, fresh_desk, timed, write_section
from tktctl.api import Desk
from tktctl.tickets.importcheck import read_records

N = 100_000
RUNS = 3


def write_input(path: Path) -> None:
    with path.open("w") as out:
        for i in range(N):
            record = {"title": f"ticket {i}", "customer": f"c{i % 97}@example.com", "external_id": f"ext-{i}"}
            out.write(json.dumps({**record, "body": f"body of ticket {i}"}) + "\n")


def floor_rows() -> tuple[list[tuple], list[tuple], list[tuple]]:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    tickets = [
        (i + 1, f"9{i:015d}", f"ticket {i}", 2, 1, 3, False, 1, f"c{i % 97}@example.com", now, now, f"ext-{i}", 1, 1)
        for i in range(N)
    ]
    articles = [(i + 1, "phone", "customer", f"ticket {i}", f"body of ticket {i}", True, now, 1) for i in range(N)]
    new = json.dumps({"tn": "x", "queue": "Raw", "state": "new", "priority": "3 normal"})
    history = [(i + 1, "NewTicket", 1, 2, now, new) for i in range(N)]
    history += [(i + 1, "PhoneCallCustomer", 1, 2, now, '{"channel": "phone"}') for i in range(N)]
    return tickets, articles, history


TICKET_SQL = (
    "INSERT INTO ticket (id, tn, title, queue_id, state_id, priority_id, locked, owner_id, customer, created, changed,"
    " external_id, created_by, changed_by) VALUES ({})"
)
ARTICLE_SQL = (
    "INSERT INTO article (ticket_id, channel, sender, subject, body, visible_to_customer, created, created_by)"
    " VALUES ({})"
)
HISTORY_SQL = "INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data) VALUES ({})"


def floor_sqlite(url: str) -> float:
    import sqlite3

    tickets, articles, history = floor_rows()
    conn = sqlite3.connect(make_url(url).database)

    def run() -> None:
        with conn:
            conn.executemany(TICKET_SQL.format(",".join("?" * 14)), tickets)
            conn.executemany(ARTICLE_SQL.format(",".join("?" * 8)), articles)
            conn.executemany(HISTORY_SQL.format(",".join("?" * 6)), history)

    seconds = timed(run)
    conn.close()
    return seconds


def floor_postgres(url: str) -> float:
    import psycopg

    tickets, articles, history = floor_rows()
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:

        def run() -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(TICKET_SQL.format(",".join(["%s"] * 14)), tickets)
                cur.executemany(ARTICLE_SQL.format(",".join(["%s"] * 8)), articles)
                cur.executemany(HISTORY_SQL.format(",".join(["%s"] * 6)), history)

        return timed(run)


def tktctl_import(url: str, source: Path) -> float:
    desk = Desk(url)

    def run() -> None:
        with source.open() as stream:
            result = desk.transfer.import_tickets(read_records(stream, "jsonl"), batch_size=5000)
        assert result.totals["created"] == N

    seconds = timed(run)
    desk.close()
    return seconds


def main() -> None:
    rows = [
        "| backend | floor | floor s | tktctl import s | tickets/s | ratio (floor time / tktctl time) | target |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = workdir / "tickets.jsonl"
        write_input(source)
        cases = [("sqlite", "sqlite3 executemany", floor_sqlite)]
        if POSTGRES:
            cases.append(("postgresql", "psycopg executemany", floor_postgres))
        for backend, floor_name, floor in cases:
            floors: list[float] = []
            times: list[float] = []
            for _ in range(RUNS):  # interleaved, so that a noisy moment hits both sides alike
                with fresh_desk(backend, workdir) as url:
                    floors.append(floor(url))
                with fresh_desk(backend, workdir) as url:
                    times.append(tktctl_import(url, source))
            floor_s, ours = statistics.median(floors), statistics.median(times)
            ratio = floor_s / ours
            verdict = "met" if ratio >= 0.5 else "MISSED"
            rows.append(
                f"| {backend} | {floor_name} | {floor_s:.2f} | {ours:.2f} | {N / ours:,.0f} | {ratio:.2f} |"
                f" >= 0.5 ({verdict}) |"
            )
    body = (
        f"## Import {N:,} tickets from JSONL (one article and two history rows each)\n\n"
        "tktctl: `Transfer.import_tickets` (checking, batches of 5,000, one transaction each; executemany and"
        " one WAL checkpoint at the end on SQLite, COPY on PostgreSQL).\n"
        "Floor: the same rows inserted with the driver's plain `executemany` in one transaction.\n"
        f"Seconds are the median of {RUNS} runs of each, floor and tktctl interleaved.\n\n" + "\n".join(rows)
    )
    write_section("import", body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    N, RUNS = argument(1, N), argument(2, RUNS)
    main()
