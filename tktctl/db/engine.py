"""Engines for SQLite, PostgreSQL and MySQL/MariaDB, set up for safe concurrent use.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and write transactions
start with ``BEGIN IMMEDIATE``: a writer waits for the write lock up front instead of
failing with "database is locked" when it later tries to upgrade a read lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from tktctl.errors import UsageError
from tktctl.jsonenc import reusable_encoder

BUSY_TIMEOUT_S = 30.0
WRITE = "tktctl_write"
BULK = "tktctl_bulk"
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# JSON columns (history data, above all) are written as json.dumps writes them, by one encoder
# instead of one made per value: an import writes two history rows a ticket.
JSON_SERIALIZER = reusable_encoder()


def normalise_url(url: str) -> URL:
    """Pick the supported driver for a bare dialect name and check the URL is one we serve."""
    if "\x00" in unquote(url):  # (also as %00) SQLite cannot open it; PostgreSQL would cut the name there
        raise UsageError("invalid database URL: it contains a NUL character")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"invalid database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name()
    if backend == "postgresql":
        if driver not in ("psycopg", "psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend in ("mysql", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql")
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    elif backend != "sqlite":
        raise UsageError(
            f"unsupported database {backend!r}: use sqlite:///PATH, postgresql+psycopg://... or mysql+pymysql://..."
        )
    return parsed


def display_url(url: str | URL) -> str:
    """The URL as it may be shown: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(invalid URL)"


def make_engine(url: str) -> Engine:
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    kwargs: dict[str, Any] = {"pool_pre_ping": False, "connect_args": {"connect_timeout": 10}}
    if backend == "mysql":
        # READ COMMITTED as on PostgreSQL: a statement after a row lock sees the latest rows.
        kwargs["isolation_level"] = "READ COMMITTED"
        # (psycopg adapts JSON values itself, and warns about a serializer that is a closure.)
        kwargs["json_serializer"] = JSON_SERIALIZER
    return create_engine(parsed, **kwargs)


def _sqlite_engine(parsed: URL) -> Engine:
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, json_serializer=JSON_SERIALIZER, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN IMMEDIATE is possible.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A bulk load grows the log to its own size; cut it back when it is next reset.
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        bulk = bool(options.get(BULK))
        state = conn.connection.info  # lives as long as the driver's connection
        if state.get(BULK, False) != bulk:
            # A bulk load's commits skip the WAL checkpoint, each of which copied the batch just
            # written back into the database file (a third of an import's time); the load ends
            # with one checkpoint(), and the connection's next other transaction turns it back on.
            if bulk:
                state["wal_autocheckpoint"] = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
            pages = 0 if bulk else state["wal_autocheckpoint"]
            conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(pages)}")
            state[BULK] = bulk
        mode = "IMMEDIATE" if options.get(WRITE) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def checkpoint(engine: Engine) -> None:
    """Copy SQLite's write-ahead log into the database file, without waiting for readers.

    Ends a bulk load (see ``BULK``); a no-op on the server databases. Best effort, as SQLite's
    own automatic checkpoints are: the log holds every commit, so when this one fails (a full
    disk, say) or a reader still needs part of the log, the next automatic checkpoint or the
    last connection's close does the rest.
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except engine.dialect.loaded_dbapi.Error:
        pass
    finally:
        raw.close()
