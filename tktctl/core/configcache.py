"""The desk's configuration kept by a process between its transactions, never stale.

Each transaction reads the configuration generation (:mod:`tktctl.db.generation`, moved by
database triggers on every configuration change, whoever makes it) and starts from what the
process read before only if the generation is the same: the acting agent, its grants, queues,
states, SLAs and calendars, notification rules, ticket types, field definitions. Each is read by a
function made its reader with :func:`configuration`, into ``unit.config``: the readers are the list
of what may be kept (``LOADERS``), none is kept beside them; ``unit.cache`` is for one transaction.

What a transaction reads afresh is kept for the next one, unless that transaction changed the
configuration. The watch (:func:`_written`) fails safe: every statement that is not a plain read
(SELECT or WITH ... SELECT without DML, SHOW, EXPLAIN, a PRAGMA read, transaction control) and
does not provably write data tables only (``generation.DATA_TABLES``) counts as a configuration
write; it drops what the transaction read of the configuration, so that it reads its own changes.
A write the watch cannot see (a trigger or function writing a configuration table) moves the
generation within the transaction: :meth:`ConfigCache.keep` reads it again and keeps nothing then.

On SQLite and MariaDB the triggers are per row: a statement writing N configuration rows moves the
one generation row N times (docs/benchmarks.md, "Configuration generation": ~0.01-0.1 s per 1,000
rows, lost in `desk apply`'s own work; nothing on ticket work); PostgreSQL's once per statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, Protocol, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.sql.selectable import CompoundSelect, Select

from tktctl.db import generation
from tktctl.db.models import Agent

_UNIT = "tktctl_unit"
_AGENTS = manager_of_class(Agent)

# What a statement's text is, read fail-safe: literals and comments out, then the words that only
# look like writes (a row lock, an upsert's own UPDATE, the REPLACE() function).
_NOISE = re.compile(r"'(?:[^']|'')*'|/\*.*?\*/|--[^\n]*", re.DOTALL)
_NOT_WRITES = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bON\s+DUPLICATE\s+KEY\s+UPDATE\b|\bDO\s+UPDATE\b|\bREPLACE\s*\(|\bOR\s+REPLACE\b",
    re.IGNORECASE,
)
_READS = re.compile(r"(?:SELECT|WITH|SHOW|EXPLAIN|DESCRIBE|SAVEPOINT|RELEASE|ROLLBACK|COMMIT|BEGIN)\b", re.IGNORECASE)
_PRAGMA_READ = re.compile(r"PRAGMA\s+[\w.]+\s*(?:\(\s*\w*\s*\))?\s*;?\s*$", re.IGNORECASE)
_ROLLBACK = re.compile(r"\s*ROLLBACK\b", re.IGNORECASE)
_MORE = re.compile(r";\s*\S")
_WRITE_WORDS = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE|UPSERT)\b", re.IGNORECASE)
_NAME = r"(?:[`\"]?\w+[`\"]?\.)?[`\"]?(\w+)[`\"]?"
# The write forms whose target is known: anything else with a write word is a configuration write.
_TARGETS = re.compile(
    rf"\b(?:INSERT(?:\s+OR\s+\w+)?(?:\s+IGNORE)?\s+INTO|REPLACE\s+INTO)\s+{_NAME}"
    rf"|\bUPDATE\s+(?:ONLY\s+)?{_NAME}(?:\s+(?:AS\s+)?\w+)?\s+SET\b"
    rf"|\bDELETE\s+FROM\s+(?:ONLY\s+)?{_NAME}(?:\s+(?:AS\s+)?(?!WHERE\b|RETURNING\b)\w+)?\s*(?:WHERE\b|RETURNING\b|;|$)",
    re.IGNORECASE,
)


class Unit(Protocol):
    """What of a unit of work (:class:`tktctl.core.unit.Unit`) the cache reads and marks."""

    session: Session
    connection: Connection
    config: dict[str, Any]
    configured: bool
    orm: Session | None


T = TypeVar("T")
# Every reader of configuration, by key: what ``unit.config`` may hold (a key with arguments is
# ``key:arg``, as "grants:<agent id>").
LOADERS: dict[str, Callable[..., Any]] = {}


def configuration(key: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Make ``load(unit, *args)``, which reads configuration tables only, the reader of ``key``:
    the reader answers from ``unit.config`` (kept from an earlier transaction of the same
    generation), else loads and puts it there, to be kept for the next transactions."""

    def register(load: Callable[..., T]) -> Callable[..., T]:
        known = LOADERS.setdefault(key, load)
        if (known.__module__, known.__qualname__) != (load.__module__, load.__qualname__):  # a reload is the same
            raise ValueError(f"configuration key {key!r} has a reader already: {known.__qualname__}")

        @wraps(load)
        def read(unit: Unit, *args: Any) -> T:
            name = f"{key}:{':'.join(map(str, args))}" if args else key
            config = unit.config
            if name not in config:
                config[name] = load(unit, *args)
            return config[name]

        return read

    return register


