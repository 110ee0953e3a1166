"""Migrations are the schema: they match the models, and a mismatched database exits 6."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import Cli
from tktctl.api import DatabaseError, Desk
from tktctl.db import SCHEMA_HEAD
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

    engine = create_engine(desk.engine.url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
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
