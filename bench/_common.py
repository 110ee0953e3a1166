"""Shared by the benchmark scripts: fresh databases, timing, and writing a docs/benchmarks.md section."""

from __future__ import annotations

import os
import platform
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tktctl.api import Desk

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
POSTGRES = os.environ.get("TKTCTL_BENCH_POSTGRES_URL") or os.environ.get("TKTCTL_TEST_POSTGRES_URL")
MYSQL = os.environ.get("TKTCTL_BENCH_MYSQL_URL") or os.environ.get("TKTCTL_TEST_MYSQL_URL")
# Per server backend: its server's URL, the database to connect to for CREATE/DROP, and its DROP.
SERVERS = {
    "postgresql": (POSTGRES, "postgres", "DROP DATABASE IF EXISTS {} WITH (FORCE)"),
    "mysql": (MYSQL, None, "DROP DATABASE IF EXISTS {}"),
}


def argument(position: int, default: int) -> int:
    """The script's numeric argument at ``position``, else ``default``."""
    return int(sys.argv[position]) if len(sys.argv) > position else default


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@contextmanager
def fresh_desk(backend: str, workdir: Path, *, init: bool = True) -> Iterator[str]:
    """A URL of a new (initialised) desk on ``backend``; server databases are dropped afterwards."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        if init:
            Desk(url).init()
        yield url
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    server, admin_database, drop = SERVERS[backend]
    assert server, f"set TKTCTL_BENCH_{backend.upper()}_URL (or the TKTCTL_TEST_ one)"
    name = f"tktctl_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(server).set(database=admin_database), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        if init:
            desk = Desk(url)
            desk.init()
            desk.close()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop.format(name)))
        admin.dispose()


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``name`` of docs/benchmarks.md, stamped with date and machine."""
    stamp = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}"
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    section = f"<!-- bench:{name} -->\n{body.rstrip()}\n\n_Measured {stamp} ({machine})._\n<!-- /bench:{name} -->"
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\nWritten by the scripts in `bench/`.\n"
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    updated = (
        pattern.sub(lambda _: section, current) if pattern.search(current) else f"{current.rstrip()}\n\n{section}\n"
    )
    DOCS.write_text(updated)
    print(section)
