"""Notification rules (OTRS's ticket notifications), ticket watchers and agents' muted events;
the default rules reproduce what was mailed before: queue subscribers hear of new tickets,
follow-ups and escalations, and owners now get pending reminders and lock timeouts.

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The rules as this revision shipped them live with the other default data (db/defaults.py), which
# `init` also writes into a desk that has none.
from tktctl.db.defaults import NOTIFICATION_RULES  # noqa: E402


def upgrade() -> None:
    rules = op.create_table(
        "notification_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_notification_rule_name"),
        **MYSQL,
    )
    op.create_table(
        "ticket_watcher",
        sa.Column(
            "ticket_id",
            BIGID,
            sa.ForeignKey("ticket.id", name="fk_ticket_watcher_ticket_id_ticket"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agent.id", name="fk_ticket_watcher_agent_id_agent"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("created", TS, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_ticket_watcher_agent_id", "ticket_watcher", ["agent_id"])
    op.create_table(
        "agent_mute",
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agent.id", name="fk_agent_mute_agent_id_agent"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("event", sa.String(60), primary_key=True),
        **MYSQL,
    )
    # The default rules only on a desk that has its default data: an empty schema (the target of
    # `db copy`, or before `init`) stays empty, and `init` writes them (db/defaults.py).
    if op.get_bind().execute(sa.text("SELECT 1 FROM ticket_state")).first() is not None:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        rows = [{"name": r["name"], "definition": r, "created": now, "changed": now} for r in NOTIFICATION_RULES]
        op.bulk_insert(rules, rows)


def downgrade() -> None:
    op.drop_table("agent_mute")
    op.drop_table("ticket_watcher")
    op.drop_table("notification_rule")
