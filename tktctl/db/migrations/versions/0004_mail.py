"""Mail interface: raw messages, dead letters, outbox, auto-responses, queue subscriptions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
LONGBLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "article_plain",
        sa.Column(
            "article_id",
            BIGID,
            sa.ForeignKey("article.id", name="fk_article_plain_article_id_article"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", LONGBLOB, nullable=False),
        sa.UniqueConstraint("sha256", name="uq_article_plain_sha256"),
        **MYSQL,
    )
    op.create_table(
        "mail_failed",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text()),
        sa.Column("subject", sa.Text()),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("content", LONGBLOB, nullable=False),
        sa.Column("received", TS, nullable=False),
        sa.Column("retried", TS),
        sa.Column("ticket_tn", sa.String(50)),
        **MYSQL,
    )
    op.create_index("ix_mail_failed_sha256", "mail_failed", ["sha256"])
    op.create_index("ix_mail_failed_status", "mail_failed", ["status"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("ticket_id", BIGID, sa.ForeignKey("ticket.id", name="fk_mail_outbox_ticket_id_ticket")),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("sender", sa.String(250), nullable=False),
        sa.Column("recipient", sa.String(250), nullable=False),
        sa.Column("subject", sa.Text()),
        sa.Column("message", LONGBLOB, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", TS, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created", TS, nullable=False),
        sa.Column("sent", TS),
        **MYSQL,
    )
    for column in ("ticket_id", "recipient", "status", "next_attempt", "created"):
        op.create_index(f"ix_mail_outbox_{column}", "mail_outbox", [column])
    op.create_table(
        "auto_response",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_auto_response_name"),
        **MYSQL,
    )
    op.create_table(
        "queue_auto_response",
        sa.Column(
            "queue_id",
            sa.Integer(),
            sa.ForeignKey("queue.id", name="fk_queue_auto_response_queue_id_queue"),
            primary_key=True,
        ),
        sa.Column("type", sa.String(40), primary_key=True),
        sa.Column(
            "auto_response_id",
            sa.Integer(),
            sa.ForeignKey("auto_response.id", name="fk_queue_auto_response_auto_response_id_auto_response"),
            nullable=False,
        ),
        **MYSQL,
    )
    op.create_index("ix_queue_auto_response_auto_response_id", "queue_auto_response", ["auto_response_id"])
    op.create_table(
        "queue_subscription",
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agent.id", name="fk_queue_subscription_agent_id_agent"),
            primary_key=True,
        ),
        sa.Column(
            "queue_id",
            sa.Integer(),
            sa.ForeignKey("queue.id", name="fk_queue_subscription_queue_id_queue"),
            primary_key=True,
        ),
        **MYSQL,
    )
    op.create_index("ix_queue_subscription_queue_id", "queue_subscription", ["queue_id"])


def downgrade() -> None:
    for table in (
        "queue_subscription",
        "queue_auto_response",
        "auto_response",
        "mail_outbox",
        "mail_failed",
        "article_plain",
    ):
        op.drop_table(table)
