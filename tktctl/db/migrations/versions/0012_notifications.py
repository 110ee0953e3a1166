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
down_revision = "0006"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SHOW = "\n\nTicket: $tn\nTitle: $title\nCustomer: $customer\n\nShow it with: tktctl ticket show $tn\n"
# Frozen here as this revision shipped them (later edits are the admin's, by `notification apply`).
DEFAULT_RULES = [
    {
        "name": "new-ticket",
        "events": ["TicketCreate"],
        "recipients": ["queue_subscribers"],
        "subject": "NewTicket: $title",
        "body": "NewTicket in queue $queue" + _SHOW,
    },
    {
        "name": "follow-up",
        "events": ["ArticleCreate"],
        "article_sender": ["customer"],
        "recipients": ["queue_subscribers"],
        "subject": "FollowUp: $title",
        "body": "FollowUp in queue $queue" + _SHOW,
    },
    {
        "name": "escalation",
        "events": ["EscalationWarning", "EscalationBreach"],
        "recipients": ["queue_subscribers"],
        "subject": "$event: $title",
        "body": "$event in queue $queue" + _SHOW,
    },
    {
        "name": "pending-reminder",
        "events": ["PendingReminder"],
        "recipients": ["owner"],
        "subject": "PendingReminder: $title",
        "body": "The pending time of ticket $tn has been reached ($pending_until)." + _SHOW,
    },
    {
        "name": "lock-timeout",
        "events": ["LockTimeout"],
        "recipients": ["owner"],
        "subject": "LockTimeout: $title",
        "body": "Ticket $tn was unlocked: its unlock timeout in queue $queue passed." + _SHOW,
    },
]


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
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(
        rules,
        [{"name": r["name"], "definition": r, "created": now, "changed": now} for r in DEFAULT_RULES],
    )


def downgrade() -> None:
    op.drop_table("agent_mute")
    op.drop_table("ticket_watcher")
    op.drop_table("notification_rule")
