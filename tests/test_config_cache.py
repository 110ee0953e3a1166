"""The per-process configuration cache: every table is classified, the triggers move the
generation through every door, and a process that keeps the configuration never acts on a stale one."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from inspect import signature as inspect_signature
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, inspect, select, text, update

from tests.conftest import BACKENDS
from tktctl.api import Desk
from tktctl.core import configcache, lookup
from tktctl.db import generation
from tktctl.db.models import Base, Queue, Ticket
from tktctl.errors import NotFoundError

EXE = str(Path(sys.executable).with_name("tktctl"))


def _on(url: str, work: Any) -> Any:
    """``work(connection)`` in a transaction on an engine of its own (another door than the desk's)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return work(conn)
    finally:
        engine.dispose()


def test_every_table_is_configuration_or_data() -> None:
    # A new table must be classified: configuration (with the triggers, in a migration) or data.
    tables = set(Base.metadata.tables)
    assert not generation.CONFIG_TABLES & generation.DATA_TABLES
    assert tables - generation.CONFIG_TABLES - generation.DATA_TABLES == set(), "classify the new table"
    assert (generation.CONFIG_TABLES | generation.DATA_TABLES) - tables == set(), "a classified table is gone"


def test_every_configuration_table_moves_the_generation_and_no_data_table_does(desk: Desk, db_url: str) -> None:
    assert _on(db_url, generation.triggered_tables) == set(generation.CONFIG_TABLES)
    before = _on(db_url, generation.read)
    desk.tickets.create(title="data only", body="text")
    assert _on(db_url, generation.read) == before
    _on(db_url, lambda conn: conn.execute(text("UPDATE queue SET comment = 'by hand' WHERE name = 'Raw'")))
    assert _on(db_url, generation.read) > before


class Batch:
    """A `tktctl batch` acting as one agent, fed one line at a time through a pipe."""

    def __init__(self, url: str, agent: str) -> None:
        env = {**os.environ, "TKTCTL_DB": url}
        self.process = subprocess.Popen(
            [EXE, "--as", agent, "batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def __call__(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=60)


@pytest.fixture
def batch(desk: Desk, db_url: str) -> Iterator[Batch]:
    desk.agents.create("bob")
    desk.acl.grant("rw", group="users", agent="bob")
    desk.queues.create("Q")
    process = Batch(db_url, "bob")
    yield process
    process.close()


def test_a_batch_sees_every_change_another_process_makes_to_its_configuration(
    batch: Batch, desk: Desk, db_url: str
) -> None:
    first = batch("ticket create --title one --queue Q")
    assert first["exit"] == 0 and first["result"]["queue"] == "Q" and first["result"]["escalation"] is None
    assert batch("ticket create --title two --queue Q")["exit"] == 0  # from what the batch kept

    desk.queues.rename("Q", "Q2")  # another process, through the API
    renamed = batch("ticket create --title three --queue Q2")
    assert renamed["exit"] == 0 and renamed["result"]["queue"] == "Q2"
    assert batch("ticket create --title four --queue Q")["exit"] == 3  # the old name is gone

    desk.queues.update("Q2", solution_time=60)  # an SLA now applies
    timed = batch("ticket create --title five --queue Q2")
    assert timed["exit"] == 0 and timed["result"]["escalation"] is not None

    _on(db_url, lambda conn: conn.execute(text("UPDATE queue SET name = 'Q3' WHERE name = 'Q2'")))  # plain SQL
    assert batch("ticket create --title six --queue Q3")["result"]["queue"] == "Q3"

    desk.acl.revoke("rw", group="users", agent="bob")  # the grant the batch read is revoked
    denied = batch("ticket create --title seven --queue Q3")
    assert denied["exit"] == 4 and denied["error"]["code"] == "permission_denied"
    assert batch.close() == 7  # a line failed
    assert sorted(t["title"] for t in desk.tickets.list()) == ["five", "one", "six", "three", "two"]


def test_a_grant_removed_by_sql_is_refused_at_the_next_line(batch: Batch, desk: Desk, db_url: str) -> None:
    assert batch("ticket create --title one --queue Q")["exit"] == 0
    _on(db_url, lambda conn: conn.execute(text("DELETE FROM group_agent")))
    denied = batch("ticket create --title two --queue Q")
    assert denied["exit"] == 4 and denied["error"]["code"] == "permission_denied"


def test_a_desk_that_rolls_back_its_own_configuration_change_keeps_nothing_of_it(desk: Desk) -> None:
    # A dry run changes the configuration in its transaction and rolls back: what it read must not be kept.
    desk.tickets.create(title="warm")  # the process keeps the configuration
    with desk.write(dry_run=True) as unit:
        unit.session.execute(text("UPDATE queue SET name = 'Gone' WHERE name = 'Raw'"))
        assert "Gone" in {q.name for q in lookup.queues(unit).values()}  # its own change, read afresh
    assert desk.tickets.create(title="after", queue="Raw")["queue"] == "Raw"


def test_db_copy_and_migrations_keep_the_triggers(desk: Desk, db_url: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from tktctl.db.migrate import MIGRATIONS
    from tktctl.setup.dbcopy import copy_desk

    target = f"sqlite:///{tmp_path / 'copy.db'}"
    copy_desk(desk, target)  # builds the target with the migrations, then copies the rows
    assert _on(target, generation.triggered_tables) == set(generation.CONFIG_TABLES)
    before = _on(target, generation.read)
    copied = Desk(target)
    copied.queues.create("Copied")
    copied.close()
    assert _on(target, generation.read) > before

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    desk.close()

    def downgrade(conn: Any) -> None:
        config.attributes["connection"] = conn
        command.downgrade(config, "0015")

    _on(db_url, downgrade)
    assert generation.TABLE not in _on(db_url, lambda conn: inspect(conn).get_table_names())
    assert _on(db_url, generation.triggered_tables) == set()
    desk.upgrade()  # `db upgrade`
    assert _on(db_url, generation.triggered_tables) == set(generation.CONFIG_TABLES)
    assert desk.tickets.create(title="after the round trip")["queue"] == "Raw"


# The watch: a unit that writes the configuration, through any door, reads its own change ---------------------

WATCHED = {
    "SELECT value FROM desk_generation WHERE id = 1": False,
    "SELECT ticket.id FROM ticket WHERE ticket.id = %s FOR UPDATE": False,
    "(SELECT 1) UNION (SELECT 2)": False,
    "PRAGMA table_info(queue)": False,
    "SAVEPOINT sa_savepoint_1": False,
    "INSERT INTO ticket_history (name) VALUES (?)": False,
    'INSERT INTO "ticket_history" (a) SELECT q.id FROM queue q': False,
    "INSERT INTO ticket_history (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2": False,
    "UPDATE ticket_number_counter SET counter = counter + 1 WHERE id = 1": False,
    "DELETE FROM ticket_watcher WHERE ticket_id = 3": False,
    "SELECT REPLACE(title, 'update queue set', '') FROM ticket": False,
    "PRAGMA foreign_keys = OFF": True,
    "update `queue` set name = 1": True,
    "/* a comment */ UPDATE public.queue SET name = 1": True,
    "REPLACE INTO queue (id) VALUES (1)": True,
    "INSERT OR REPLACE INTO queue (id) VALUES (1)": True,
    "INSERT INTO queue SELECT * FROM ticket": True,
    "WITH x AS (SELECT 1) UPDATE queue SET name = 2": True,
    "WITH u AS (UPDATE ticket SET title = 2 RETURNING id) SELECT * FROM u": False,
    "WITH u AS (UPDATE queue SET name = 2 RETURNING id) SELECT * FROM u": True,
    "UPDATE ticket, queue SET queue.name = 1": True,  # MariaDB's multi-table forms
    "DELETE t FROM ticket t JOIN queue q ON q.id = t.queue_id": True,
    "TRUNCATE ticket": True,  # a form without a certain target: fail safe
    "CREATE TABLE x (a int)": True,
    "CALL anything()": True,
    "SELECT 1; DROP TABLE queue": True,  # several statements: the first alone was read
    "BEGIN; DROP TABLE queue": True,
    "SELECT 1; COPY queue FROM STDIN": True,
    "SELECT 'a;b' FROM ticket;": False,
}


@pytest.mark.parametrize("statement", WATCHED)
def test_the_watch_counts_all_but_reads_and_data_writes_as_configuration(statement: str) -> None:
    assert configcache.writes_configuration(statement) is WATCHED[statement]


def _queue_row_as(conn: Any, verb: str) -> None:
    """``verb`` (REPLACE INTO, ...) the queue Raw again, named Gone."""
    columns = [c.name for c in Queue.__table__.columns]
    values = ", ".join("'Gone'" if c == "name" else c for c in columns)
    conn.exec_driver_sql(f"{verb} queue ({', '.join(columns)}) SELECT {values} FROM queue WHERE name = 'Raw'")


DOORS: dict[str, tuple[tuple[str, ...], Any]] = {
    "exec_driver_sql": (BACKENDS, lambda c: c.exec_driver_sql("UPDATE queue SET name = 'Gone' WHERE name = 'Raw'")),
    "text": (BACKENDS, lambda c: c.execute(text("UPDATE queue SET name = 'Gone' WHERE name = 'Raw'"))),
    "replace": (("sqlite", "mysql"), lambda c: _queue_row_as(c, "REPLACE INTO")),
    "insert or replace": (("sqlite",), lambda c: _queue_row_as(c, "INSERT OR REPLACE INTO")),
    "cte update": (
        ("sqlite", "postgresql"),
        lambda c: c.exec_driver_sql(
            "WITH raw AS (SELECT id FROM queue WHERE name = 'Raw') UPDATE queue SET name = 'Gone'"
            " WHERE id IN (SELECT id FROM raw)"
        ),
    ),
    "select of a dml cte": (
        ("postgresql",),
        lambda c: c.execute(
            select(update(Queue).where(Queue.name == "Raw").values(name="Gone").returning(Queue.id).cte())
        ),
    ),
}


@pytest.mark.parametrize("door", DOORS)
def test_a_unit_reads_its_own_configuration_write_through_any_door(desk: Desk, backend: str, door: str) -> None:
    backends, write = DOORS[door]
    if backend not in backends:
        pytest.skip(f"{door} is not SQL on {backend}")
    with desk.read() as unit:
        lookup.queues(unit)  # kept for the next transactions
    with desk.write() as unit:
        kept = lookup.queues(unit)
        assert kept is desk.config_cache.entries["queues"]  # from the process, no query
        write(unit.session.connection())
        assert unit.configured
        names = {q.name for q in lookup.queues(unit).values()}
        assert "Gone" in names and "Raw" not in names  # its own change, read afresh
    assert "Gone" in {q["name"] for q in desk.queues.list()}


def test_a_configuration_write_undone_by_a_savepoint_rollback_is_not_served_after_it(desk: Desk) -> None:
    """Regression: ROLLBACK TO SAVEPOINT passed for a read, so what was read between a configuration
    write and its rollback stayed in the unit's configuration for the rest of the transaction."""
    with desk.write() as unit:
        savepoint = unit.session.begin_nested()
        unit.session.connection().execute(text("UPDATE queue SET name = 'Gone' WHERE name = 'Raw'"))
        assert "Gone" in {q.name for q in lookup.queues(unit).values()}
        savepoint.rollback()
        names = {q.name for q in lookup.queues(unit).values()}
        assert "Raw" in names and "Gone" not in names


# The generation read again at the end: nothing read against a configuration that moved is kept --------------


def test_a_configuration_committed_by_another_process_during_a_unit_is_not_served_after_it(
    desk: Desk, db_url: str, backend: str
) -> None:
    with desk.read() as unit:  # a read unit: on SQLite a writer would hold the lock the other needs
        before = {q.name for q in lookup.queues(unit).values()}
        _on(db_url, lambda conn: conn.execute(text("UPDATE queue SET name = 'Moved' WHERE name = 'Raw'")))
    assert "Raw" in before
    if backend == "postgresql":  # read committed: the generation read again at the end sees the commit
        assert "queues" not in desk.config_cache.entries
    # (SQLite and MariaDB read one snapshot: what was read is kept, labelled with the generation it
    # was read at, which the next transaction finds moved.)
    with desk.read() as unit:
        names = {q.name for q in lookup.queues(unit).values()}
    assert "Moved" in names and "Raw" not in names
    assert desk.tickets.create(title="after", queue="Moved")["queue"] == "Moved"


SNEAK = {  # a trigger on a data table that renames a queue: a write the watch cannot see
    "sqlite": [
        "CREATE TRIGGER sneak AFTER UPDATE ON ticket BEGIN UPDATE queue SET name = 'Gone' WHERE name = 'Raw'; END"
    ],
    "mysql": [
        "CREATE TRIGGER sneak AFTER UPDATE ON ticket FOR EACH ROW UPDATE queue SET name = 'Gone' WHERE name = 'Raw'"
    ],
    "postgresql": [
        "CREATE FUNCTION sneak() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN UPDATE queue SET name = 'Gone' WHERE name = 'Raw'; RETURN NULL; END $$",
        "CREATE TRIGGER sneak AFTER UPDATE ON ticket FOR EACH STATEMENT EXECUTE PROCEDURE sneak()",
    ],
}


def test_a_rolled_back_configuration_change_the_watch_cannot_see_is_not_kept(
    desk: Desk, db_url: str, backend: str
) -> None:
    desk.tickets.create(title="one", queue="Raw")
    _on(db_url, lambda conn: [conn.exec_driver_sql(sql) for sql in SNEAK[backend]])
    process = Desk(db_url)  # nothing kept yet: its dry run reads the queues afresh
    with process.write(dry_run=True) as unit:
        unit.session.execute(update(Ticket).values(title="two"))  # a data write; the trigger renames Raw
        assert not unit.configured
        assert "Gone" in {q.name for q in lookup.queues(unit).values()}
    assert "queues" not in process.config_cache.entries
    assert process.tickets.create(title="three", queue="Raw")["queue"] == "Raw"  # rolled back: Raw is there


# The readers of configuration: one decorator, and each reads configuration tables only --------------------------


def test_every_reader_of_configuration_reads_configuration_tables_only(desk: Desk) -> None:
    for package in ("core", "access", "tickets", "sla", "mail", "setup", "automation"):
        for module in pkgutil.iter_modules(importlib.import_module(f"tktctl.{package}").__path__):
            importlib.import_module(f"tktctl.{package}.{module.name}")
    assert {"states", "queues", "grants", "slas", "calendars", "default_language"} <= set(configcache.LOADERS)
    statements: list[str] = []
    event.listen(desk.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for key, load in configcache.LOADERS.items():
        with desk.read() as unit:
            statements.clear()
            load(unit, *[unit.actor.id] * (len(inspect_signature(load).parameters) - 1))
        read = {name.lower() for sql in statements for name in re.findall(r"\b(?:FROM|JOIN)\s+[`\"]?(\w+)", sql, re.I)}
        assert read and read <= generation.CONFIG_TABLES, f"{key} reads {sorted(read - generation.CONFIG_TABLES)}"


def test_a_read_takes_its_acting_agent_as_a_write_does(desk: Desk) -> None:
    """A read (no ORM session unless it asks for one) finds its acting agent as a write does: unknown
    is not found; its copy of the kept agent is its own (a change to it never reaches the next read)
    and follows the agent's changes; a write's copy is in its session."""
    ghost = Desk(desk.url, actor="ghost")
    with pytest.raises(NotFoundError, match="acting agent 'ghost'"):
        ghost.tickets.count()
    ghost.close()
    desk.tickets.count()  # the agent kept
    with desk.read() as unit:
        assert unit.orm is None
        unit.actor.name = "changed in a read"
    with desk.read() as unit:
        assert (unit.actor.login, unit.actor.name) == ("root@localhost", "Admin OTRS")
    desk.agents.update("root@localhost", name="New Name")
    desk.tickets.count()
    with desk.read() as unit:
        assert unit.actor.name == "New Name"
        assert unit.session.get(Ticket, 1) is None and unit.orm is not None  # made on first use
    with desk.write(dry_run=True) as unit:
        assert unit.actor in unit.session and unit.actor.name == "New Name"
