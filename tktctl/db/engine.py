"""Engines for SQLite, PostgreSQL and MySQL/MariaDB, set up for safe concurrent use.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and write transactions
start with ``BEGIN IMMEDIATE``: a writer waits for the write lock up front instead of
failing with "database is locked" when it later tries to upgrade a read lock.

An engine never creates an SQLite file: it opens it read-write (``mode=rw``), so a command on a
missing database exits 6 and leaves nothing behind. Only ``create_sqlite_file`` (for ``init``
and ``db upgrade``) does, private to its owner: missing directories 0700, the file 0600, which
SQLite's ``-wal`` and ``-shm`` files inherit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from tktctl.errors import DatabaseError, UsageError
from tktctl.jsonenc import reusable_encoder

BUSY_TIMEOUT_S = 30.0
WRITE = "tktctl_write"
BULK = "tktctl_bulk"
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# MariaDB: how long a streamed result may wait for its reader (one day).
STREAM_WRITE_TIMEOUT_S = 86_400
# A bulk load checkpoints between batches once the log file passes this size. Above the
# journal_size_limit, to which SQLite cuts the file back on the first commit after a checkpoint
# (the file, not what it holds, is what is measured): the log stays near this size however
# large the load (it grew to 6 GB for a million tickets).
BULK_LOG_BYTES = 2 * WAL_SIZE_LIMIT
# The optional dependency (pyproject's extras) that brings each server backend's driver.
DRIVER_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql"}
# JSON columns (history data, above all) are written as json.dumps writes them, by one encoder
# instead of one made per value: an import writes two history rows a ticket.
JSON_SERIALIZER = reusable_encoder()


def normalise_url(url: str) -> URL:
    """Pick the supported driver for a bare dialect name and check the URL is one we serve."""
    if "\x00" in unquote(url):  # (also as %00) SQLite cannot open it; PostgreSQL would cut the name there
        raise UsageError("invalid database URL: it contains a NUL character")
    parsed = _parse(url)
    # Split the name ourselves: URL.get_driver_name() loads the dialect, and fails on an unknown one.
    backend, _, driver = parsed.drivername.partition("+")
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


def _parse(url: str) -> URL:
    """The URL parsed; a malformed one (port ``abc`` or 99999, host ``[::1``) is a usage error, not a crash."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise UsageError(f"invalid database URL: {exc}") from exc
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UsageError(f"invalid database URL: port {parsed.port} is not 1..65535")
    return parsed


def display_url(url: str | URL) -> str:
    """The URL as it may be shown: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "(invalid URL)"


# What a statement needs besides its one large value: the SQL text and the other values.
STATEMENT_MARGIN = 64 * 1024


def max_value_bytes(packet: int, value: bytes) -> int:
    """How large ``value`` may be to go into MySQL/MariaDB in one statement, under ``packet``
    (``max_allowed_packet``, see :func:`tktctl.db.blobs.packet`).

    MySQL/MariaDB refuse a statement over ``max_allowed_packet`` ("server has gone away"), and
    PyMySQL sends bytes escaped in the statement's text: every quote, backslash, NUL, CR, LF
    and Ctrl-Z takes two bytes. The server needs twice a value's size within the packet limit
    (measured on MariaDB 10.11 with a 16 MiB packet: a LONGBLOB of 8,387,694 bytes goes in,
    one more kilobyte fails). The result is for ``len(value)``, the escaping already counted.
    """
    escaped = sum(value.count(c) for c in (b"\\", b"'", b'"', b"\0", b"\n", b"\r", b"\x1a"))
    return max(packet // 2 - STATEMENT_MARGIN - escaped, 0)


# Engines that have run statements already, kept for the next make_engine() of their database: the
# warm server rehearses commands before it forks, and since SQLAlchemy keeps compiled SQL per
# engine, a child that takes the engine over runs its statements without compiling them again.
_kept: dict[str, Engine] = {}


def _database_key(url: str) -> str:
    """What names one database: the normalised URL, an SQLite path made absolute (the cwd may differ)."""
    parsed = normalise_url(url)
    path = sqlite_path(parsed)
    if path is not None:
        parsed = parsed.set(database=os.path.abspath(path))
    return parsed.render_as_string(hide_password=False)


def keep(url: str, engine: Engine) -> None:
    """Hand ``engine`` (made for ``url``) to the next :func:`make_engine` of the same database, its
    connections closed first: none may cross a fork."""
    engine.dispose()
    _kept[_database_key(url)] = engine


def make_engine(url: str) -> Engine:
    if _kept:
        kept = _kept.pop(_database_key(url), None)
        if kept is not None:
            return kept
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        try:
            return _sqlite_engine(parsed)
        except (TypeError, ValueError) as exc:  # a query option the driver cannot take: ?timeout=abc
            raise UsageError(f"invalid database URL: {exc}") from exc
    kwargs: dict[str, Any] = {"pool_pre_ping": False, "connect_args": {"connect_timeout": 10}}
    if backend == "mysql":
        # READ COMMITTED as on PostgreSQL: a statement after a row lock sees the latest rows.
        kwargs["isolation_level"] = "READ COMMITTED"
        # (psycopg adapts JSON values itself, and warns about a serializer that is a closure.)
        kwargs["json_serializer"] = JSON_SERIALIZER
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        extra = DRIVER_EXTRAS[backend]
        raise DatabaseError(
            f"the {backend} driver is not installed (no module {exc.name!r}): pip install 'tktctl[{extra}]'"
        ) from exc
    if backend == "mysql":
        event.listen(engine, "connect", _patient_streams)
    return engine


def _patient_streams(dbapi_connection: Any, _record: Any) -> None:
    """A streamed (unbuffered) result is read at its reader's pace: a pipe into a pager, a slow target
    of `db copy`, a busy machine. MariaDB drops a connection it cannot write to for net_write_timeout
    (60 s by default), which cut `ticket export` of a million tickets short. A statement of its own,
    not the driver's ``init_command``, which would replace one given in the URL."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET SESSION net_write_timeout = {STREAM_WRITE_TIMEOUT_S}")


def sqlite_path(url: str | URL) -> Path | None:
    """The file of an SQLite URL; None for other databases, in-memory ones and ``file:`` URIs."""
    parsed = normalise_url(url) if isinstance(url, str) else url
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database)


