"""Ticket types as managed objects (OTRS Admin::TicketType): ``ticket_type``, and ``ticket.type`` its key.

``ticket.type`` keeps holding the type's name (every reader and writer of tickets keeps working)
and becomes a foreign key to ``ticket_type.name`` (a rename moves the tickets in its transaction:
setup/types.py). The default type "Unclassified" (OTRS's
default) is created, and so is every type that tickets already carry, so no ticket loses its type.
Indexes for the `--type` and `--responsible` filters.

SQLite cannot add a constraint to an existing column, and copying the ticket table (the batch
way) trips the foreign keys that point at it; so on SQLite the column is renamed away, added
again with its constraint (ALTER TABLE ADD COLUMN takes a REFERENCES clause), filled and the old
one dropped (SQLite 3.35 or later); the downgrade removes the constraint from the table's SQL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
FK = "fk_ticket_type_ticket_type"
TICKET = sa.table("ticket", sa.column("type", sa.String(100)))
TYPES = sa.table(
    "ticket_type",
    sa.column("name", sa.String(100)),
    sa.column("comment", sa.String(250)),
    sa.column("valid", sa.Boolean()),
    sa.column("created", TS),
    sa.column("changed", TS),
)
DEFAULT = ("Unclassified", "Default ticket type.")


def upgrade() -> None:
    op.create_table(
        "ticket_type",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("comment", sa.String(250)),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_ticket_type_name"),
        **MYSQL,
    )
    bind = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    carried = set(bind.scalars(sa.select(TICKET.c.type).where(TICKET.c.type.is_not(None)).distinct()))
    # The default type only on a desk that has its default data: an empty schema (the target of
    # `db copy`, or before `init`) stays empty, and `init` creates it (db/defaults.py).
    initialised = bind.execute(sa.text("SELECT 1 FROM ticket_state")).first() is not None
    rows = [{"name": DEFAULT[0], "comment": DEFAULT[1]}] if initialised else []
    rows += [{"name": name, "comment": None} for name in sorted(carried - {DEFAULT[0]})]
    if rows:
        op.bulk_insert(TYPES, [{**row, "valid": True, "created": now, "changed": now} for row in rows])
    if bind.dialect.name == "sqlite":
        op.execute("ALTER TABLE ticket RENAME COLUMN type TO type_0006")
        op.execute(f"ALTER TABLE ticket ADD COLUMN type VARCHAR(100) CONSTRAINT {FK} REFERENCES ticket_type (name)")
        op.execute("UPDATE ticket SET type = type_0006 WHERE type_0006 IS NOT NULL")
        op.execute("ALTER TABLE ticket DROP COLUMN type_0006")
        op.create_index("ix_ticket_type", "ticket", ["type"])
    else:
        op.create_index("ix_ticket_type", "ticket", ["type"])
        op.create_foreign_key(FK, "ticket", "ticket_type", ["type"], ["name"])
    # A downgrade on MySQL leaves it (InnoDB needs it for the foreign key): made once.
    if "ix_ticket_responsible_id" not in {i["name"] for i in sa.inspect(bind).get_indexes("ticket")}:
        op.create_index("ix_ticket_responsible_id", "ticket", ["responsible_id"])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "mysql":  # InnoDB dropped its own index of the foreign key for this one
        op.drop_index("ix_ticket_responsible_id", "ticket")
    if bind.dialect.name == "sqlite":
        # Dropping a foreign key: SQLite's own procedure for it (ALTER TABLE, "making other kinds
        # of table schema changes"): the table's SQL rewritten in place. A copy of the ticket
        # table (the batch way) cannot be dropped while articles and history refer to it.
        op.drop_index("ix_ticket_type", "ticket")
        version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
        bind.exec_driver_sql("PRAGMA writable_schema = ON")
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ' CONSTRAINT "
            f"{FK} REFERENCES ticket_type (name)', '') WHERE type = 'table' AND name = 'ticket'"
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    else:
        op.drop_constraint(FK, "ticket", type_="foreignkey")
        op.drop_index("ix_ticket_type", "ticket")
    op.drop_table("ticket_type")
