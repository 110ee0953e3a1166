"""Links between tickets (normal and parent-child), as OTRS's link_relation for tickets.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ticket_link",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column(
            "source_id", BIGID, sa.ForeignKey("ticket.id", name="fk_ticket_link_source_id_ticket"), nullable=False
        ),
        sa.Column(
            "target_id", BIGID, sa.ForeignKey("ticket.id", name="fk_ticket_link_target_id_ticket"), nullable=False
        ),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey("agent.id", name="fk_ticket_link_created_by_agent"),
            nullable=False,
        ),
        sa.UniqueConstraint("source_id", "target_id", name="uq_ticket_link_source_id_target_id"),
        **MYSQL,
    )
    # The unique key serves lookups by source; this one those by target (a link is seen from both ends).
    op.create_index("ix_ticket_link_target_id", "ticket_link", ["target_id"])


def downgrade() -> None:
    # The index goes with the table (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("ticket_link")
