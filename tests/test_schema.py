"""Migrations are the schema: they match the models, and a mismatched database exits 6."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import Cli
from tktctl.api import DatabaseError, Desk
from tktctl.db import SCHEMA_HEAD, generation, migrations
from tktctl.db.models import Base


def test_schema_head_is_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from tktctl.db.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [SCHEMA_HEAD]
    chain = [rev.revision for rev in script.walk_revisions()]
    assert len(chain) == len(set(chain))  # one linear history


def test_migrated_schema_matches_the_models(desk: Desk, db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tktctl.db.fulltext import is_fulltext_object

    def modelled(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        # The full-text indexes differ by database and are not modelled (tests/test_search.py checks them);
        # nor is the configuration generation (tests/test_config_cache.py checks it).
        return not is_fulltext_object(name, type_) and name != generation.TABLE

    engine = create_engine(desk.engine.url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_object": modelled}
            context = MigrationContext.configure(conn, opts=opts)
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_downgrade_to_base_and_up_again(empty_db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from tktctl.db.migrate import MIGRATIONS

    desk = Desk(empty_db_url)
    desk.init()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with desk.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert desk.status()["revision"] is None
    desk.init()
    assert desk.status()["up_to_date"] is True
    desk.close()


def _set_revision(desk: Desk, revision: str) -> None:
    with desk.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_newer_schema_exits_6_and_says_upgrade_tktctl(desk: Desk, cli: Cli) -> None:
    _set_revision(desk, "9999")
    desk.close()
    result = cli("ticket", "list", expect=6)
    assert "newer than this tktctl" in result.stderr and "upgrade tktctl" in result.stderr
    with pytest.raises(DatabaseError):
        Desk(desk.url).tickets.create(title="t")


def test_schema_behind_the_program_names_db_upgrade(desk: Desk, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import tktctl.db.migrate as migrate

    shipped = migrate.revisions()
    monkeypatch.setattr(migrate, "SCHEMA_HEAD", "9998")
    monkeypatch.setattr(migrate, "revisions", lambda: [*shipped, "9998"])
    result = cli("ticket", "list", expect=6)
    assert "older than this tktctl" in result.stderr and "tktctl db upgrade" in result.stderr


def test_db_status_reports_revision(cli: Cli) -> None:
    status = cli("db", "status", "-o", "json").json
    assert (status["revision"], status["head"], status["up_to_date"]) == (SCHEMA_HEAD, SCHEMA_HEAD, True)
    assert cli("db", "upgrade", "-o", "json").json["up_to_date"] is True


READ_AND_WRITE_COMMANDS = (
    ("ticket", "count"),
    ("ticket", "list"),
    ("ticket", "create", "--title", "x"),
    ("queue", "list"),
    ("db", "status"),
    ("history", "export"),
)


@pytest.mark.parametrize("args", READ_AND_WRITE_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("where", ["missing-dir", "existing-dir"])
def test_only_init_creates_an_sqlite_database(
    args: tuple[str, ...], where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any other command on a missing file exits 6 naming `tktctl init`, and creates nothing:
    no directory, no database, no -wal or -shm (contract, section 1)."""
    path = tmp_path / "no" / "dir" / "x.db" if where == "missing-dir" else tmp_path / "x.db"
    result = Cli(f"sqlite:///{path}", monkeypatch)(*args, expect=6)
    assert result.stderr == f"tktctl: error: database is not initialised: {path} does not exist; run `tktctl init`\n"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


PRIVATE_FILES = """
import os, stat, sys
from tktctl.api import Desk
desk = Desk(sys.argv[1])
desk.init()
with desk.engine.connect() as conn:  # -wal and -shm exist while a connection is open
    conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar()
    for name in sys.argv[2:]:
        print(name, oct(stat.S_IMODE(os.stat(name).st_mode)))
"""


def test_init_creates_the_database_private_to_its_owner_under_umask_022(tmp_path: Path) -> None:
    """Password hashes and every ticket: directories it creates 0700, the database, -wal and -shm
    0600; a directory the user chose already is left as it is."""
    tmp_path.chmod(0o755)
    path = tmp_path / "data" / "tktctl" / "desk.db"
    files = [str(p) for p in (tmp_path, tmp_path / "data", path.parent, path)] + [f"{path}-wal", f"{path}-shm"]
    done = subprocess.run(
        [sys.executable, "-c", PRIVATE_FILES, f"sqlite:///{path}", *files],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
        timeout=120,
        check=True,
    )
    modes = dict(line.split() for line in done.stdout.splitlines())
    assert modes == {
        str(tmp_path): "0o755",
        str(tmp_path / "data"): "0o700",
        str(path.parent): "0o700",
        str(path): "0o600",
        f"{path}-wal": "0o600",
        f"{path}-shm": "0o600",
    }


@pytest.mark.backends("mysql")
@pytest.mark.parametrize("session", ["OFF", "ON"])
def test_fulltext_migrations_give_the_session_its_stop_word_choice_back(db_url: str, session: str) -> None:
    """0009 (building the FULLTEXT indexes) and 0013 (rebuilding ``article``) turn MariaDB's stop words
    off around the index work; the session's own choice comes back after, also when the step fails
    (0009 used to set it ON, whatever it had been, and not at all on a failure)."""
    from tktctl.db.fulltext import mysql_stopwords_off

    for step in ("0009_fulltext", "0013_languages"):
        source = (Path(migrations.__file__).parent / "versions" / f"{step}.py").read_text()
        assert "mysql_stopwords_off(" in source and "innodb_ft_enable_stopword" not in source, step
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SET SESSION innodb_ft_enable_stopword = {session}")
            read = "SELECT @@SESSION.innodb_ft_enable_stopword"
            with mysql_stopwords_off(conn):
                assert conn.exec_driver_sql(read).scalar() == 0
            assert conn.exec_driver_sql(read).scalar() == (session == "ON")
            with pytest.raises(RuntimeError), mysql_stopwords_off(conn):
                raise RuntimeError("the rebuild failed")
            assert conn.exec_driver_sql(read).scalar() == (session == "ON")
    finally:
        engine.dispose()
