"""Initial schema: states, priorities, groups, agents, queues, tickets, articles, history.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Case-sensitive, full Unicode names on MySQL/MariaDB, as on SQLite and PostgreSQL.
MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
LONGTEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")
LONGBLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column]:
    return [sa.Column("created", TS, nullable=False), sa.Column("changed", TS, nullable=False)]


def upgrade() -> None:
    op.create_table(
        "ticket_state_type",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.UniqueConstraint("name", name="uq_ticket_state_type_name"),
        **MYSQL,
    )
    op.create_table(
        "ticket_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column(
            "type_id",
            sa.Integer(),
            sa.ForeignKey("ticket_state_type.id", name="fk_ticket_state_type_id_ticket_state_type"),
            nullable=False,
        ),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("name", name="uq_ticket_state_name"),
        **MYSQL,
    )
    op.create_table(
        "ticket_priority",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.UniqueConstraint("name", name="uq_ticket_priority_name"),
        **MYSQL,
    )
    op.create_table(
        "permission_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("comment", sa.String(250)),
        sa.Column("valid", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.UniqueConstraint("name", name="uq_permission_groups_name"),
        **MYSQL,
    )
    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("login", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(250)),
        sa.Column("valid", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.UniqueConstraint("login", name="uq_agent_login"),
        **MYSQL,
    )
    op.create_table(
        "queue",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey("permission_groups.id", name="fk_queue_group_id_permission_groups"),
            nullable=False,
        ),
        sa.Column("unlock_timeout", sa.Integer()),
        sa.Column("first_response_time", sa.Integer()),
        sa.Column("update_time", sa.Integer()),
        sa.Column("solution_time", sa.Integer()),
        sa.Column("calendar", sa.String(100)),
        sa.Column("follow_up", sa.String(20), nullable=False),
        sa.Column("comment", sa.String(250)),
        sa.Column("valid", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.UniqueConstraint("name", name="uq_queue_name"),
        **MYSQL,
    )

    def agent_fk(column: str, table: str, nullable: bool = False) -> sa.Column:
        return sa.Column(
            column, sa.Integer(), sa.ForeignKey("agent.id", name=f"fk_{table}_{column}_agent"), nullable=nullable
        )

    op.create_table(
        "ticket",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("tn", sa.String(50), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("queue_id", sa.Integer(), sa.ForeignKey("queue.id", name="fk_ticket_queue_id_queue"), nullable=False),
        sa.Column(
            "state_id",
            sa.Integer(),
            sa.ForeignKey("ticket_state.id", name="fk_ticket_state_id_ticket_state"),
            nullable=False,
        ),
        sa.Column(
            "priority_id",
            sa.Integer(),
            sa.ForeignKey("ticket_priority.id", name="fk_ticket_priority_id_ticket_priority"),
            nullable=False,
        ),
        sa.Column("locked", sa.Boolean(), nullable=False),
        agent_fk("owner_id", "ticket"),
        agent_fk("responsible_id", "ticket", nullable=True),
        sa.Column("customer", sa.String(150)),
        sa.Column("type", sa.String(100)),
        *_stamps(),
        sa.Column("pending_until", TS),
        sa.Column("external_id", sa.String(200)),
        agent_fk("created_by", "ticket"),
        agent_fk("changed_by", "ticket"),
        sa.UniqueConstraint("tn", name="uq_ticket_tn"),
        sa.UniqueConstraint("external_id", name="uq_ticket_external_id"),
        **MYSQL,
    )
    for column in ("queue_id", "state_id", "priority_id", "owner_id", "customer", "created", "changed"):
        op.create_index(f"ix_ticket_{column}", "ticket", [column])

    op.create_table(
        "article",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("ticket_id", BIGID, sa.ForeignKey("ticket.id", name="fk_article_ticket_id_ticket"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("sender", sa.String(20), nullable=False),
        sa.Column("a_from", sa.Text()),
        sa.Column("a_to", sa.Text()),
        sa.Column("a_cc", sa.Text()),
        sa.Column("subject", sa.Text()),
        sa.Column("body", LONGTEXT),
        sa.Column("visible_to_customer", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.String(250)),
        sa.Column("in_reply_to", sa.Text()),
        sa.Column("a_references", sa.Text()),
        sa.Column("created", TS, nullable=False),
        agent_fk("created_by", "article"),
        **MYSQL,
    )
    op.create_index("ix_article_ticket_id", "article", ["ticket_id"])
    op.create_index("ix_article_message_id", "article", ["message_id"])

    op.create_table(
        "article_attachment",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column(
            "article_id",
            BIGID,
            sa.ForeignKey("article.id", name="fk_article_attachment_article_id_article"),
            nullable=False,
        ),
        sa.Column("filename", sa.String(250), nullable=False),
        sa.Column("content_type", sa.String(250), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", LONGBLOB, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_article_attachment_article_id", "article_attachment", ["article_id"])

    op.create_table(
        "ticket_history",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column(
            "ticket_id", BIGID, sa.ForeignKey("ticket.id", name="fk_ticket_history_ticket_id_ticket"), nullable=False
        ),
        sa.Column("type", sa.String(60), nullable=False),
        agent_fk("actor_id", "ticket_history"),
        sa.Column(
            "queue_id", sa.Integer(), sa.ForeignKey("queue.id", name="fk_ticket_history_queue_id_queue"), nullable=False
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        **MYSQL,
    )
    op.create_index("ix_ticket_history_ticket_id_id", "ticket_history", ["ticket_id", "id"])
    op.create_index("ix_ticket_history_type", "ticket_history", ["type"])
    op.create_index("ix_ticket_history_queue_id", "ticket_history", ["queue_id"])
    op.create_index("ix_ticket_history_at", "ticket_history", ["at"])

    op.create_table(
        "ticket_number_counter",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        **MYSQL,
    )


def downgrade() -> None:
    for table in (
        "ticket_number_counter",
        "ticket_history",
        "article_attachment",
        "article",
        "ticket",
        "queue",
        "agent",
        "permission_groups",
        "ticket_priority",
        "ticket_state",
        "ticket_state_type",
    ):
        op.drop_table(table)
