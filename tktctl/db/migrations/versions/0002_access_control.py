"""Access control: roles, grants, customers, agent passwords and the admin audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(column: str, table: str, target: str, *, primary_key: bool = False) -> sa.Column:
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(255)))
    op.create_table(
        "role",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("comment", sa.String(250)),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_role_name"),
        **MYSQL,
    )
    op.create_table(
        "role_agent",
        _fk("role_id", "role_agent", "role", primary_key=True),
        _fk("agent_id", "role_agent", "agent", primary_key=True),
        **MYSQL,
    )
    op.create_index("ix_role_agent_agent_id", "role_agent", ["agent_id"])
    for table, subject in (("group_agent", "agent"), ("group_role", "role")):
        op.create_table(
            table,
            _fk("group_id", table, "permission_groups", primary_key=True),
            _fk(f"{subject}_id", table, subject, primary_key=True),
            sa.Column("permission", sa.String(20), primary_key=True),
            **MYSQL,
        )
        op.create_index(f"ix_{table}_{subject}_id", table, [f"{subject}_id"])
    op.create_table(
        "customer_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("login", sa.String(200), nullable=False),
        sa.Column("email", sa.String(250)),
        sa.Column("company", sa.String(200)),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("changed", TS, nullable=False),
        sa.UniqueConstraint("login", name="uq_customer_user_login"),
        **MYSQL,
    )
    op.create_table(
        "admin_audit",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("at", TS, nullable=False),
        _fk("actor_id", "admin_audit", "agent"),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("object", sa.String(30), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        **MYSQL,
    )
    op.create_index("ix_admin_audit_at", "admin_audit", ["at"])
    op.create_index("ix_admin_audit_actor_id", "admin_audit", ["actor_id"])


def downgrade() -> None:
    for table in ("admin_audit", "customer_user", "group_role", "group_agent", "role_agent", "role"):
        op.drop_table(table)
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("password_hash")
