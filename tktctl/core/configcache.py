"""The desk's configuration kept by a process between its transactions, never stale.

Each transaction reads the configuration generation (:mod:`tktctl.db.generation`, moved by
database triggers on every configuration change, whoever makes it) and starts from what the
process read before only if the generation is the same: the acting agent, its grants, queues,
states, SLAs and calendars, notification rules, ticket types, field definitions. What a transaction
reads afresh is kept for the next one, unless that transaction changed the configuration: a write
to a configuration table also drops what it started from, so it reads its own changes as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.elements import TextClause

from tktctl.db import generation
from tktctl.db.models import Agent

# unit.cache keys holding configuration only (besides "grants:<agent id>").
KEYS = frozenset(
    {
        "states",
        "queues",
        "slas",
        "calendars",
        "notification_rules",
        "ticket_types",
        "default_language",
        "any_fields",
        "priorities",
    }
)
_UNIT = "tktctl_unit"
_TEXT_WRITE = re.compile(r"\s*(?:insert\s+into|update|delete\s+from)\s+[`\"]?(\w+)", re.IGNORECASE)


class Unit(Protocol):
    """What of a unit of work (:class:`tktctl.core.unit.Unit`) the cache reads and marks."""

    session: Session
    cache: dict[str, Any]
    configured: bool


def is_configuration(key: str) -> bool:
    return key in KEYS or key.startswith("grants:")


class ConfigCache:
    """One process's copy of one desk's configuration, labelled with the generation it was read at."""

    def __init__(self) -> None:
        self.generation: int | None = None
        self.entries: dict[str, Any] = {}
        self.actors: dict[str, dict[str, Any]] = {}

    def begin(self, session: Session) -> int:
        """The generation now (read before anything else, so a label is never newer than its data);
        everything kept is forgotten if it moved."""
        current = generation.read(session.connection())  # Core: the ORM's execute costs twice as much
        if current != self.generation:
            self.generation, self.entries, self.actors = current, {}, {}
        return current

    def actor(self, session: Session, login: str, load: Callable[[Session, str], Agent]) -> Agent:
        """The acting agent in this session: loaded once per generation, then a copy without a query
        (a copy per session: a change to it in one transaction never reaches the kept values). The copy
        is detached, every column loaded: merging it into the session cost ~0.2M instructions a
        transaction, and the agent is only read (a change to an agent loads it by name)."""
        kept = self.actors.get(login)
        if kept is None:
            agent = load(session, login)
            self.actors[login] = {a.key: getattr(agent, a.key) for a in inspect(Agent).column_attrs}
            return agent
        copy = Agent(**kept)
        make_transient_to_detached(copy)
        return copy

    def keep(self, unit: Unit, started: int) -> None:
        """Keep what ``unit`` read afresh, if its transaction did not change the configuration."""
        fresh = {k: v for k, v in unit.cache.items() if is_configuration(k) and self.entries.get(k) is not v}
        if not fresh or unit.configured or self.generation != started:
            return
        if generation.read(unit.session) == started:  # a write through a door the watch does not see
            self.entries.update(fresh)


def watch(engine: Engine) -> None:
    """Mark the unit on a connection that writes a configuration table, dropping what it started from."""
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
    if unit is None or unit.configured or context is None or context.compiled is None:
        return
    if context.isinsert or context.isupdate or context.isdelete:
        table = getattr(getattr(context.compiled.statement, "table", None), "name", None)
    elif isinstance(context.compiled.statement, TextClause):
        found = _TEXT_WRITE.match(statement)
        table = found.group(1).lower() if found else None
    else:
        return
    if table in generation.CONFIG_TABLES:
        unit.configured = True
        for key in [k for k in unit.cache if is_configuration(k)]:
            del unit.cache[key]
