"""Benchmark: one `tktctl escalate` process over a desk of N tickets of which M are due.

    python bench/escalate.py [--tickets 1000000] [--due 1000] [--postgres URL]

Seeds a fresh SQLite desk (and a PostgreSQL one when a server URL is given), then times
whole `tktctl escalate` processes: the run that fires M escalations, and a second run
with nothing due. Times are also given as ratios against a floor measured in the same
run (`tktctl db status`: start-up plus one query), and the query plan of the due-ticket
scan is recorded. Writes its own section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from tktctl.api import Desk
from tktctl.automation.escalation import due_select
from tktctl.db.models import Agent, Queue, State, Ticket

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
TKTCTL = str(Path(sys.executable).with_name("tktctl"))
BEGIN, END = "<!-- bench/escalate.py: begin -->", "<!-- bench/escalate.py: end -->"
BATCH = 20_000


def seed(url: str, total: int, due: int, now: datetime) -> None:
    """``total`` open tickets in an SLA queue; the first ``due`` breached their first response."""
    desk = Desk(url)
    desk.init()
    desk.queues.create("SLA", first_response_time=60, if_not_exists=True)
    desk.close()
    engine = create_engine(desk.engine.url)
    with engine.begin() as conn:
        queue_id = conn.scalar(select(Queue.id).where(Queue.name == "SLA"))
        state_id = conn.scalar(select(State.id).where(State.name == "open"))
        agent_id = conn.scalar(select(Agent.id))
        prefix = uuid.uuid4().hex[:8]
        for start in range(0, total, BATCH):
            rows = []
            for i in range(start, min(total, start + BATCH)):
                created = now - timedelta(hours=2) if i < due else now - timedelta(minutes=10)
                deadline = created + timedelta(minutes=60)
                rows.append(
                    {
                        "tn": f"{prefix}{i:010d}",
                        "title": f"ticket {i}",
                        "queue_id": queue_id,
                        "state_id": state_id,
                        "priority_id": 3,
                        "locked": False,
                        "owner_id": agent_id,
                        "created": created,
                        "changed": created,
                        "created_by": agent_id,
                        "changed_by": agent_id,
                        "escalation_response_at": deadline,
                        "escalation_at": deadline,
                        "escalation_check_at": deadline,
                    }
                )
            conn.execute(insert(Ticket), rows)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE ticket"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()


def timed(argv: list[str], url: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([TKTCTL, "--db", url, *argv], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def plan(url: str, now: datetime) -> str:
    engine = create_engine(make_url(url))
    statement = due_select(now)
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.execute(text(prefix + sql)).all()
    engine.dispose()
    return "\n".join(str(r[-1]) for r in rows)


def measure(name: str, url: str, total: int, due: int) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    seed(url, total, due, now)
    seeded = time.perf_counter() - started
    floor = min(timed(["db", "status"], url)[0] for _ in range(3))
    first, out = timed(["escalate", "-o", "jsonl"], url)
    fired = len(out.splitlines())
    idle = min(timed(["escalate", "-o", "jsonl"], url)[0] for _ in range(3))
    return {
        "backend": name,
        "seed": seeded,
        "floor": floor,
        "first": first,
        "fired": fired,
        "idle": idle,
        "plan": plan(url, now),
    }


def report(results: list[dict[str, Any]], total: int, due: int) -> str:
    lines = [
        BEGIN,
        "## `tktctl escalate` over a large desk (bench/escalate.py)",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()} {platform.system()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
        f"(a shared machine); {total:,} open tickets of which {due:,} are due.",
        "Whole processes, wall time; the floor is `tktctl db status` (start-up plus one query), best of 3.",
        "Targets: under 2 s with escalations due on SQLite, under 0.5 s with nothing due.",
        "",
        "| backend | floor | run firing | fired | ratio | run with nothing due | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['floor']:.2f} s | {r['first']:.2f} s | {r['fired']:,} "
            f"| {r['first'] / r['floor']:.1f}x | {r['idle']:.2f} s | {r['idle'] / r['floor']:.1f}x |"
        )
    lines += ["", "The due-ticket scan (`escalation_check_at <= now`), as the database plans it:", ""]
    for r in results:
        lines += [f"{r['backend']}:", "", "```", r["plan"], "```", ""]
    lines.append(END)
    return "\n".join(lines)


def write(section: str) -> None:
    current = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    updated = (
        pattern.sub(lambda _: section, current) if pattern.search(current) else f"{current.rstrip()}\n\n{section}\n"
    )
    DOC.write_text(updated if updated.endswith("\n") else updated + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throwaway database is created on it")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(measure("SQLite", f"sqlite:///{tmp}/bench.db", args.tickets, args.due))
        print(results[-1], file=sys.stderr)
    if args.postgres:
        server = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"tktctl_bench_{uuid.uuid4().hex[:8]}"
        with server.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            results.append(measure("PostgreSQL", url, args.tickets, args.due))
            print(results[-1], file=sys.stderr)
        finally:
            with server.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            server.dispose()
    write(report(results, args.tickets, args.due))


if __name__ == "__main__":
    main()