def create_sqlite_file(url: str) -> None:
    """Create a missing SQLite database file 0600 and its missing directories 0700 (whatever the
    umask); an existing file or directory, the user's choice, is left as it is."""
    path = sqlite_path(url)
    if path is None or path.exists():
        return
    missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    try:
        for directory in reversed(missing):
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # mkdir's mode is cut by the umask
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # empty: a valid SQLite database
        os.chmod(path, 0o600)
    except OSError as exc:
        raise DatabaseError(f"cannot create database {path}: {exc.strerror}") from exc


def _sqlite_engine(parsed: URL) -> Engine:
    path = sqlite_path(parsed)
    if path is not None:
        # Read-write, never create: the missing file is a database that was never initialised.
        parsed = parsed.set(database=f"file:{quote(os.path.abspath(path))}").update_query_dict(
            {"mode": "rw", "uri": "true"}
        )
    engine = create_engine(parsed, json_serializer=JSON_SERIALIZER, connect_args={"timeout": BUSY_TIMEOUT_S})

    if path is not None:

        @event.listens_for(engine, "do_connect")
        def _open(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            try:
                return dialect.loaded_dbapi.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError:
                if not path.exists():
                    raise DatabaseError(
                        f"database is not initialised: {path} does not exist; run `tktctl init`"
                    ) from None
                raise

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
        if options.get(WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # may wait for the lock, and fail as a conflict
        else:
            # A read's BEGIN takes no lock: on the driver's connection, it skips the statement machinery
            # (a fifth of a `ticket count`'s Python) and its events (it writes nothing). Should it fail
            # (a connection left inside a transaction), the error is outside SQLAlchemy's translation.
            try:
                conn.connection.dbapi_connection.execute("BEGIN DEFERRED")
            except conn.dialect.loaded_dbapi.Error as exc:
                raise DatabaseError(f"database read: {exc}") from exc

    return engine


def checkpoint(engine: Engine, *, above: int = 0) -> None:
    """Copy SQLite's write-ahead log into the database file, without waiting for readers.

    Ends a bulk load (see ``BULK``), and bounds its log between batches: ``above``, only when
    the log file is larger than that many bytes. A no-op on the server databases. Best effort,
    as SQLite's own automatic checkpoints are: the log holds every commit, so when this one
    fails (a full disk, say) or a reader still needs part of the log, the next automatic
    checkpoint or the last connection's close does the rest.
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if above and _log_bytes(driver) <= above:
            return
        driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except engine.dialect.loaded_dbapi.Error:
        pass
    finally:
        raw.close()


def _log_bytes(driver: Any) -> int:
    """The size of the write-ahead log file of an SQLite connection's main database (0: none)."""
    database = driver.execute("PRAGMA database_list").fetchone()[2]
    try:
        return os.stat(f"{database}-wal").st_size if database else 0
    except OSError:
        return 0
