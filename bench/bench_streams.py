"""Streamed reads at 100,000 and 1,000,000 records: seconds against a floor, and peak memory.

`ticket list -o jsonl`, `ticket export -o jsonl` and `ticket history TN -o jsonl` of the
installed ``tktctl`` writing to /dev/null, on one SQLite desk of 1,000,000 tickets (100,000 of
them in queue Small, each with one history row) and two more (queue Long) with 100,000 and
1,000,000 history rows. Floor: the stdlib sqlite3 reading the same rows (the same joins) and writing
each with ``json.dumps`` (the same keys; an export's ticket with its articles, attachments, history and
links nested, merged from one cursor per part ordered by ticket). Times are CPU seconds of the process (the machine is
shared). Peak RSS from ``os.wait4``. Streaming means the peak stays flat from
100k to 1M. Usage: ``python bench/bench_streams.py [DESK_DIR] [RUNS] [BACKEND] [LARGEST]``; the desk is built
once in DESK_DIR and reused. BACKEND ``postgresql`` or ``mysql`` (a server named as bench/_common.py reads it):
the same desk of 1,000,000 tickets (or, with LARGEST 100000, one of 100,000: the 100,000-record lines only)
built on SQLite and copied (`tktctl db copy`) into a fresh database, the floor that server's driver (psycopg,
PyMySQL), section ``streams-BACKEND``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench._common import argument, fresh_desk, write_section
from tktctl.api import Desk

TICKETS = 1_000_000
SMALL = 100_000
LONG = TICKETS + 1  # the ticket with 100,000 history rows on the SQLite desk
RUNS = 1
LARGEST = TICKETS  # records of the largest case run: 100000 leaves out the 1,000,000 lines
BOTH = ("--queue", "Small", "--queue", "Misc")
EXE = str(Path(sys.executable).with_name("tktctl"))
FILE_KEYS = ("id", "filename", "content_type", "size")
ARTICLE_KEYS = ("id", "ticket", "channel", "sender", "from", "to", "cc", "subject", "body")
AT = "2026-11-27 10:00:00.000000"


def moment(n: str) -> str:
    """SQL for a stored time ``n`` seconds (and some microseconds) after AT: rows of other changes have
    other times, so that nothing memoised across rows flatters a reader."""
    seconds = f"strftime('%Y-%m-%d %H:%M:%S', '{AT[:19]}', '+' || ({n}) || ' seconds')"
    return f"{seconds} || printf('.%06d', ({n}) * 7919 % 1000000)"


TICKET_SQL = (
    "SELECT t.id, t.tn, t.title, q.name, s.name, st.name, t.priority_id, p.name, t.locked, o.login, r.login,"
    " t.customer, t.type, t.created, t.changed, t.pending_until, t.external_id"
    " FROM ticket t JOIN queue q ON q.id = t.queue_id JOIN ticket_state s ON s.id = t.state_id"
    " JOIN ticket_state_type st ON st.id = s.type_id JOIN ticket_priority p ON p.id = t.priority_id"
    " JOIN agent o ON o.id = t.owner_id LEFT JOIN agent r ON r.id = t.responsible_id {where} ORDER BY t.id"
)
TICKET_KEYS = (
    "id", "tn", "title", "queue", "state", "state_type", "priority", "priority_name", "lock", "owner", "responsible",
    "customer", "type", "created", "changed", "pending_until", "external_id",
)  # fmt: skip
# The export's parts, each ordered by ticket (a merge join over the ticket stream: no batch waits for another).
_OF_TICKETS = "JOIN ticket t ON t.id = {col} JOIN queue q ON q.id = t.queue_id {where} ORDER BY {col}, {order}"
ARTICLE_SQL = (
    "SELECT a.ticket_id, a.id, t.tn, a.channel, a.sender, a.a_from, a.a_to, a.a_cc, a.subject, a.body,"
    " a.visible_to_customer, a.created, a.message_id, a.in_reply_to, a.a_references FROM article a "
    + _OF_TICKETS.format(col="a.ticket_id", order="a.id", where="{where}")
)
ATTACHMENT_SQL = (
    "SELECT a.ticket_id, f.article_id, f.id, f.filename, f.content_type, f.size FROM article_attachment f"
    " JOIN article a ON a.id = f.article_id " + _OF_TICKETS.format(col="a.ticket_id", order="f.id", where="{where}")
)
EXPORT_HISTORY_SQL = (
    "SELECT h.ticket_id, h.id, t.tn, h.type, a.login, h.at, h.data, hq.name FROM ticket_history h"
    " JOIN agent a ON a.id = h.actor_id JOIN queue hq ON hq.id = h.queue_id "
    + _OF_TICKETS.format(col="h.ticket_id", order="h.id", where="{where}")
)
LINK_SQL = (
    "SELECT mine, o_tn, o_type, relation FROM (SELECT l.source_id AS mine, o.tn AS o_tn, l.type AS o_type,"
    " l.id AS link,"
    " CASE WHEN l.type = 'normal' THEN 'normal' ELSE 'child' END AS relation FROM ticket_link l"
    " JOIN ticket o ON o.id = l.target_id UNION ALL SELECT l.target_id, o.tn, l.type, l.id,"
    " CASE WHEN l.type = 'normal' THEN 'normal' ELSE 'parent' END FROM ticket_link l"
    " JOIN ticket o ON o.id = l.source_id) AS links " + _OF_TICKETS.format(col="mine", order="link", where="{where}")
)
HISTORY_SQL = (
    "SELECT h.id, t.tn, h.type, a.login, h.at, h.data FROM ticket_history h JOIN ticket t ON t.id = h.ticket_id"
    " JOIN agent a ON a.id = h.actor_id WHERE h.ticket_id = ? ORDER BY h.id"
)


def build(path: Path, tickets: int = TICKETS) -> None:
    """The desk: ``tickets`` tickets (SMALL of them in queue Small), one history row each, and the two long
    histories (tickets ``tickets`` + 1 and + 2)."""
    url = f"sqlite:///{path}"
    desk = Desk(url)
    desk.init()
    desk.queues.create("Small")
    desk.queues.create("Long")
    desk.close()
    conn = sqlite3.connect(path)
    small = conn.execute("SELECT id FROM queue WHERE name = 'Small'").fetchone()[0]
    with conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO ticket (id, tn, title, queue_id, state_id, priority_id, locked, owner_id, created, changed,"
            " created_by, changed_by) SELECT i, printf('9%015d', i), 'ticket ' || i,"
            f" CASE WHEN i <= ? THEN ? ELSE 2 END, 1 + i % 2, 1 + i % 5, 0, 1, {moment('i')}, {moment('i + i % 3')},"
            " 1, 1 FROM n",  # a third of the tickets unchanged since created
            (tickets, SMALL, small),
        )
        conn.execute(
            "INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
            ' SELECT id, \'NewTicket\', 1, queue_id, created, \'{"queue": "Raw", "state": "new"}\' FROM ticket'
        )
        long_histories(conn, tickets)
    conn.execute("ANALYZE")
    conn.close()


def long_histories(conn: sqlite3.Connection, tickets: int) -> None:
    """Tickets ``tickets`` + 1 and + 2, in queue Long, with 100,000 and ``tickets`` history rows (an export
    record holds its ticket's whole history: these two are left out of the exports)."""
    long = conn.execute("SELECT id FROM queue WHERE name = 'Long'").fetchone()[0]
    for ticket_id, rows in ((tickets + 1, SMALL), (tickets + 2, tickets)):
        conn.execute(
            "INSERT INTO ticket (id, tn, title, queue_id, state_id, priority_id, locked, owner_id, created, changed,"
            " created_by, changed_by) VALUES (?, printf('9%015d', ?), 'long', ?, 2, 3, 0, 1, ?, ?, 1, 1)",
            (ticket_id, ticket_id, long, AT, AT),
        )
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO ticket_history (ticket_id, type, actor_id, queue_id, at, data)"
            f" SELECT ?, 'PriorityUpdate', 1, ?, {moment('i / 2')},"  # two rows per change, as a change writes them
            ' \'{"from": "3 normal", "to": "4 high"}\' FROM n',
            (rows, ticket_id, long),
        )


