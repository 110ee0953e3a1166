"""Bulk move by filter, ``stats --by queue,state`` and a filtered ``count`` on desks of N tickets,
each against the plain SQL that answers the same question, measured in the same run.

The desk (built once per size and cached in ``$TKTCTL_BENCH_CACHE``, else the temp dir): ten
queues without SLA, N tickets spread over them and over new/open/closed/pending reminder, five
priorities and three owners.

- move: ``tickets.move(TicketFilter(queue=["Q0"]), to="Q9")`` (N/10 tickets),
  floor: one ``INSERT … SELECT`` of Move history rows plus one ``UPDATE``, same WHERE, one
  transaction through the driver; each side on its own copy of the desk.
- stats: ``tickets.stats(["queue", "state"])``; floor: ``SELECT queue_id, state_id, count(*) …
  GROUP BY`` through the driver.
- count: ``tickets.count(TicketFilter(queue=["Q0"], state_type=["open"]))``; floor: the same
  ``count(*)`` with ids through the driver, on a connection already open, the statement alone
  (``count``) or in a transaction of its own as a command's read is (``count-txn``: pool
  checkout, BEGIN, the statement, ROLLBACK).

Every measurement runs in its own process (peak memory is that process's max RSS), timed in
CPU seconds on SQLite (the machine is shared) and wall seconds on PostgreSQL; stats and
count are the median of 11 calls after a warm-up call, a move the median of 3 runs on fresh
copies. ``--postgres=N``, ``--mariadb=N``: also on PostgreSQL or MariaDB at N tickets
(``TKTCTL_BENCH_POSTGRES_URL`` or ``TKTCTL_TEST_POSTGRES_URL``; ``TKTCTL_BENCH_MYSQL_URL`` or
``TKTCTL_TEST_MYSQL_URL``), the SQLite desk copied there once (`db copy`) and kept. Usage:
``python -m bench.bench_bulk_stats [--postgres=N] [--mariadb=N] [N ...]`` (default 100000 1000000).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench._common import MYSQL, POSTGRES, write_section
from tktctl.api import Desk, TicketFilter
from tktctl.setup.dbcopy import copy_desk

CACHE = Path(os.environ.get("TKTCTL_BENCH_CACHE") or Path(tempfile.gettempdir()) / "tktctl-bench-cache")
QUEUES = 10
STATES = ("new", "open", "closed successful", "pending reminder")
BATCH = 50_000
REPEATS = 11
CPU_CLOCK = False
ROUNDS = 3  # moves: each side this many times (on fresh copies), the median taken
MOVED = {"queue": ["Q0"]}  # a tenth of the tickets
COUNTED = {"queue": ["Q0"], "state_type": ["open"]}


def cached_desk(n: int) -> Path:
    """An SQLite desk of ``n`` tickets, built once and kept in CACHE (delete it to rebuild)."""
    path = CACHE / f"bulkstats-{n}.db"
    if path.exists():
        Desk(f"sqlite:///{path}").upgrade()  # a desk cached by an older schema gets the new indexes
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    desk = Desk(f"sqlite:///{partial}")
    desk.init()
    for q in range(QUEUES):
        desk.queues.create(f"Q{q}")
    for login in ("ann", "bob"):
        desk.agents.create(login)
    desk.close()
    engine = create_engine(f"sqlite:///{partial}")
    with engine.begin() as conn:
        queues = [
            conn.execute(text("SELECT id FROM queue WHERE name = :n"), {"n": f"Q{q}"}).scalar() for q in range(QUEUES)
        ]
        states = [conn.execute(text("SELECT id FROM ticket_state WHERE name = :n"), {"n": s}).scalar() for s in STATES]
        agents = list(conn.execute(text("SELECT id FROM agent ORDER BY id")).scalars())[:3]
        at = datetime(2026, 1, 1)
        for start in range(0, n, BATCH):
            rows = []
            for i in range(start, min(n, start + BATCH)):
                state = states[1] if (i // QUEUES) % 10 == 0 else states[(i // QUEUES) % len(STATES)]
                rows.append(
                    {
                        "id": i + 1,
                        "tn": f"8{i:015d}",
                        "title": f"ticket {i}",
                        "queue": queues[i % QUEUES],
                        "state": state,
                        "priority": 1 + i % 5,
                        "owner": agents[i % len(agents)],
                        "pending": at + timedelta(days=30) if state == states[3] else None,
                        "closed": at + timedelta(seconds=i) if state == states[2] else None,
                        "at": at + timedelta(seconds=i),
                    }
                )
            conn.execute(
                text(
                    "INSERT INTO ticket (id, tn, title, queue_id, state_id, priority_id, locked, owner_id,"
                    " pending_until, first_closed_at, created, changed, created_by, changed_by) VALUES (:id, :tn,"
                    " :title, :queue, :state, :priority, 0, :owner, :pending, :closed, :at, :at, 1, 1)"
                ),
                rows,
            )
        conn.execute(text("ANALYZE"))
    engine.dispose()
    partial.rename(path)
    return path


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clock() -> float:
    """On SQLite (in this process, the machine shared) the process's CPU time; a server's work is
    not in it, so on PostgreSQL the wall clock."""
    return time.process_time() if CPU_CLOCK else time.perf_counter()


def _median(work: Any) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(REPEATS):
        started = clock()
        result = work()
        times.append(clock() - started)
    return statistics.median(times), result


FLOOR_MOVE = (
    "INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
    " SELECT id, 'Move', 1, :to, :now, {json}('from', (SELECT name FROM queue WHERE id = ticket.queue_id),"
    " 'to', 'Q9') FROM ticket WHERE {where}",
    "UPDATE ticket SET queue_id = :to, changed = :now, changed_by = 1 WHERE {where}",
)


def one(kind: str, url: str) -> dict[str, Any]:
    """One measurement in this process: seconds and what it returned."""
    global CPU_CLOCK
    CPU_CLOCK = url.startswith("sqlite")
    engine = create_engine(url)
    with engine.connect() as conn:
        q0, q9 = (conn.execute(text("SELECT id FROM queue WHERE name = :n"), {"n": n}).scalar() for n in ("Q0", "Q9"))
    moved = f"queue_id = {q0}"
    counted = count_where(engine)
    desk = Desk(url)
    result: Any
    if kind == "move-floor":
        started = clock()
        with engine.begin() as conn:
            params = {"to": q9, "now": datetime(2026, 6, 1)}
            json_build = "json_build_object" if engine.dialect.name == "postgresql" else "json_object"
            done = [conn.execute(text(s.format(where=moved, json=json_build)), params).rowcount for s in FLOOR_MOVE]
        seconds, result = clock() - started, done[1]
    elif kind == "move":
        started = clock()
        result = desk.tickets.move(TicketFilter(**MOVED), to="Q9").matched
        seconds = clock() - started
    elif kind == "move-q":  # what `ticket move ... -q` prints: the numbers only
        started = clock()
        result = sum(1 for _ in desk.tickets.move(TicketFilter(**MOVED), to="Q9").numbers())
        seconds = clock() - started
    elif kind == "stats-floor":
        sql = text("SELECT queue_id, state_id, count(*) FROM ticket GROUP BY queue_id, state_id")
        with engine.connect() as conn:
            conn.execute(sql).all()
            seconds, result = _median(lambda: len(conn.execute(sql).all()))
    elif kind == "stats":
        desk.tickets.stats(["queue", "state"])  # warm: schema check, statements compiled
        seconds, result = _median(lambda: len(desk.tickets.stats(["queue", "state"])))
    elif kind == "count-floor":
        sql = text(f"SELECT count(*) FROM ticket WHERE {counted}")
        with engine.connect() as conn:
            conn.execute(sql).scalar()
            seconds, result = _median(lambda: conn.execute(sql).scalar())
    elif kind == "count-txn-floor":
        sql = text(f"SELECT count(*) FROM ticket WHERE {counted}")
        seconds, result = _median(lambda: _in_own_transaction(engine, sql))
    else:
        desk.tickets.count(TicketFilter(**COUNTED))  # warm
        seconds, result = _median(lambda: desk.tickets.count(TicketFilter(**COUNTED)))
    desk.close()
    engine.dispose()
    return {"seconds": seconds, "result": result, "peak_mib": peak_mib()}


def count_where(engine: Any) -> str:
    """The WHERE of the count floor: COUNTED with the ids of its names."""
    with engine.connect() as conn:
        q0 = conn.execute(text("SELECT id FROM queue WHERE name = 'Q0'")).scalar()
        open_ids = conn.execute(
            text("SELECT s.id FROM ticket_state s JOIN ticket_state_type t ON s.type_id = t.id WHERE t.name = 'open'")
        ).scalars()
        return f"queue_id = {q0} AND state_id IN ({', '.join(map(str, open_ids))})"


def _in_own_transaction(engine: Any, sql: Any) -> Any:
    """The statement as a command's read runs it: a pooled connection, its own transaction."""
    with engine.connect() as conn:
        return conn.execute(sql).scalar()


