"""Languages: a customer's, an agent's and a queue's language, the Content-Language of a message,
the desk's settings (its default language), and auto-response texts per language.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
# A normalised language tag (core/language.py): "es", "pt-BR", "es-419".
TAG = sa.String(16)
LANGUAGE_COLUMNS = (("customer_user", "language"), ("agent", "language"), ("queue", "language"))


def upgrade() -> None:
    for table, column in LANGUAGE_COLUMNS:
        op.add_column(table, sa.Column(column, TAG))
    op.add_column("article", sa.Column("content_language", TAG))
    op.create_table(
        "desk_setting",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(250), nullable=False),
        **MYSQL,
    )
    op.create_table(
        "auto_response_text",
        sa.Column(
            "auto_response_id",
            sa.Integer(),
            sa.ForeignKey("auto_response.id", name="fk_auto_response_text_auto_response_id_auto_response"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("language", TAG, primary_key=True),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("auto_response_text")
    op.drop_table("desk_setting")
    # A plain DROP COLUMN (SQLite >= 3.35): batch mode would rebuild agent, queue and customer_user,
    # and dropping the old table fails on the rows that refer to it while foreign keys are on.
    op.drop_column("article", "content_language")
    for table, column in LANGUAGE_COLUMNS:
        op.drop_column(table, column)
