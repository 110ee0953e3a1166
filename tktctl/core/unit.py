"""The help desk as a Python object: a database, an acting agent, a clock.

``Desk`` is the library API that the command line is a thin face over::

    from tktctl import Desk
    desk = Desk("sqlite:///desk.db", actor="bob")
    ticket = desk.tickets.create(queue="Raw", title="Printer on fire")

Each public method runs in its own transaction (:meth:`Desk.write` / :meth:`Desk.read`), in
which every change and its history rows commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tktctl.config import ADMIN_LOGIN
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
from tktctl.services.timeparse import local_zone, parse_time
from tktctl.services.vocabulary import BODY_MAX_BYTES

if TYPE_CHECKING:
    from tktctl.services.acl import Acl
    from tktctl.services.agents import Agents
    from tktctl.services.audit import AuditLog
    from tktctl.services.autoresponses import AutoResponses
    from tktctl.services.calendars import Calendars
    from tktctl.services.customers import Customers
    from tktctl.services.deskconfig import DeskConfig
    from tktctl.services.escalation import Escalations
    from tktctl.services.groups import Groups, Roles
    from tktctl.services.history import HistoryLog
    from tktctl.services.jobs import Jobs
    from tktctl.services.mail import Mail
    from tktctl.services.maint import Maintenance
    from tktctl.services.queues import Queues
    from tktctl.services.tickets import Tickets
    from tktctl.services.transfer import Transfer

# Lock waits and deadlocks are a concurrent change winning; anything else operational is the database.
_CONFLICT_MARKERS = ("deadlock", "lock wait timeout", "database is locked", "could not serialize", "lock timeout")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class NumberSettings:
    """Ticket number generator, as OTRS's Ticket::NumberGenerator and SystemID."""

    generator: str = "DateChecksum"
    system_id: str = "10"


@dataclass
class Unit:
    """One transaction on behalf of the acting agent; passed to every domain function."""

    desk: Desk
    session: Session
    now: datetime
    actor: Agent
    cache: dict[str, Any] = field(default_factory=dict)

    def parse_time(self, value: str | datetime | None) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value.astimezone(timezone.utc) if isinstance(value, datetime) else None
        return parse_time(value, now=self.now, tz=self.desk.tz)


class Desk:
    """A help desk database and the agent acting on it."""

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

    @cached_property
    def tz(self) -> tzinfo:
        """The zone of times written without one; the machine's zone (dateutil, ~4 ms) on first use."""
        return local_zone(self.timezone_name)

    @cached_property
    def engine(self) -> Engine:
        return db_engine.make_engine(self.url)

    @property
    def display_url(self) -> str:
        return db_engine.display_url(self.url)

    @cached_property
    def tickets(self) -> Tickets:
        from tktctl.services.tickets import Tickets

        return Tickets(self)

    @cached_property
    def queues(self) -> Queues:
        from tktctl.services.queues import Queues

        return Queues(self)

    @cached_property
    def agents(self) -> Agents:
        from tktctl.services.agents import Agents

        return Agents(self)

    @cached_property
    def history(self) -> HistoryLog:
        from tktctl.services.history import HistoryLog

        return HistoryLog(self)

    @cached_property
    def groups(self) -> Groups:
        from tktctl.services.groups import Groups

        return Groups(self)

    @cached_property
    def roles(self) -> Roles:
        from tktctl.services.groups import Roles

        return Roles(self)

    @cached_property
    def acl(self) -> Acl:
        from tktctl.services.acl import Acl

        return Acl(self)

    @cached_property
    def customers(self) -> Customers:
        from tktctl.services.customers import Customers

        return Customers(self)

    @cached_property
    def audit(self) -> AuditLog:
        from tktctl.services.audit import AuditLog

        return AuditLog(self)

    @cached_property
    def transfer(self) -> Transfer:
        from tktctl.services.transfer import Transfer

        return Transfer(self)

    @cached_property
    def mail(self) -> Mail:
        """Mail in and out; ``mail``/``smtp`` are the profile's sections of the same names."""
        from tktctl.services.mail import Mail

        return Mail(self, self.mail_config, self.smtp_config)

    @cached_property
    def autoresponses(self) -> AutoResponses:
        from tktctl.services.autoresponses import AutoResponses

        return AutoResponses(self)

    @cached_property
    def calendars(self) -> Calendars:
        from tktctl.services.calendars import Calendars

        return Calendars(self)

    @cached_property
    def escalations(self) -> Escalations:
        from tktctl.services.escalation import Escalations

        return Escalations(self)

    @cached_property
    def maint(self) -> Maintenance:
        from tktctl.services.maint import Maintenance

        return Maintenance(self)

    @cached_property
    def jobs(self) -> Jobs:
        from tktctl.services.jobs import Jobs

        return Jobs(self)

    @cached_property
    def config(self) -> DeskConfig:
        """The whole configuration as one document (``desk dump`` / ``desk apply``)."""
        from tktctl.services.deskconfig import DeskConfig

        return DeskConfig(self)

    def close(self) -> None:
        """Release pooled connections (the engine is made again on next use)."""
        if "engine" in self.__dict__:
            self.engine.dispose()
            del self.__dict__["engine"]

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
        bind = self.engine.execution_options(**{db_engine.WRITE: True, db_engine.BULK: bulk}) if write else self.engine
        try:
            with Session(bind=bind, expire_on_commit=False, autoflush=False) as session:
                transaction = session.begin()
                if not self._schema_checked:
                    migrate.check(session.connection())
                    self._schema_checked = True
                unit = Unit(self, session, self.clock(), self._actor(session, actor or self.actor_login))
                try:
                    yield unit
                except BaseException:
                    transaction.rollback()
                    raise
                if dry_run:
                    transaction.rollback()
                else:
                    transaction.commit()
        except TktctlError:
            raise
        except IntegrityError as exc:
            raise ConflictError(f"the change conflicts with existing data: {_reason(exc)}") from exc
        except DBAPIError as exc:
            raise translate(exc, self.display_url) from exc

    def _actor(self, session: Session, login: str) -> Agent:
        agent = session.scalar(select(Agent).where(Agent.login == login))
        if agent is None:
            raise NotFoundError(
                f"acting agent {login!r} not found (set --as, TKTCTL_AGENT or the profile's agent)", ref=login
            )
        if not agent.valid:
            raise PermissionDeniedError(f"acting agent {login!r} is disabled", ref=login)
        return agent

    # Administration of the database itself --------------------------------------------

    def checkpoint(self) -> None:
        """End a bulk load: SQLite's write-ahead log goes into the database file in one pass."""
        try:
            db_engine.checkpoint(self.engine)
        except DBAPIError as exc:
            raise translate(exc, self.display_url) from exc

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
        then, if a desk with tickets was migrated, recompute the escalation deadlines (tickets
        older than 0003 have none).

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
            from tktctl.services.maint import rebuild_escalations

            rebuild_escalations(self)
        return self.status()

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