def _admin(base: str) -> Any:
    """An autocommit engine on the server of ``base`` (PostgreSQL's maintenance database)."""
    url = make_url(base)
    return create_engine(
        url.set(database="postgres" if url.get_backend_name() == "postgresql" else None), isolation_level="AUTOCOMMIT"
    )


def server_desk(base: str, n: int) -> str:
    """The SQLite desk of ``n`` copied (`db copy`) into a database on the server of ``base``, kept
    between runs (delete it to rebuild)."""
    name = f"tktctl_bulkstats_{n}"
    admin = _admin(base)
    postgres = admin.dialect.name == "postgresql"
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        found = (
            "SELECT 1 FROM pg_database WHERE datname = :n"
            if postgres
            else "SELECT 1 FROM information_schema.schemata WHERE schema_name = :n"
        )
        exists = conn.execute(text(found), {"n": name}).scalar()
        if not exists:
            conn.execute(text(f"CREATE DATABASE {name}" + ("" if postgres else " CHARACTER SET utf8mb4")))
    admin.dispose()
    if not exists:
        source = Desk(f"sqlite:///{cached_desk(n)}")
        copy_desk(source, url)  # (which ends with ANALYZE)
        source.close()
        if postgres:
            vacuum = create_engine(url, isolation_level="AUTOCOMMIT")
            with vacuum.connect() as conn:
                conn.execute(text("VACUUM"))
            vacuum.dispose()
    desk = Desk(url)
    desk.upgrade()
    desk.close()  # a template database takes no copies while connected to
    return url


