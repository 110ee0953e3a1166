"""The unit of work: a database, an acting agent and a clock, and one transaction on them.

:class:`Store` is the bottom every domain package stands on: the engine, the settings that come
with a desk (ticket numbers, time zone, size limits), and :meth:`Store.write` / :meth:`Store.read`,
each one transaction in which every change and its history rows commit together or not at all.
The facade :class:`tktctl.desk.Desk` (the Python API) is a Store with the domain services on it;
domain code receives a :class:`Unit` or a Store and never imports the facade.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from functools import cached_property
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tktctl.config import ADMIN_LOGIN
from tktctl.core.configcache import ConfigCache, attach, watch
from tktctl.core.prepared import named
from tktctl.core.timeparse import local_zone, parse_time
from tktctl.core.vocabulary import BODY_MAX_BYTES
from tktctl.db import analyze as db_analyze
from tktctl.db import engine as db_engine
from tktctl.db import migrate
from tktctl.db.models import Agent
from tktctl.errors import (
    ConflictError,
    DatabaseError,
    NotFoundError,
    PermissionDeniedError,
    TktctlError,
)

# Lock waits and deadlocks are a concurrent change winning; anything else operational is the database.
_CONFLICT_MARKERS = ("deadlock", "lock wait timeout", "database is locked", "could not serialize", "lock timeout")


def _always(unit: Unit, event: str) -> bool:
    return True


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# A subscriber of Unit.publish: (unit, event, ticket ids or a function finding them, data).
Subscriber = Callable[["Unit", str, "Sequence[int] | Callable[[], Sequence[int]]", dict[str, Any]], None]


@dataclass(frozen=True)
class NumberSettings:
    """Ticket number generator, as OTRS's Ticket::NumberGenerator and SystemID."""

    generator: str = "DateChecksum"
    system_id: str = "10"


@dataclass
class Unit:
    """One transaction on behalf of the acting agent; passed to every domain function."""

    store: Store
    # The transaction's connection: Core statements run on it (through the session's execute they
    # cost twice as much).
    connection: Connection
    now: datetime
    config: dict[str, Any] = field(default_factory=dict)  # configuration read (core.configcache.configuration)
    cache: dict[str, Any] = field(default_factory=dict)  # anything else read once in this transaction
    configured: bool = False  # this transaction wrote a configuration table
    actor: Agent = field(init=False)
    orm: Session | None = None  # a write's session; a read's once asked for

    @property
    def session(self) -> Session:
        """The transaction's ORM session. A read's is made on its connection when first asked for:
        a read of Core statements alone (a count) makes none."""
        if self.orm is None:
            self.orm = Session(bind=self.connection, expire_on_commit=False, autoflush=False)
        return self.orm

    def publish(self, event: str, ticket_ids: Sequence[int] | Callable[[], Sequence[int]], **data: Any) -> None:
        """Tell the store's subscribers (the facade wires mail's notification rules) about ``event``,
        inside this transaction: a lower package announces, a higher one acts, no import upward.

        ``ticket_ids`` may be a function that finds them (one query), called only by a subscriber
        that has something to do for the event (a rule naming it); ``data`` goes to the subscribers.
        """
        for subscriber in self.store.subscribers.get(event, ()):
            subscriber(self, event, ticket_ids, data)

    def listens(self, event: str) -> bool:
        """Whether a subscriber has something to do for ``event`` (its ``wants(unit, event)``, when it has
        one), so that a publisher may skip finding the tickets it would tell about."""
        return any(getattr(s, "wants", _always)(self, event) for s in self.store.subscribers.get(event, ()))

    def parse_time(self, value: str | datetime | None) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value.astimezone(timezone.utc) if isinstance(value, datetime) else None
        return parse_time(value, now=self.now, tz=self.store.tz)


