"""Import N tickets (one article, two history rows each) from JSONL, against a plain executemany floor.

Floor on SQLite: the stdlib ``sqlite3`` ``executemany`` of the same rows (tickets, articles,
history) in one transaction; on PostgreSQL psycopg's, on MariaDB PyMySQL's ``executemany`` the same way. Each tktctl
import runs in a process of its own, which reports its peak memory (VmHWM), its CPU time,
the largest the SQLite write-ahead log got (measured after each batch's commit, where it is
largest) and the database file's growth per ticket. A second input gives every record its
``created`` and ``changed`` times as ISO 8601 strings (as an export writes them).
Target: tktctl within 2x of the floor's time, memory and log flat in N.

Usage: ``python -m bench.bench_import [N] [RUNS] [BACKENDS]``; BACKENDS, comma-separated (default all
three), picks the cases: a server named there runs at any N, otherwise only up to SERVER_MAX. With
``TKTCTL_BENCH_DIR`` the inputs are written there once and reused by later runs.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from bench._common import MYSQL, POSTGRES, argument, fresh_desk, timed, write_section

N = 100_000
RUNS = 3
BACKENDS = ("sqlite", "postgresql", "mysql")
# Server databases unless named: at sizes where a run takes minutes, not hours.
SERVER_MAX = 100_000
BATCH = 5000
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def body(i: int) -> str:
    """A 100-character body (the size the README's disk figure is for)."""
    return f"body of ticket {i} ".ljust(100, "x")


def created_changed(i: int) -> tuple[datetime, datetime]:
    """Record ``i``'s times in the `times` input (aware UTC)."""
    created = START + timedelta(seconds=37 * i)
    return created, created + timedelta(minutes=5)


def write_input(path: Path, times: bool = False) -> None:
    with path.open("w") as out:
        for i in range(N):
            record = {"title": f"ticket {i}", "customer": f"c{i % 97}@example.com", "external_id": f"ext-{i}"}
            if times:
                created, changed = created_changed(i)
                record["created"] = created.isoformat().replace("+00:00", "Z")
                record["changed"] = changed.isoformat().replace("+00:00", "Z")
            out.write(json.dumps({**record, "body": body(i)}) + "\n")


def floor_rows(times: bool = False) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The rows the floor inserts, built before its clock starts. With ``times``, each ticket
    (its article and history) carries the input's own two times, as datetimes: the floor stores
    what tktctl stores, but reads no JSON and parses no time string (tktctl does both)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    stamps = [tuple(t.replace(tzinfo=None) for t in created_changed(i)) if times else (now, now) for i in range(N)]
    tickets = [
        (i + 1, f"9{i:015d}", f"ticket {i}", 2, 1, 3, False, 1, f"c{i % 97}@example.com", *stamps[i], f"ext-{i}", 1, 1)
        for i in range(N)
    ]
    articles = [(i + 1, "phone", "customer", f"ticket {i}", body(i), True, stamps[i][0], 1) for i in range(N)]
    new = json.dumps({"tn": "x", "queue": "Raw", "state": "new", "priority": "3 normal"})
    history = [(i + 1, "NewTicket", 1, 2, stamps[i][0], new) for i in range(N)]
    history += [(i + 1, "PhoneCallCustomer", 1, 2, stamps[i][0], '{"channel": "phone"}') for i in range(N)]
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


def floor_sqlite(url: str, times: bool = False) -> float:
    import sqlite3

    tickets, articles, history = floor_rows(times)
    conn = sqlite3.connect(make_url(url).database)

    def run() -> None:
        with conn:
            conn.executemany(TICKET_SQL.format(",".join("?" * 14)), tickets)
            conn.executemany(ARTICLE_SQL.format(",".join("?" * 8)), articles)
            conn.executemany(HISTORY_SQL.format(",".join("?" * 6)), history)

    seconds = timed(run)
    conn.close()
    return seconds


def floor_postgres(url: str, times: bool = False) -> float:
    import psycopg

    tickets, articles, history = floor_rows(times)
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:

        def run() -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(TICKET_SQL.format(",".join(["%s"] * 14)), tickets)
                cur.executemany(ARTICLE_SQL.format(",".join(["%s"] * 8)), articles)
                cur.executemany(HISTORY_SQL.format(",".join(["%s"] * 6)), history)

        return timed(run)


def floor_mysql(url: str, times: bool = False) -> float:
    """PyMySQL's executemany (which sends multi-row INSERTs), as tktctl's inserts on MariaDB use."""
    import pymysql

    tickets, articles, history = floor_rows(times)
    parsed = make_url(url)
    conn = pymysql.connect(
        host=parsed.host,
        port=parsed.port or 3306,
        user=parsed.username,
        password=parsed.password or "",
        database=parsed.database,
    )

    def run() -> None:
        with conn.cursor() as cur:
            cur.executemany(TICKET_SQL.format(",".join(["%s"] * 14)), tickets)
            cur.executemany(ARTICLE_SQL.format(",".join(["%s"] * 8)), articles)
            cur.executemany(HISTORY_SQL.format(",".join(["%s"] * 6)), history)
        conn.commit()

    seconds = timed(run)
    conn.close()
    return seconds


def child(url: str, source: str) -> None:
    """One import, in this process alone: prints its figures as JSON."""
    from tktctl.api import Desk
    from tktctl.db.engine import sqlite_path
    from tktctl.tickets.importcheck import read_records

    path = sqlite_path(url)
    log = Path(f"{path}-wal") if path else None
    empty = path.stat().st_size if path else 0
    peak_log = [0]

    def batch_done(_: int) -> None:  # after a batch's commit, before any checkpoint: the log at its largest
        if log is not None and log.exists():
            peak_log[0] = max(peak_log[0], log.stat().st_size)

    desk = Desk(url)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with open(source) as stream:
        result = desk.transfer.import_tickets(read_records(stream, "jsonl"), batch_size=BATCH, progress=batch_done)
    seconds = time.perf_counter() - started
    end = resource.getrusage(resource.RUSAGE_SELF)
    assert result.totals["created"] == N, result.totals
    desk.close()
    figures = {
        "seconds": seconds,
        "user": end.ru_utime - cpu.ru_utime,
        "sys": end.ru_stime - cpu.ru_stime,
        "rss_mb": peak_rss_kb() / 1024,
        "log_mb": peak_log[0] / 2**20 if log else None,
        "bytes_per_ticket": (path.stat().st_size - empty) / N if path else None,
    }
    print(json.dumps(figures))


def peak_rss_kb() -> int:
    """This process's peak resident memory since its exec (VmHWM). Not ru_maxrss: Linux carries
    that over from the parent that spawned us, and the parent held the floor's rows."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def tktctl_import(url: str, source: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_import", "--child", url, str(source), str(N)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = [
        "| backend | input | tickets | floor s | tktctl s | ratio (tktctl / floor) | CPU µs/ticket (user+sys) | sys s"
        " | peak RSS MB | peak WAL MB | DB bytes/ticket | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with ExitStack() as stack:
        kept = os.environ.get("TKTCTL_BENCH_DIR")
        workdir = Path(kept) if kept else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        cases = [("sqlite", floor_sqlite, label) for label in ("plain", "times") if "sqlite" in BACKENDS]
        for backend, server, floor_of in (("postgresql", POSTGRES, floor_postgres), ("mysql", MYSQL, floor_mysql)):
            if server and backend in BACKENDS and N <= SERVER_MAX:
                cases.append((backend, floor_of, "plain"))
        inputs = {label: workdir / f"tickets-{N}-{label}.jsonl" for label in {case[2] for case in cases}}
        for label, path in inputs.items():
            if not path.exists():
                write_input(path, label == "times")
        for backend, floor, label in cases:
            floors: list[float] = []
            runs: list[dict[str, float]] = []
            for _ in range(RUNS):  # interleaved, so that a noisy moment hits both sides alike
                with fresh_desk(backend, workdir) as url:
                    floors.append(floor(url, label == "times"))
                with fresh_desk(backend, workdir) as url:
                    runs.append(tktctl_import(url, inputs[label]))
            floor_s = statistics.median(floors)
            median = {k: statistics.median(r[k] for r in runs) if runs[0][k] is not None else None for k in runs[0]}
            ratio = median["seconds"] / floor_s
            cpu_us = (median["user"] + median["sys"]) / N * 1e6
            log = "-" if median["log_mb"] is None else f"{median['log_mb']:,.0f}"
            per_ticket = "-" if median["bytes_per_ticket"] is None else f"{median['bytes_per_ticket']:,.0f}"
            verdict = "met" if ratio <= 2 else "MISSED"
            rows.append(
                f"| {backend} | {label} | {N:,} | {floor_s:.2f} | {median['seconds']:.2f} | {ratio:.2f} | {cpu_us:.0f}"
                f" | {median['sys']:.1f} | {median['rss_mb']:,.0f} | {log} | {per_ticket} | <= 2 ({verdict}) |"
            )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    body_text = (
        f"## Import {N:,} tickets from JSONL (one article and two history rows each)\n\n"
        f"tktctl: `Transfer.import_tickets` in a process of its own (checked and written in batches of {BATCH:,},"
        " one transaction each; executemany on SQLite with the log checkpointed between batches once it passes"
        " 128 MB, COPY on PostgreSQL, executemany on MariaDB). Input `times`: each record also has `created` and"
        " `changed` as ISO 8601.\n"
        "Floor: the same rows inserted with the driver's plain `executemany` in one transaction, built as tuples"
        " before its clock starts: it reads no JSON, checks nothing, parses no time and numbers no ticket (tktctl"
        " does all of these in its time). For `times` the floor's rows carry the input's own times (as datetimes),"
        " so both store the same values.\n"
        f"Figures are the median of {RUNS} runs of each, floor and tktctl interleaved; load average at the start:"
        f" {start}, at the end: {load} ({os.cpu_count()} CPUs)."
        " Peak WAL: the log file after a batch's commit, at its largest."
        " DB bytes/ticket: the database file's growth over the empty desk, divided by the tickets.\n\n"
        + "\n".join(rows)
    )
    write_section(f"import-{N}", body_text)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    if sys.argv[1:2] == ["--child"]:
        N = int(sys.argv[4])
        child(sys.argv[2], sys.argv[3])
    else:
        N, RUNS = argument(1, N), argument(2, RUNS)
        if len(sys.argv) > 3:  # the servers named run at this N
            BACKENDS, SERVER_MAX = tuple(sys.argv[3].split(",")), N
        main()