def ticket_sql(where: str) -> str:
    return TICKET_SQL.format(where=where)


def connect(where: Path | str) -> Any:
    """A DB-API connection: sqlite3 for a path; psycopg or PyMySQL for a server URL."""
    if isinstance(where, Path):
        return sqlite3.connect(where)
    url = make_url(where)
    if url.get_backend_name() == "postgresql":
        import psycopg

        return psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    import pymysql

    return pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or "", database=url.database
    )


def execute(conn: Any, sql: str, args: tuple[object, ...] = ()) -> Any:
    """A cursor over ``sql`` (``?`` placeholders) on any of the three drivers."""
    cursor = conn.cursor()
    cursor.execute(sql if isinstance(conn, sqlite3.Connection) else sql.replace("?", "%s"), args)
    return cursor


def floor(where: Path | str, sql: str, *args: object) -> float:
    """CPU seconds of the driver's rows written as JSON objects (keys named as the records'); a server
    driver's times are datetimes, spelled by ``str``."""
    conn = connect(where)
    started = time.process_time()
    with open(os.devnull, "w") as out:
        cursor = execute(conn, sql, args)
        keys = [c[0] for c in cursor.description]
        for row in cursor:
            out.write(json.dumps(dict(zip(keys, row, strict=True)), default=str) + "\n")
    seconds = time.process_time() - started
    conn.close()
    return seconds


