"""Custom (dynamic) fields on tickets, and time accounting on articles, as OTRS's tables.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dynamic_field",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("field_type", sa.String(20), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_dynamic_field_name"),
        **MYSQL,
    )
    op.create_table(
        "dynamic_field_value",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column(
            "ticket_id",
            BIGID,
            sa.ForeignKey("ticket.id", name="fk_dynamic_field_value_ticket_id_ticket"),
            nullable=False,
        ),
        sa.Column(
            "field_id",
            sa.Integer(),
            sa.ForeignKey("dynamic_field.id", name="fk_dynamic_field_value_field_id_dynamic_field"),
            nullable=False,
        ),
        sa.Column("value_text", sa.String(600), nullable=False),
        sa.Column("value_int", sa.BigInteger()),
        sa.Column("value_date", TS),
        **MYSQL,
    )
    for value in ("value_text", "value_int", "value_date"):  # covering: the ticket ids are read off the index
        op.create_index(
            f"ix_dynamic_field_value_field_id_{value}", "dynamic_field_value", ["field_id", value, "ticket_id"]
        )
    op.create_index("ix_dynamic_field_value_ticket_id_field_id", "dynamic_field_value", ["ticket_id", "field_id"])
    op.create_table(
        "time_accounting",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column(
            "ticket_id", BIGID, sa.ForeignKey("ticket.id", name="fk_time_accounting_ticket_id_ticket"), nullable=False
        ),
        sa.Column("article_id", BIGID, sa.ForeignKey("article.id", name="fk_time_accounting_article_id_article")),
        sa.Column("time_unit", sa.Numeric(10, 2), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey("agent.id", name="fk_time_accounting_created_by_agent"),
            nullable=False,
        ),
        **MYSQL,
    )
    op.create_index("ix_time_accounting_ticket_id", "time_accounting", ["ticket_id"])
    op.create_index("ix_time_accounting_article_id", "time_accounting", ["article_id"])


def downgrade() -> None:
    op.drop_table("time_accounting")
    op.drop_table("dynamic_field_value")
    op.drop_table("dynamic_field")
