"""The per-process configuration cache: every table is classified, the triggers move the
generation through every door, and a process that keeps the configuration never acts on a stale one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from tktctl.api import Desk
from tktctl.core import lookup
from tktctl.db import generation
from tktctl.db.models import Base

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