class _ByTicket:
    """The rows of a cursor ordered by ticket id (its first column), taken ticket by ticket."""

    def __init__(self, cursor: Any) -> None:
        self.rows = iter(cursor)
        self.next = next(self.rows, None)

    def take(self, ticket_id: int) -> list[tuple[Any, ...]]:
        found = []
        while self.next is not None and self.next[0] == ticket_id:
            found.append(self.next[1:])
            self.next = next(self.rows, None)
        return found


def export_floor(path: Path | str, where: str) -> float:
    """CPU seconds of the driver writing what `ticket export` writes: each ticket as an object with its
    articles (with their attachments), history (payloads decoded) and links nested, the same keys."""
    conn = connect(path)
    started = time.process_time()
    with open(os.devnull, "w") as out:
        parts = [_ByTicket(execute(conn, sql.format(where=where))) for sql in (ARTICLE_SQL, ATTACHMENT_SQL)]
        articles, attachments = parts
        history = _ByTicket(execute(conn, EXPORT_HISTORY_SQL.format(where=where)))
        links = _ByTicket(execute(conn, LINK_SQL.format(where=where)))
        for row in execute(conn, TICKET_SQL.format(where=where)):
            record = dict(zip(TICKET_KEYS, row, strict=True))
            record["lock"] = "locked" if record["lock"] else "unlocked"
            record.update(escalation=None, fields={})
            files: dict[int, list[dict[str, Any]]] = {}
            for article_id, *meta in attachments.take(row[0]):
                files.setdefault(article_id, []).append(dict(zip(FILE_KEYS, meta, strict=True)))
            record["articles"] = [
                {
                    **dict(zip(ARTICLE_KEYS, a[:9], strict=True)),
                    "visible_to_customer": bool(a[9]),
                    "created": a[10],
                    "attachments": files.get(a[0], []),
                    **dict(zip(("message_id", "in_reply_to", "references"), a[11:], strict=True)),
                }
                for a in articles.take(row[0])
            ]
            record["history"] = [
                {"id": i, "ticket": tn, "type": kind, "actor": actor, "at": at, "data": _decoded(data), "queue": q}
                for i, tn, kind, actor, at, data, q in history.take(row[0])
            ]
            record["links"] = [dict(zip(("tn", "type", "relation"), link, strict=True)) for link in links.take(row[0])]
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    seconds = time.process_time() - started
    conn.close()
    return seconds


def _decoded(data: Any) -> Any:
    return json.loads(data) if isinstance(data, str) else data  # psycopg decodes JSON itself


# Forks and runs a command, then prints its exit code, CPU seconds and peak RSS (KB). A process spawned by
# this one would report this one's peak as its own (Linux keeps the largest RSS of the memory it replaces
# at exec, and a server floor holds its rows): so tktctl is forked from this small launcher instead.
LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[1], sys.argv[1:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss, file=sys.stderr)\n"
)


def tktctl(path: Path | str, *args: str, fmt: str = "jsonl") -> tuple[float, float]:
    """CPU seconds (user + system) and peak RSS (MB) of one `tktctl ARGS -o FMT` process."""
    with open(os.devnull, "w") as out:
        command = [EXE, "--db", f"sqlite:///{path}" if isinstance(path, Path) else path, *args, "-o", fmt]
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, *command],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TKTCTL_SERVER": "off"},
            check=True,
        )
    code, seconds, peak_kb = done.stderr.splitlines()[-1].split()
    assert code == "0", (args, done.stderr)
    return float(seconds), int(peak_kb) / 1024


def cases(where: Path | str, tickets: int) -> list[tuple[str, int, tuple[str, ...], str, Callable[[], float] | None]]:
    """(command, records, arguments, format, its floor or None) on a desk of ``tickets`` tickets."""
    small, both = "WHERE q.name = 'Small'", "WHERE q.name IN ('Small', 'Misc')"
    tn_100k, tn_long = f"9{tickets + 1:015d}", f"9{tickets + 2:015d}"
    found: list[tuple[str, int, tuple[str, ...], str, Callable[[], float] | None]] = [
        (
            "ticket list",
            SMALL,
            ("ticket", "list", "--queue", "Small"),
            "jsonl",
            partial(floor, where, ticket_sql(small)),
        ),
        (
            "ticket export",
            SMALL,
            ("ticket", "export", "--queue", "Small"),
            "jsonl",
            partial(export_floor, where, small),
        ),
        (
            "ticket history TN",
            SMALL,
            ("ticket", "history", tn_100k),
            "jsonl",
            partial(floor, where, HISTORY_SQL, tickets + 1),
        ),
    ]
    if tickets > SMALL:
        found[1:1] = [
            ("ticket list", tickets, ("ticket", "list", *BOTH), "jsonl", partial(floor, where, ticket_sql(both)))
        ]
        found[3:3] = [
            ("ticket export", tickets, ("ticket", "export", *BOTH), "jsonl", partial(export_floor, where, both))
        ]
        found += [
            (
                "ticket history TN",
                tickets,
                ("ticket", "history", tn_long),
                "jsonl",
                partial(floor, where, HISTORY_SQL, tickets + 2),
            ),
            ("ticket history TN", SMALL, ("ticket", "history", tn_100k), "table", None),
            ("ticket history TN", tickets, ("ticket", "history", tn_long), "table", None),
        ]
    return found


