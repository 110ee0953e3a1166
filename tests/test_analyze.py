"""The planner's statistics: updated after a large `ticket import`, after `db copy` and by
`maint analyze`, seen in each database's own record of it; a failed update warns and leaves
the committed import alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import Cli
from tktctl.api import Desk
from tktctl.db import analyze
from tktctl.db.engine import WRITE
from tktctl.errors import DatabaseError
from tktctl.tickets import transfer


def analyzed(url: str) -> int:
    """A number that grows each time the ticket table's statistics are updated.

    SQLite: the row count sqlite_stat1 holds for the ticket table (0 with none); PostgreSQL: the
    table's manual analyze_count; MariaDB: the server's count of ANALYZE TABLE statements.
    """
    engine = create_engine(make_url(url))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
                    return 0
                stats = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'ticket'")).scalars().all()
                return max((int(s.split()[0]) for s in stats), default=0)
            if engine.dialect.name == "postgresql":
                sql = "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'ticket'"
                return int(conn.execute(text(sql)).scalar_one())
            return int(conn.execute(text("SHOW GLOBAL STATUS LIKE 'Com_analyze'")).one()[1])
    finally:
        engine.dispose()


def records(count: int) -> str:
    return "".join(json.dumps({"title": f"t{i}", "queue": "Raw"}) + "\n" for i in range(count))


def test_a_large_import_updates_the_statistics_a_small_one_does_not(
    cli: Cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyze, "LOAD_ROWS", 3)
    before = analyzed(db_url)
    cli("ticket", "import", "-", "-q", input=records(2))
    if not db_url.startswith("mysql"):  # (the server's counter is shared with whatever else runs there)
        assert analyzed(db_url) == before
    result = cli("ticket", "import", "-", "-q", input=records(3))
    assert result.stderr.count("warning") == 0
    after = analyzed(db_url)
    assert after > before
    if db_url.startswith("sqlite"):
        assert after == 5  # the ticket table's rows, as the statistics now say


def test_a_failed_statistics_update_warns_and_keeps_the_import(
    cli: Cli, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import has committed when the update runs: its failure (here a table the database does
    not have: an error on SQLite and PostgreSQL, an error row on MariaDB) is a warning, exit 0."""
    monkeypatch.setattr(analyze, "LOAD_ROWS", 1)
    monkeypatch.setattr(transfer, "IMPORTED_TABLES", (*transfer.IMPORTED_TABLES, "no_such_table"))
    result = cli("ticket", "import", "-", "-o", "json", input=records(2))
    assert [r["action"] for r in result.json] == ["created", "created"]
    assert "tktctl: warning: the database's statistics were not updated (" in result.stderr
    assert "no_such_table" in result.stderr
    assert sorted(t["title"] for t in desk.tickets.list()) == ["t0", "t1"]


def test_maint_analyze_updates_every_table_admin_only(cli: Cli, db_url: str) -> None:
    cli("ticket", "import", "-", "-q", input=records(4))
    before = analyzed(db_url)
    tables = cli("maint", "analyze", "-q").stdout.split()
    assert {"ticket", "article", "ticket_history", "queue"} <= set(tables)
    assert analyzed(db_url) > before
    cli("agent", "create", "bob", "-q")
    assert cli("--as", "bob", "maint", "analyze", expect=4).stdout == ""


@pytest.mark.backends("sqlite")
def test_db_copy_leaves_the_target_analyzed(cli: Cli, tmp_path: Path) -> None:
    cli("ticket", "import", "-", "-q", input=records(3))
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    cli("db", "copy", "--to", target, "-q")
    assert analyzed(target) == 3


def test_a_failed_statistics_update_is_a_python_warning_without_a_channel(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the Python API, with no ``warn`` given, the failure is not dropped: a warning."""
    monkeypatch.setattr(analyze, "LOAD_ROWS", 1)
    monkeypatch.setattr(transfer, "IMPORTED_TABLES", (*transfer.IMPORTED_TABLES, "no_such_table"))
    lines = [(n, {"title": f"t{n}", "queue": "Raw"}) for n in (1, 2)]
    with pytest.warns(UserWarning, match=r"^the database's statistics were not updated \(.*no_such_table"):
        result = desk.transfer.import_tickets(lines)
    assert result.totals["created"] == 2


def test_the_store_analyzes_on_its_write_engine_and_raises_a_database_error(desk: Desk) -> None:
    """A driver's error (SQLite, PostgreSQL) and MariaDB's error row are both the domain's DatabaseError."""
    from sqlalchemy import event

    begins: list[str] = []
    event.listen(desk.engine, "begin", lambda conn: begins.append(str(conn.get_execution_options().get(WRITE))))
    desk.analyze(["ticket"])
    assert begins == ["True"]
    with pytest.raises(DatabaseError, match="no_such_table"):
        desk.analyze(["ticket", "no_such_table"])
