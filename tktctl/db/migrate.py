"""Schema versions: upgrade with the shipped Alembic migrations, and check before use.

The check on every command is one cheap query against ``alembic_version`` and does not
import Alembic; only ``init`` and ``db upgrade`` do.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from tktctl.db import MIGRATIONS, SCHEMA_HEAD, revisions
from tktctl.errors import DatabaseError


def current_revision(conn: Connection) -> str | None:
    """The database's revision, or None when it has no tktctl schema at all."""
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def check(conn: Connection) -> None:
    """Raise DatabaseError (exit 6) unless the schema is exactly the one this program needs."""
    try:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        conn.rollback()
        if current_revision(conn) is None:
            raise DatabaseError("database is not initialised: run `tktctl init`") from exc
        raise
    if revision == SCHEMA_HEAD:
        return
    if revision in revisions():
        raise DatabaseError(
            f"database schema {revision} is older than this tktctl ({SCHEMA_HEAD}): run `tktctl db upgrade`"
        )
    raise DatabaseError(f"database schema {revision} is newer than this tktctl knows ({SCHEMA_HEAD}): upgrade tktctl")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the shipped migrations up to ``revision`` in one transaction where the database allows."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