def main(workdir: Path, backend: str) -> None:
    """SQLite: the desk of TICKETS tickets, built once in ``workdir``; a server: the same desk (one of SMALL
    when LARGEST leaves out the 1,000,000 lines), built once on SQLite and copied by `tktctl db copy` into a
    fresh database."""
    if backend == "sqlite":
        path = workdir / "streams.db"
        if not path.exists():
            build(path)
        found = [case for case in cases(path, TICKETS) if case[1] <= LARGEST]
        measure(path, found, "streams", "SQLite", "stdlib sqlite3")
        return
    tickets = TICKETS if LARGEST > SMALL else SMALL
    path = workdir / ("streams.db" if tickets == TICKETS else "streams-small.db")
    if not path.exists():
        build(path, tickets)
    with fresh_desk(backend, workdir, init=False) as url:
        copy = [EXE, "--db", f"sqlite:///{path}", "db", "copy", "--to", url, "-q"]
        started = time.perf_counter()
        subprocess.run(copy, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "TKTCTL_SERVER": "off"})
        print(f"db copy of {tickets:,} tickets: {time.perf_counter() - started:.0f} s", flush=True)
        driver = {"postgresql": "psycopg", "mysql": "PyMySQL"}[backend]
        measure(url, cases(url, tickets), f"streams-{backend}", backend, driver)


def measure(
    where: Path | str,
    found: list[tuple[str, int, tuple[str, ...], str, Callable[[], float] | None]],
    section: str,
    backend: str,
    driver: str,
) -> None:
    """Runs each case (floor and tktctl interleaved) and writes the section."""
    start = os.getloadavg()
    lines = []
    for name, rows, args, fmt, floor_of in found:
        floors: list[float] = []
        runs: list[tuple[float, float]] = []
        for _ in range(RUNS):
            if floor_of is not None:
                floors.append(floor_of())
            runs.append(tktctl(where, *args, fmt=fmt))
        seconds = statistics.median(s for s, _ in runs)
        peak = max(p for _, p in runs)
        floor_s = statistics.median(floors) if floors else None
        ratio = f"{seconds / floor_s:.2f}x" if floor_s else "(no floor)"
        floor_text = f"{floor_s:.2f}" if floor_s else ""
        lines.append(f"| `{name} -o {fmt}` | {rows:,} | {floor_text} | {seconds:.2f} | {ratio} | {peak:.0f} |")
        print(lines[-1], flush=True)
    load = os.getloadavg()
    body = (
        f"## Streamed reads at {', '.join(f'{n:,}' for n in sorted({c[1] for c in found}))} records ({backend})\n\n"
        f"CPU seconds (user + system: the machine is shared, wall time is not this program's), median of"
        f" {RUNS} run(s), floor and tktctl interleaved (each run of a case: its floor, then tktctl); floor: {driver}"
        " + json.dumps of the same rows as objects (a server driver's times spelled by str; for the export, each"
        " ticket with its articles, attachments, history and links nested as export nests them)."
        f" Load average at the start: {start[0]:.1f}, {start[1]:.1f}, {start[2]:.1f}; at the end:"
        f" {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} CPUs (a shared machine)."
        " A table cannot stream (its column widths need every row): `-o table` holds the rows once,"
        " as interned cells, and grows with them; the machine formats stream and stay flat."
        " Stored times differ from ticket to ticket and between changes (two history rows per change), so"
        " no memo across rows flatters tktctl; each tktctl figure includes its start-up, about 0.4 s CPU"
        " (imports), which weighs on the 100,000 lines.\n\n"
        "| command | records | floor CPU s | tktctl CPU s | ratio (tktctl / floor) | peak RSS MB |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(lines)
    )
    write_section(section, body)


if __name__ == "__main__":  # arguments read here, so that importing the module reads none
    RUNS, LARGEST = argument(2, RUNS), argument(4, LARGEST)
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/bench-stream"),
        sys.argv[3] if len(sys.argv) > 3 else "sqlite",
    )