class ConfigCache:
    """One process's copy of one desk's configuration, labelled with the generation it was read at."""

    def __init__(self) -> None:
        self.generation: int | None = None
        self.entries: dict[str, Any] = {}
        self.actors: dict[str, dict[str, Any]] = {}

    def begin(self, conn: Connection) -> int:
        """The generation now (read before anything else, so a label is never newer than its data);
        everything kept is forgotten if it moved."""
        current = generation.read(conn)
        if current != self.generation:
            self.generation, self.entries, self.actors = current, {}, {}
        return current

    def actor(self, unit: Unit, login: str, load: Callable[[Session, str], Agent]) -> Agent:
        """The acting agent of ``unit``: loaded once per generation, then copied without a query (a copy
        per transaction: a change to it in one never reaches the kept values), into the unit's session if
        it has one (a read without a session gets the copy detached: every column is loaded in it). So a
        read's actor may or may not be in its session (the first read of a generation loads it there):
        compare agents by id, never by identity or session membership."""
        kept = self.actors.get(login)
        if kept is None:
            agent = load(unit.session, login)
            self.actors[login] = {a.key: getattr(agent, a.key) for a in inspect(Agent).column_attrs}
            return agent
        copy = _AGENTS.new_instance()  # loaded as from a row: the columns set without the constructor's events
        copy.__dict__.update(kept)
        make_transient_to_detached(copy)
        return copy if unit.orm is None else unit.orm.merge(copy, load=False)

    def keep(self, unit: Unit, started: int) -> None:
        """Keep what ``unit`` read afresh, if its transaction did not change the configuration."""
        fresh = {k: v for k, v in unit.config.items() if self.entries.get(k) is not v}
        if not fresh or unit.configured or self.generation != started:
            return
        if generation.read(unit.connection) == started:  # a write through a door the watch does not see
            self.entries.update(fresh)


def watch(engine: Engine) -> None:
    """Mark the unit on a connection that writes a configuration table, dropping what it read of it."""
    if not event.contains(engine, "after_cursor_execute", _written):  # an engine kept for reuse has it
        event.listen(engine, "after_cursor_execute", _written)


def attach(conn: Connection, unit: Unit) -> Callable[[], None]:
    """Watch ``unit``'s writes on ``conn``; returns the function that stops it (also once the
    connection is closed: its ``info`` stays reachable)."""
    info = conn.info
    info[_UNIT] = unit
    return lambda: info.pop(_UNIT, None)


def _written(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    unit = conn.info.get(_UNIT)
    if unit is None or _harmless(context):
        return
    if unit.configured and _ROLLBACK.match(statement):  # a savepoint's configuration write undone
        unit.config.clear()
        return
    if not writes_configuration(statement):
        return
    unit.configured = True
    unit.config.clear()  # at every such write: what was read since the last one may be stale again


def _harmless(context: Any) -> bool:
    """A compiled statement without CTEs that is a SELECT, or an INSERT, UPDATE or DELETE of a data
    table: the ticket work, told without reading its text."""
    compiled = getattr(context, "compiled", None)
    if compiled is None or getattr(compiled, "ctes", True):
        return False
    if context.isinsert or context.isupdate or context.isdelete:
        return getattr(getattr(compiled.statement, "table", None), "name", None) in generation.DATA_TABLES
    return isinstance(compiled.statement, (Select, CompoundSelect))


@lru_cache(maxsize=256)
def writes_configuration(statement: str) -> bool:
    """Whether the SQL ``statement`` may write a configuration table: anything but a plain read or
    writes of data tables only (in the forms whose target is certain)."""
    sql = _NOT_WRITES.sub(" ", _NOISE.sub(" ", statement)).lstrip(" \t\r\n(")
    if _MORE.search(sql):  # several statements in one text: only the first would be read
        return True
    if _PRAGMA_READ.match(sql):
        return False
    words = len(_WRITE_WORDS.findall(sql))
    if not words:
        return _READS.match(sql) is None
    targets = [next(name for name in found.groups() if name) for found in _TARGETS.finditer(sql)]
    return len(targets) != words or any(name.lower() not in generation.DATA_TABLES for name in targets)
