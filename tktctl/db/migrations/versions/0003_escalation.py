"""Escalation: calendars, queue escalation settings, ticket deadlines, notifications, saved jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

QUEUE_COLUMNS = (
    ("first_response_notify", sa.Integer()),
    ("update_notify", sa.Integer()),
    ("solution_notify", sa.Integer()),
    ("escalate_raise", sa.Integer()),
)
TICKET_TIMES = (
    "escalation_response_at",
    "escalation_update_at",
    "escalation_solution_at",
    "escalation_at",
    "escalation_response_warn_at",
    "escalation_update_warn_at",
    "escalation_solution_warn_at",
    "escalation_check_at",
    "escalation_fired_at",
    "first_closed_at",
)
TICKET_INDEXES = ("escalation_at", "escalation_check_at", "pending_until")


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table without rebuilding it.
    with op.batch_alter_table("queue") as batch:
        for name, type_ in QUEUE_COLUMNS:
            batch.add_column(sa.Column(name, type_))
        batch.add_column(sa.Column("escalate_to_id", sa.Integer()))
        batch.add_column(sa.Column("escalate_notify", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("escalation_decay", sa.Integer()))
        batch.create_foreign_key("fk_queue_escalate_to_id_queue", "queue", ["escalate_to_id"], ["id"])
    with op.batch_alter_table("queue") as batch:
        batch.alter_column("escalate_notify", server_default=None, existing_type=sa.Boolean(), existing_nullable=False)
    for name in TICKET_TIMES:
        op.add_column("ticket", sa.Column(name, TS))
    for name in TICKET_INDEXES:
        op.create_index(f"ix_ticket_{name}", "ticket", [name])

    op.create_table(
        "calendar",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(250)),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_calendar_name"),
        **MYSQL,
    )
    op.create_table(
        "notification",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column(
            "ticket_id", BIGID, sa.ForeignKey("ticket.id", name="fk_notification_ticket_id_ticket"), nullable=False
        ),
        sa.Column("event", sa.String(60), nullable=False),
        sa.Column(
            "queue_id", sa.Integer(), sa.ForeignKey("queue.id", name="fk_notification_queue_id_queue"), nullable=False
        ),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("sent_at", TS),
        **MYSQL,
    )
    op.create_index("ix_notification_ticket_id_event", "notification", ["ticket_id", "event"])
    op.create_index("ix_notification_sent_at", "notification", ["sent_at"])
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_job_name"),
        **MYSQL,
    )
    op.create_table(
        "job_lock",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_run", TS),
        **MYSQL,
    )


def downgrade() -> None:
    for table in ("job_lock", "job", "notification", "calendar"):
        op.drop_table(table)
    for name in TICKET_INDEXES:
        op.drop_index(f"ix_ticket_{name}", "ticket")
    with op.batch_alter_table("ticket") as batch:
        for name in TICKET_TIMES:
            batch.drop_column(name)
    with op.batch_alter_table("queue") as batch:
        batch.drop_constraint("fk_queue_escalate_to_id_queue", type_="foreignkey")
        for name in ("escalation_decay", "escalate_notify", "escalate_to_id", *(n for n, _ in QUEUE_COLUMNS)):
            batch.drop_column(name)
