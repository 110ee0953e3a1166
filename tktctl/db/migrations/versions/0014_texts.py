"""Outgoing texts: system addresses, salutations, signatures and standard templates (each per
language), the queue's sender address, salutation and signature, and the templates a queue offers.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
TEXTS = ("salutation", "signature", "standard_template")


def _common() -> list[sa.Column[object]]:
    return [
        sa.Column("comment", sa.String(250)),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "system_address",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(250), nullable=False),
        sa.Column("realname", sa.String(200)),
        *_common(),
        sa.UniqueConstraint("email", name="uq_system_address_email"),
        **MYSQL,
    )
    for table in TEXTS:
        extra = (
            [sa.Column("kind", sa.String(20), nullable=False), sa.Column("subject", sa.String(250))]
            if table == "standard_template"
            else []
        )
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("language", sa.String(16), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            *extra,
            *_common(),
            sa.UniqueConstraint("name", "language", name=f"uq_{table}_name_language"),
            **MYSQL,
        )
    op.create_table(
        "queue_template",
        sa.Column(
            "queue_id",
            sa.Integer(),
            sa.ForeignKey("queue.id", name="fk_queue_template_queue_id_queue"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("name", sa.String(200), primary_key=True),
        **MYSQL,
    )
    op.create_index("ix_queue_template_name", "queue_template", ["name"])
    if op.get_bind().dialect.name == "sqlite":
        # No rebuild of ``queue`` (batch mode's copy, DROP TABLE, rename): its tickets' references
        # would fail the DROP; SQLite adds a column with its own (column) foreign key in place.
        op.execute(
            "ALTER TABLE queue ADD COLUMN system_address_id INTEGER"
            " CONSTRAINT fk_queue_system_address_id_system_address REFERENCES system_address (id)"
        )
    else:
        op.add_column("queue", sa.Column("system_address_id", sa.Integer()))
        op.create_foreign_key(
            "fk_queue_system_address_id_system_address", "queue", "system_address", ["system_address_id"], ["id"]
        )
    op.add_column("queue", sa.Column("salutation", sa.String(200)))
    op.add_column("queue", sa.Column("signature", sa.String(200)))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":  # SQLite drops the column with its column constraint
        op.drop_constraint("fk_queue_system_address_id_system_address", "queue", type_="foreignkey")
    for column in ("signature", "salutation", "system_address_id"):
        op.drop_column("queue", column)
    op.drop_table("queue_template")
    for table in reversed(TEXTS):
        op.drop_table(table)
    op.drop_table("system_address")