@contextmanager
def copy_of(url: str, kind: str) -> Iterator[str]:
    """A scratch copy of the desk at ``url`` (a file copy, or a PostgreSQL template copy), removed after."""
    if url.startswith("sqlite"):
        source = Path(make_url(url).database or "")
        target = source.with_name(f"scratch-{kind}.db")
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
        target.unlink()
        return
    base = make_url(url)
    name = f"{base.database}_{kind.replace('-', '_')}"
    admin = _admin(url)
    with admin.connect() as conn:
        if admin.dialect.name == "postgresql":
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {base.database}"))
        else:  # MariaDB has no template databases: a dump, restored
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            client = [f"--host={base.host}", f"--port={base.port or 3306}", f"--user={base.username}"]
            client += [f"--password={base.password}"] if base.password else []
            dump = subprocess.run(
                ["mysqldump", *client, "--single-transaction", base.database or ""], check=True, capture_output=True
            ).stdout
            subprocess.run(["mysql", *client, name], input=dump, check=True)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


def measure(kind: str, url: str) -> dict[str, Any]:
    """``one(kind)`` in a child process, on a scratch copy of the desk when it writes."""
    with copy_of(url, kind) if kind.startswith("move") else nullcontext(url) as target:
        out = subprocess.run(
            [sys.executable, "-m", "bench.bench_bulk_stats", "--one", kind, target],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
    return json.loads(out.splitlines()[-1])


def main(sizes: dict[str, list[int]]) -> None:
    load = os.getloadavg()
    rows = [
        "| backend | N | measure | floor s | tktctl s | ratio | floor peak MiB | tktctl peak MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for backend, ns in sizes.items():
        for n in ns:
            base = {"postgresql": POSTGRES, "mariadb": MYSQL}.get(backend)
            url = server_desk(base, n) if base else f"sqlite:///{cached_desk(n)}"
            for kind in ("move", "move-q", "stats", "count", "count-txn"):
                floor_kind = "count-txn-floor" if kind == "count-txn" else kind.split("-")[0] + "-floor"
                rounds = [
                    (measure(floor_kind, url), measure(kind.split("-")[0] if kind == "count-txn" else kind, url))
                    for _ in range(ROUNDS if kind.startswith("move") else 1)
                ]
                for floor, ours in rounds:
                    assert floor["result"] == ours["result"], (kind, floor, ours)
                floor_s = statistics.median(f["seconds"] for f, _ in rounds)
                ours_s = statistics.median(o["seconds"] for _, o in rounds)
                rows.append(
                    f"| {backend} | {n:,} | {kind} | {floor_s:.4f} | {ours_s:.4f} | {ours_s / floor_s:.2f} |"
                    f" {max(f['peak_mib'] for f, _ in rounds):.0f} | {max(o['peak_mib'] for _, o in rounds):.0f} |"
                )
                print(rows[-1], flush=True)
    body = (
        "## Bulk move, stats and count (issue 14, section 3)\n\n"
        "Ten queues without SLA; move: the tickets of Q0 (N/10) to Q9 by filter (`move` builds no records,"
        " as the API caller that does not read them; `move-q` also reads the moved tickets' numbers, as"
        " `ticket move -q`); floor: one `INSERT … SELECT` of history plus one `UPDATE`. stats: `--by queue,state`,"
        " floor: the join-free `GROUP BY queue_id, state_id`. count: `--queue Q0 --state-type open`, against"
        " two floors, both the same `count(*)` with ids for the names, in the same process through the same"
        " driver on a connection already open: `count`, the statement alone (one round trip, no transaction of"
        " its own); `count-txn`, the statement as a command's read runs it (pool checkout, BEGIN, the"
        " statement, ROLLBACK). stats and count: median of 11 after one warm-up call; moves: median of 3."
        " Seconds: CPU time of the measuring process on SQLite (SQLite runs in it; the machine is shared),"
        " wall time on PostgreSQL and MariaDB (desks copied there from the SQLite one by `db copy`)."
        " Peak memory: the max RSS of the measuring process.\n\n"
        "tktctl's count resolves the filter's names as `ticket list` does (queues and states from the"
        " configuration cache: no statement of their own; an owner or responsible name is one agent lookup)"
        " and runs one count statement with their ids bound (built once per filter shape) in a read"
        " transaction on a connection (no ORM session): what it pays beyond `count-txn` is the configuration"
        " generation's read (one round trip) and its Python; the query has the floor's plan (a covering scan"
        " of `ix_ticket_queue_id_state_id`).\n\n"
        f"Load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs,"
        f" {platform.processor() or platform.machine()}).\n\n" + "\n".join(rows)
    )
    write_section("bulk-stats", body)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], sys.argv[3]), default=str))
    else:
        servers = {
            backend: [int(a.split("=")[1]) for a in sys.argv[1:] if a.startswith(f"--{backend}=")]
            for backend in ("postgresql", "mariadb")
        }
        servers["postgresql"] += [int(a.split("=")[1]) for a in sys.argv[1:] if a.startswith("--postgres=")]
        sizes = [int(a) for a in sys.argv[1:] if not a.startswith("--")] or [100_000, 1_000_000]
        main({"sqlite": sizes, **servers})