class Store:
    """A help desk database and the agent acting on it; makes the units of work."""

    # While true, every write rolls back: the warm server rehearses commands before it forks, so that
    # its children find the statements built and compiled; nothing a rehearsal does may stay.
    rehearsal: ClassVar[bool] = False

    def __init__(
        self,
        url: str,
        *,
        actor: str = ADMIN_LOGIN,
        numbers: NumberSettings | None = None,
        timezone_name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        mail: Any = None,
        smtp: Any = None,
        max_body_bytes: int = BODY_MAX_BYTES,
    ) -> None:
        self.url = url
        self.max_body_bytes = max_body_bytes
        self.mail_config = mail
        self.smtp_config = smtp
        self.actor_login = actor
        self.numbers = numbers or NumberSettings()
        self.timezone_name = timezone_name
        if timezone_name and timezone_name != "local":
            self.tz = local_zone(timezone_name)  # a bad name still fails here; only the local zone waits
        self.clock = clock
        self._schema_checked = False
        self.config_cache = ConfigCache()
        self.subscribers: dict[str, list[Subscriber]] = {}

    @cached_property
    def tz(self) -> tzinfo:
        """The zone of times written without one; the machine's zone (dateutil, ~4 ms) on first use."""
        return local_zone(self.timezone_name)

    @cached_property
    def engine(self) -> Engine:
        engine = db_engine.make_engine(self.url)
        watch(engine)
        return engine

    @cached_property
    def _engines(self) -> dict[tuple[bool, bool], Engine]:
        """The engine with a transaction kind's options (write, bulk), each made once."""
        return {}

    def _bind(self, write: bool, bulk: bool) -> Engine:
        if not write:
            return self.engine
        if (write, bulk) not in self._engines:
            options = {db_engine.WRITE: True, db_engine.BULK: bulk}
            self._engines[write, bulk] = self.engine.execution_options(**options)
        return self._engines[write, bulk]

    @property
    def display_url(self) -> str:
        return db_engine.display_url(self.url)

    def close(self) -> None:
        """Release pooled connections (the engine is made again on next use)."""
        if "engine" in self.__dict__:
            self.engine.dispose()
            del self.__dict__["engine"]
        self.__dict__.pop("_engines", None)

    @contextmanager
    def write(self, *, dry_run: bool = False, bulk: bool = False, actor: str | None = None) -> Iterator[Unit]:
        """A write transaction: commits on success, rolls back on error or when ``dry_run``.

        ``bulk``: one of many transactions of a load, which ends with ``checkpoint()``.
        ``actor``: act as this agent instead of the desk's (work done on someone's behalf, as
        `mail retry` does for the agent who ingested a dead letter).
        """
        with self._unit(write=True, dry_run=dry_run, bulk=bulk, actor=actor) as unit:
            yield unit

    @contextmanager
    def read(self) -> Iterator[Unit]:
        with self._unit(write=False, dry_run=True) as unit:
            yield unit

    @contextmanager
    def _unit(self, *, write: bool, dry_run: bool, bulk: bool = False, actor: str | None = None) -> Iterator[Unit]:
        try:
            with self._begin(write, bulk) as (connection, transaction, session):
                if not self._schema_checked:
                    migrate.check(connection)
                    self._schema_checked = True
                started = self.config_cache.begin(connection)
                unit = Unit(self, connection, self.clock(), dict(self.config_cache.entries), orm=session)
                detach = attach(connection, unit)
                try:
                    unit.actor = self.config_cache.actor(unit, actor or self.actor_login, self._actor)
                    yield unit
                    self.config_cache.keep(unit, started)
                except BaseException:
                    transaction.rollback()
                    raise
                finally:
                    detach()
                    if session is None and unit.orm is not None:
                        unit.orm.close()  # a read's session, made on its connection: the transaction stays
                if dry_run or self.rehearsal:
                    transaction.rollback()
                else:
                    transaction.commit()
        except TktctlError:
            raise
        except IntegrityError as exc:
            raise ConflictError(f"the change conflicts with existing data: {_reason(exc)}") from exc
        except DBAPIError as exc:
            raise translate(exc, self.display_url) from exc

    @contextmanager
    def _begin(self, write: bool, bulk: bool) -> Iterator[tuple[Connection, Any, Session | None]]:
        """A transaction: a write's in an ORM session (whose flush and commit it needs); a read's on a
        connection alone (a session, if the read asks for one, is made on it: see ``Unit.session``)."""
        if write:
            with Session(bind=self._bind(write, bulk), expire_on_commit=False, autoflush=False) as session:
                transaction = session.begin()
                yield session.connection(), transaction, session
        else:
            with self.engine.connect() as connection:
                yield connection, connection.begin(), None

    def _actor(self, session: Session, login: str) -> Agent:
        agent = named(session, Agent, login=login)
        if agent is None:
            raise NotFoundError(
                f"acting agent {login!r} not found (set --as, TKTCTL_AGENT or the profile's agent)", ref=login
            )
        if not agent.valid:
            raise PermissionDeniedError(f"acting agent {login!r} is disabled", ref=login)
        return agent

    # Administration of the database itself --------------------------------------------

    def checkpoint(self, *, if_grown: bool = False) -> None:
        """End a bulk load: SQLite's write-ahead log goes into the database file in one pass.

        ``if_grown``: between a load's batches, only once the log has passed its bound (see
        ``db_engine.BULK_LOG_BYTES``), so that it is reused from its start instead of growing.
        """
        try:
            db_engine.checkpoint(self.engine, above=db_engine.BULK_LOG_BYTES if if_grown else 0)
        except DBAPIError as exc:
            raise translate(exc, self.display_url) from exc

    def analyze(self, tables: Sequence[str]) -> None:
        """Update the planner's statistics of ``tables`` (see :mod:`tktctl.db.analyze`): on the write
        engine, as SQLite writes them (a write transaction from its start, not a read upgraded)."""
        try:
            db_analyze.analyze(self._write_engine(), tables)
        except DBAPIError as exc:
            raise translate(exc, self.display_url) from exc

    def analyze_loaded(self, tables: Sequence[str], warn: Callable[[str], None], rows: int | None = None) -> None:
        """:meth:`analyze` after a load that has committed, of ``rows`` rows (None: a new database,
        always analyzed; fewer than ``db_analyze.LOAD_ROWS``: not). A failure (no privilege, say)
        goes to ``warn`` and neither undoes nor fails the load: `tktctl maint analyze` can run later."""
        if rows is not None and rows < db_analyze.LOAD_ROWS:
            return
        try:
            self.analyze(tables)
        except TktctlError as exc:
            warn(f"the database's statistics were not updated ({exc}); run `tktctl maint analyze` later")

    def init(self) -> dict[str, Any]:
        """Create or upgrade the schema, then add whatever default data is missing."""
        from tktctl.db.defaults import ensure_defaults

        self.upgrade()
        try:
            with Session(bind=self._write_engine()) as session, session.begin():
                created = ensure_defaults(session, self.clock())
        except DBAPIError as exc:
            raise translate(exc, self.display_url) from exc
        return {**self.status(), "created": created}

    def upgrade(self) -> dict[str, Any]:
        """Apply the shipped migrations up to the head revision (creating a missing SQLite file);
        then, if a desk with data was migrated, :meth:`migrated` (the facade recomputes the
        escalation deadlines there: tickets older than 0003 have none).

        The rebuild runs here, after the migrations and not inside one, because it needs the
        calendars and the code of this version, which match the head schema only.
        """
        from tktctl.db import SCHEMA_HEAD

        db_engine.create_sqlite_file(self.url)
        before = self.status()["revision"]
        try:
            migrate.upgrade(self._write_engine())
        except DBAPIError as exc:
            raise translate(exc, self.display_url) from exc
        self._schema_checked = False
        if before not in (None, SCHEMA_HEAD):
            self.migrated()
        return self.status()

    def migrated(self) -> None:
        """Called after an existing desk was migrated: the facade recomputes derived data."""

    def status(self) -> dict[str, Any]:
        from tktctl.db import SCHEMA_HEAD

        try:
            with self.engine.connect() as conn:
                revision = migrate.current_revision(conn)
        except DBAPIError as exc:
            raise translate(exc, self.display_url) from exc
        return {
            "database": self.display_url,
            "dialect": self.engine.dialect.name,
            "revision": revision,
            "head": SCHEMA_HEAD,
            "up_to_date": revision == SCHEMA_HEAD,
            "initialised": revision is not None,
        }

    def _write_engine(self) -> Engine:
        return self.engine.execution_options(**{db_engine.WRITE: True})


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


def translate(exc: DBAPIError, where: str) -> TktctlError:
    """A driver error as the domain's: lock contention is a conflict (5), the rest database (6)."""
    reason = _reason(exc)
    if isinstance(exc, OperationalError) and any(m in reason.lower() for m in _CONFLICT_MARKERS):
        return ConflictError(f"a concurrent change won, retry: {reason}")
    return DatabaseError(f"database {where}: {reason}")


def python_warning(text: str) -> None:
    """A service's warning when its caller gave no channel for one: Python's warnings (not dropped)."""
    warnings.warn(text, stacklevel=2)
