"""The configuration generation: table ``desk_generation`` (one row) and triggers on every
configuration table moving it, so that a process may cache the desk's configuration and know,
with one SELECT, when it changed (see :mod:`tktctl.db.generation`).

MariaDB: CREATE TRIGGER needs the TRIGGER privilege, and with binary logging on, SUPER or
``log_bin_trust_function_creators=1``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

from tktctl.db import generation
from tktctl.errors import DatabaseError

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TABLES = generation.CONFIG_TABLES_0016  # frozen: a later configuration table is added by its own migration


def upgrade() -> None:
    table = op.create_table(
        generation.TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])
    bind = op.get_bind()
    try:
        generation.create_triggers(bind, TABLES)
    except DBAPIError as exc:
        if bind.dialect.name != "mysql":
            raise
        op.drop_table(generation.TABLE)  # MariaDB's DDL does not roll back: a rerun starts clean
        raise DatabaseError(
            "creating the configuration triggers failed: the database user needs the TRIGGER privilege"
            " (and, with binary logging on, SUPER or log_bin_trust_function_creators=1; see the README):"
            f" {str(exc.orig).strip()}"
        ) from exc


def downgrade() -> None:
    generation.drop_triggers(op.get_bind(), TABLES)
    op.drop_table(generation.TABLE)
